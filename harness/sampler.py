"""Samples what Kafka says about the test topic every second into cluster-state.jsonl.

Times use the history's clock, so a report can line up leader changes and ISR shrinks with ops and faults.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson

from harness.admin import Admin
from harness.history import HistoryRecorder


class StateSampler:
    def __init__(self, admin: Admin, topic: str, history: HistoryRecorder, path: Path, interval: float = 1.0):
        self.admin = admin
        self.topic = topic
        self.history = history
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self.samples: list[dict[str, Any]] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def sample(self) -> dict[str, Any]:
        state: dict[str, Any] = {"time": int(self.history.elapsed() * 1e9)}
        try:
            state["brokers"] = sorted(self.admin.broker_ids(timeout=2))
            state["partitions"] = [p.to_json() for p in self.admin.partitions(self.topic, timeout=2)]
        except Exception as error:  # noqa: BLE001 - an unreachable cluster is a state worth recording
            state["error"] = str(error)
        return state

    def _run(self) -> None:
        with self.path.open("ab") as out:
            while not self._stop.is_set():
                state = self.sample()
                self.samples.append(state)
                out.write(orjson.dumps(state) + b"\n")
                out.flush()
                self._stop.wait(self.interval)

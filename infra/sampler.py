"""Samples what Kafka says about the test topic every second into cluster-state.jsonl.

Each line: registered brokers, leader/replicas/ISR per test partition, the number of under-replicated
partitions, and each controller's own view of the KRaft quorum (leader id and epoch) with the active
controller they agree on; with `views`, each node's own belief as infra/broker_views.py asks it (the
input of the split-brain checks in checkers/cluster.py), taken first so it is closest to the line's time.
Times use the history's clock, so a report can line up leader changes and ISR shrinks with ops and faults.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from infra.admin import Admin
from infra.recorder import HistoryRecorder


class StateSampler:
    def __init__(self, admin: Admin, topic: str, history: HistoryRecorder, path: Path, interval: float = 1.0,
                 quorum_views: Callable[[], Mapping[str, tuple[int, int]]] | None = None,
                 views: Callable[[], Mapping[str, Any]] | None = None):
        self.admin = admin
        self.views = views
        self.quorum_views = quorum_views
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
        if self.views is not None:
            try:
                state.update(self.views())
            except Exception as error:  # noqa: BLE001
                state["views_error"] = str(error)
        try:
            state["brokers"] = sorted(self.admin.broker_ids(timeout=2))
            partitions = self.admin.partitions(self.topic, timeout=2)
            state["partitions"] = [p.to_json() for p in partitions]
            state["under_replicated"] = sum(1 for p in partitions if len(p.isr) < len(p.replicas))
            state["offline"] = sum(1 for p in partitions if p.leader < 0)
        except Exception as error:  # noqa: BLE001 - an unreachable cluster is a state worth recording
            state["error"] = str(error)
        if self.quorum_views is not None:
            try:
                views = self.quorum_views()
                state["controllers"] = {name: {"leader": leader, "epoch": epoch}
                                        for name, (leader, epoch) in sorted(views.items())}
                known = [(epoch, leader) for leader, epoch in views.values() if leader >= 0]
                state["active_controller"] = max(known)[1] if known else -1
            except Exception as error:  # noqa: BLE001
                state["controllers_error"] = str(error)
        return state

    def _run(self) -> None:
        # The last line is taken after stop() was asked for (after healing and the drain): a sample already under
        # way when the run healed may show the state before it, and the last line must be the state at the end.
        with self.path.open("ab") as out:
            while True:
                stopping = self._stop.is_set()
                state = self.sample()
                self.samples.append(state)
                out.write(orjson.dumps(state) + b"\n")
                out.flush()
                if stopping:
                    return
                self._stop.wait(self.interval)

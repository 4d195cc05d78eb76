"""The history recorder: every op event, one JSON line, flushed as it happens.

Written incrementally so that a killed harness still leaves a readable, checkable file. Thread-safe: client
threads and the nemesis share one recorder, and `index` follows the order events were recorded.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import orjson

Process = int | str


class HistoryRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("wb")
        self._lock = threading.Lock()
        self._index = 0
        self._t0 = time.monotonic_ns()
        self._next_process = 0
        self.counts: dict[tuple[str, str], int] = {}

    def new_process(self) -> int:
        """A fresh client process id (a client that saw `info` must never act again under its old id)."""
        with self._lock:
            process = self._next_process
            self._next_process += 1
            return process

    def record(self, process: Process, type_: str, f: str, value: Any, error: str | None = None,
               client: str | None = None) -> int:
        event: dict[str, Any] = {"index": 0, "time": 0, "process": process, "type": type_, "f": f, "value": value}
        if error is not None:
            event["error"] = error
        if client is not None:
            event["client"] = client
        with self._lock:
            index = self._index
            event["index"] = index
            event["time"] = time.monotonic_ns() - self._t0
            self._file.write(orjson.dumps(event) + b"\n")
            self._file.flush()
            self._index += 1
            key = (f, type_)
            self.counts[key] = self.counts.get(key, 0) + 1
        return index

    def invoke(self, process: Process, f: str, value: Any) -> int:
        return self.record(process, "invoke", f, value)

    def elapsed(self) -> float:
        return (time.monotonic_ns() - self._t0) / 1e9

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> HistoryRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def client_tag(name: str, version: str) -> str:
    """The `client` field of a client op: `librdkafka/2.6.1`, `java/3.9.1` (test.json has it as an object)."""
    return f"{name}/{version}"


class ClientHistory:
    """The recorder as the workload of one client library sees it: each op it records carries `client`
    (`name/version`). Nemesis events a workload records itself (a crashed member) carry none."""

    def __init__(self, recorder: HistoryRecorder, client: str) -> None:
        self.recorder = recorder
        self.client = client

    def new_process(self) -> int:
        return self.recorder.new_process()

    def record(self, process: Process, type_: str, f: str, value: Any, error: str | None = None) -> int:
        return self.recorder.record(process, type_, f, value, error,
                                    client=None if process == "nemesis" else self.client)

    def invoke(self, process: Process, f: str, value: Any) -> int:
        return self.record(process, "invoke", f, value)

    def elapsed(self) -> float:
        return self.recorder.elapsed()

    @property
    def counts(self) -> dict[tuple[str, str], int]:
        return self.recorder.counts

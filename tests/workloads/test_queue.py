"""The queue workload without Kafka: the final drain, and a pipelined producer's history order."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import orjson

import checkers
from infra.recorder import HistoryRecorder
from workloads import queue
from workloads.options import ClientOptions
from workloads.queue import QueueWorkload


class EmptyLogConsumer:
    """Every partition's records below offset 5 were deleted by retention: log start = high watermark = 5."""

    def __init__(self, config: dict[str, Any]) -> None:
        pass

    def get_watermark_offsets(self, tp: Any, timeout: float | None = None, cached: bool = False) -> tuple[int, int]:
        return 5, 5

    def assign(self, partitions: list[Any]) -> None:
        pass

    def consume(self, num: int, timeout: float) -> list[Any]:
        return []

    def close(self) -> None:
        pass


def events(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_drain_starts_at_the_log_start_so_deleted_records_do_not_stall_it(tmp_path, monkeypatch):
    monkeypatch.setattr(queue, "Consumer", EmptyLogConsumer)
    path = tmp_path / "history.jsonl"
    with HistoryRecorder(path) as history:
        workload = QueueWorkload(ClientOptions(partitions=2), "x:9092", history, "r", logging.getLogger("t"))
        assert workload.drain(timeout=5.0) is True
    drains = [e for e in events(path) if e["f"] == "drain" and e["type"] != "invoke"]
    assert [(e["type"], e["value"]["high_watermark"]) for e in drains] == [("ok", 5), ("ok", 5)]


class OrderedProducer:
    """Assigns offsets in the order produce() is called; acknowledges from a separate thread."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.next = 0
        self.lock = threading.Lock()
        self.pending: list[tuple[Any, int, int]] = []

    def produce(self, topic: str, value: bytes, partition: int, on_delivery: Any) -> None:
        with self.lock:
            self.pending.append((on_delivery, partition, self.next))
            self.next += 1

    def poll(self, timeout: float) -> int:
        with self.lock:
            ready, self.pending = self.pending, []
        for deliver, partition, offset in ready:
            deliver(None, type("M", (), {"partition": lambda s, p=partition: p, "offset": lambda s, o=offset: o})())
        return len(ready)

    def flush(self, timeout: float) -> int:
        return 0


def test_pipelined_sends_are_invoked_in_the_order_the_producer_took_them(tmp_path, monkeypatch):
    monkeypatch.setattr(queue, "Producer", OrderedProducer)
    path = tmp_path / "history.jsonl"
    with HistoryRecorder(path) as history:
        workload = QueueWorkload(ClientOptions(partitions=1, concurrency=1, consumers=0, pipeline=4, rate=400),
                                 "x:9092", history, "r", logging.getLogger("t"))
        workload.start()
        threading.Event().wait(0.5)
        workload.stop(2.0)
    sends = [e for e in events(path) if e["f"] == "send"]
    assert len({e["process"] for e in sends}) == 4, "four processes share the producer"
    assert sum(e["type"] == "ok" for e in sends) > 20
    result = checkers.check_file(path, "queue")
    assert not result.anomalies.get("nonmonotonic-send")

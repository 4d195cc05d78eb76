"""read_committed consumers that record what they read: plain pollers while a workload runs, and the final
drain, which reads every partition until the consumer's *position* reaches the high watermark (transaction
markers and aborted records are never returned, so the last record read says less than the position)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition

from infra.recorder import HistoryRecorder
from workloads.records import close_quietly, error_name, high_watermarks, record_drain, records_of


class CommittedReads:
    def __init__(self, topic: str, partitions: int, history: HistoryRecorder,
                 consumer: Callable[[str], Any]) -> None:
        """`consumer(group)`: a new read_committed consumer in that group."""
        self.topic = topic
        self.partitions = partitions
        self.history = history
        self.consumer = consumer

    def _all(self) -> list[TopicPartition]:
        return [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(self.partitions)]

    def assign_all(self, consumer: Any, process: int) -> None:
        value = {"topic": self.topic, "partitions": list(range(self.partitions))}
        self.history.invoke(process, "assign", value)
        consumer.assign(self._all())
        self.history.record(process, "ok", "assign", value)

    def poll(self, consumer: Any, process: int, timeout: float) -> bool:
        """One `poll` op; False when it ended in info (the caller must switch process)."""
        self.history.invoke(process, "poll", None)
        try:
            records = records_of(consumer.consume(500, timeout))
        except KafkaException as error:
            self.history.record(process, "info", "poll", None, error_name(error))
            return False
        self.history.record(process, "ok", "poll", {"records": records})
        return True

    def poll_until(self, group: str, stop: threading.Event) -> None:
        """Read everything from the beginning until `stop`; a new consumer and process after an info."""
        while not stop.is_set():
            consumer = self.consumer(group)
            process = self.history.new_process()
            try:
                self.assign_all(consumer, process)
                while not stop.is_set() and self.poll(consumer, process, 0.5):
                    pass
            finally:
                close_quietly(consumer)

    def drain(self, group: str, timeout: float, healed: bool = True) -> bool:
        """One `drain` op per partition: ok when the position reached the high watermark and the ISR healed."""
        deadline = time.monotonic() + timeout
        consumer = self.consumer(group)
        process = self.history.new_process()
        try:
            high = high_watermarks(consumer, self.topic, self.partitions, deadline)
            self.assign_all(consumer, process)
            reached = dict.fromkeys(range(self.partitions), 0)
            while any(reached[p] < hw for p, hw in high.items()) and time.monotonic() < deadline:
                if not self.poll(consumer, process, 1.0):
                    break
                for tp in consumer.position(self._all()):
                    reached[tp.partition] = max(reached[tp.partition], tp.offset)
            drained = [record_drain(self.history, process, {"topic": self.topic, "partition": p,
                                                            "high_watermark": high.get(p)}, reached[p], healed)
                       for p in range(self.partitions)]
            return all(drained)
        finally:
            close_quietly(consumer)

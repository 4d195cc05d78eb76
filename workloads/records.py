"""Small pieces the txn and group workloads share: records as the history writes them, Kafka error names."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition


def decode(raw: bytes | None) -> int | str | None:
    """A record's value as the history carries it: the int the workload sent, else the text."""
    if raw is None:
        return None
    text = raw.decode(errors="replace")
    try:
        return int(text)
    except ValueError:
        return text


def records_of(messages: Iterable[Any]) -> list[dict[str, Any]]:
    """Messages a consumer returned, in delivery order, as `poll` records; error events are left out (librdkafka
    reports transient fetch errors as messages and retries them itself)."""
    return [{"topic": m.topic(), "partition": m.partition(), "offset": m.offset(), "value": decode(m.value())}
            for m in messages if m.error() is None]


def error_name(error: KafkaError | KafkaException | BaseException) -> str:
    """`request-timed-out`, `not-coordinator`, ...: the Kafka error's name as the history's `error` field."""
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        error = error.args[0]
    if isinstance(error, KafkaError):
        return error.name().lower().lstrip("_").replace("_", "-")
    return type(error).__name__


def kafka_error(error: BaseException) -> KafkaError | None:
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return error.args[0]
    return None


def close_quietly(client: Any) -> None:
    """Close a consumer (never a transactional producer: its close() aborts, see workloads/txn.py)."""
    try:
        client.close()
    except (KafkaException, RuntimeError):
        pass


def high_watermarks(consumer: Any, topic: str, partitions: int, deadline: float) -> dict[int, int]:
    """The high watermark of every partition that answers before the deadline (retried while leaders move)."""
    high: dict[int, int] = {}
    while len(high) < partitions and time.monotonic() < deadline:
        for p in range(partitions):
            if p not in high:
                try:
                    high[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5, cached=False)[1]
                except KafkaException:
                    continue
        if len(high) < partitions:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return high


def record_drain(history: Any, process: int, value: dict[str, Any], reached: int, healed: bool) -> bool:
    """One `drain` op for a partition read up to `reached` (next offset) against `value["high_watermark"]`: ok
    only if the watermark was learned, reached, and the ISR healed (else it may lag the log end); True if ok."""
    hw = value["high_watermark"]
    history.invoke(process, "drain", value)
    if hw is not None and reached >= hw and healed:
        history.record(process, "ok", "drain", value)
        return True
    why = ("the high watermark could not be read" if hw is None else
           f"read up to offset {reached} of {hw} before the drain timed out" if reached < hw
           else "the ISR was not full again, so the high watermark may lag")
    history.record(process, "info", "drain", value, why)
    return False


def await_coordinator(consumer: Any, topic: str, timeout: float) -> bool:
    """Wait until the consumer's group coordinator answers an offset fetch. On a fresh cluster the first
    coordinator lookup creates __consumer_offsets (50 partitions), which takes tens of seconds on a busy host;
    a workload waits for that before its clock starts rather than spend its time limit on it."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            consumer.committed([TopicPartition(topic, 0)], timeout=max(0.1, min(5.0, left)))
            return True
        except KafkaException:
            if left <= 0:
                return False
            time.sleep(min(0.5, max(0.0, left)))

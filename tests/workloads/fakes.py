"""In-memory stand-ins for confluent-kafka clients, just enough Kafka for the workloads' bookkeeping: logs per
partition, transactions that become visible on commit, consumer groups that call back on rebalance. Scripts say
what goes wrong next (a commit that times out, an abort that fails, a rebalance in the middle of a poll)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_STORED, KafkaError, KafkaException, TopicPartition

TOPIC = "t"


def timeout() -> KafkaError:
    return KafkaError(KafkaError._TIMED_OUT, "timed out", retriable=True)


def abortable() -> KafkaError:
    return KafkaError(KafkaError.INVALID_PRODUCER_EPOCH, "abortable", txn_requires_abort=True)


def fatal() -> KafkaError:
    return KafkaError(KafkaError._FENCED, "fenced", fatal=True)


@dataclass
class Message:
    _topic: str
    _partition: int
    _offset: int
    _value: bytes | None
    _error: KafkaError | None = None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value

    def error(self) -> KafkaError | None:
        return self._error


@dataclass
class Entry:
    value: bytes
    state: str  # "open", "committed", "aborted"
    owner: int  # id of the producer


@dataclass
class FakeKafka:
    partitions: int = 3
    logs: dict[int, list[Entry]] = field(default_factory=dict)
    commits: deque[tuple[KafkaError | None, bool]] = field(default_factory=deque)  # (raise, committed anyway)
    aborts: deque[KafkaError | None] = field(default_factory=deque)
    delivery_errors: dict[bytes, KafkaError] = field(default_factory=dict)
    calls: list[tuple[int, str]] = field(default_factory=list)  # (producer number, method)
    producers: list[FakeProducer] = field(default_factory=list)
    group_offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    stop_after_begins: int | None = None
    on_limit: Any = None

    def __post_init__(self) -> None:
        self.logs = {p: [] for p in range(self.partitions)}

    def producer(self, config: dict[str, Any]) -> FakeProducer:
        producer = FakeProducer(self, config, len(self.producers))
        self.producers.append(producer)
        return producer

    def consumer(self, config: dict[str, Any]) -> FakeConsumer:
        return FakeConsumer(self, config)

    def settle(self, owner: int, state: str) -> None:
        for log in self.logs.values():
            for entry in log:
                if entry.owner == owner and entry.state == "open":
                    entry.state = state


class FakeProducer:
    def __init__(self, kafka: FakeKafka, config: dict[str, Any], number: int) -> None:
        self.kafka, self.config, self.number = kafka, config, number
        self.pending: list[tuple[str, bytes, int, Any]] = []
        self.offsets: list[tuple[list[TopicPartition], Any]] = []

    def _call(self, name: str) -> None:
        self.kafka.calls.append((self.number, name))

    def init_transactions(self, timeout: float | None = None) -> None:
        self._call("init_transactions")
        for other in self.kafka.producers:  # fencing settles what an earlier epoch left open
            if other is not self and other.config.get("transactional.id") == self.config.get("transactional.id"):
                self.kafka.settle(other.number, "aborted")

    def begin_transaction(self) -> None:
        self._call("begin_transaction")
        begins = sum(1 for _, name in self.kafka.calls if name == "begin_transaction")
        if self.kafka.stop_after_begins is not None and begins >= self.kafka.stop_after_begins:
            self.kafka.on_limit()

    def produce(self, topic: str, value: bytes, partition: int, on_delivery: Any) -> None:
        self._call("produce")
        self.pending.append((topic, value, partition, on_delivery))

    def flush(self, timeout: float | None = None) -> int:
        for topic, value, partition, callback in self.pending:
            error = self.kafka.delivery_errors.get(value)
            log = self.kafka.logs[partition]
            if error is None:
                log.append(Entry(value, "open", self.number))
            callback(error, Message(topic, partition, len(log) - 1, value))
        self.pending = []
        return 0

    def send_offsets_to_transaction(self, positions: list[TopicPartition], metadata: Any,
                                    timeout: float | None = None) -> None:
        self._call("send_offsets_to_transaction")
        self.offsets.append((positions, metadata))

    def commit_transaction(self, timeout: float | None = None) -> None:
        self._call("commit_transaction")
        error, committed = self.kafka.commits.popleft() if self.kafka.commits else (None, True)
        if committed:
            self.kafka.settle(self.number, "committed")
            for positions, group in self.offsets:
                self.kafka.group_offsets.setdefault(group, {}).update({tp.partition: tp.offset for tp in positions})
            self.offsets = []
        if error is not None:
            raise KafkaException(error)

    def abort_transaction(self, timeout: float | None = None) -> None:
        self._call("abort_transaction")
        error = self.kafka.aborts.popleft() if self.kafka.aborts else None
        if error is not None:
            raise KafkaException(error)
        self.kafka.settle(self.number, "aborted")
        self.offsets = []

    def close(self) -> None:
        self._call("close")


class FakeConsumer:
    """assign/consume/position/seek over FakeKafka's logs, read_committed: stops at an open transaction."""

    def __init__(self, kafka: FakeKafka, config: dict[str, Any]) -> None:
        self.kafka, self.config = kafka, config
        self.positions: dict[int, int] = {}  # where fetching continues
        self.app: dict[int, int] = {}  # what position() reports: after the last record returned, or a seek
        self.sought: list[tuple[int, int]] = []
        self.closed = False

    def assign(self, partitions: list[TopicPartition]) -> None:
        stored = self.kafka.group_offsets.get(self.config["group.id"], {})
        for tp in partitions:
            start = stored.get(tp.partition, 0) if tp.offset == OFFSET_STORED else tp.offset
            self.positions[tp.partition] = 0 if start == OFFSET_BEGINNING else start

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[Message]:
        out: list[Message] = []
        for p, position in sorted(self.positions.items()):
            log = self.kafka.logs[p]
            while position < len(log) and len(out) < num_messages and log[position].state != "open":
                if log[position].state == "committed":
                    out.append(Message(TOPIC, p, position, log[position].value))
                position += 1
                self.app[p] = position  # like librdkafka, the position moves past aborted records too
            self.positions[p] = position
        return out

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.app.get(tp.partition, -1001)) for tp in partitions]

    def seek(self, tp: TopicPartition) -> None:
        self.sought.append((tp.partition, tp.offset))
        self.positions[tp.partition] = self.app[tp.partition] = tp.offset

    def committed(self, partitions: list[TopicPartition], timeout: float | None = None) -> list[TopicPartition]:
        return partitions

    def consumer_group_metadata(self) -> str:
        return str(self.config["group.id"])

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float | None = None,
                              cached: bool = False) -> tuple[int, int]:
        return 0, len(self.kafka.logs[tp.partition])

    def close(self) -> None:
        self.closed = True


@dataclass
class Committed:
    partition: int
    error: KafkaError | None


class FakeGroupConsumer:
    """A group member whose poll() plays a script: ("msg", partition, offset, value), ("assign", [partitions]),
    ("revoke", [partitions]), ("lost", [partitions]), ("committed", {partition: offset}) or None (nothing)."""

    def __init__(self, config: dict[str, Any], script: list[Any], commit_errors: list[KafkaError | None]) -> None:
        self.config = config
        self.script = deque(script)
        self.commit_errors = deque(commit_errors)
        self.callbacks: dict[str, Any] = {}
        self.assigned: list[int] = []
        self.commits: list[dict[int, int]] = []
        self.closed = False

    def subscribe(self, topics: list[str], on_assign: Any, on_revoke: Any, on_lost: Any) -> None:
        self.callbacks = {"assign": on_assign, "revoke": on_revoke, "lost": on_lost}

    def poll(self, timeout: float | None = None) -> Message | None:
        while self.script:
            step = self.script.popleft()
            if step is None:
                return None
            kind = step[0]
            if kind == "msg":
                return Message(TOPIC, step[1], step[2], str(step[3]).encode())
            if kind == "committed":
                self.config["on_commit"](None, [TopicPartition(TOPIC, p, o) for p, o in step[1].items()])
                continue
            tps = [TopicPartition(TOPIC, p) for p in step[1]]
            self.callbacks[kind](self, tps)
            self.assigned = step[1] if kind == "assign" else [p for p in self.assigned if p not in step[1]]
        return None

    def commit(self, offsets: list[TopicPartition], asynchronous: bool = True) -> list[Committed]:
        """The next scripted error: raised for the request, except NOT_COORDINATOR: on the first partition."""
        error = self.commit_errors.popleft() if self.commit_errors else None
        if error is not None and error.code() != KafkaError.NOT_COORDINATOR:
            raise KafkaException(error)
        self.commits.append({tp.partition: tp.offset for tp in offsets})
        return [Committed(tp.partition, error if i == 0 else None) for i, tp in enumerate(offsets)]

    def committed(self, partitions: list[TopicPartition], timeout: float | None = None) -> list[TopicPartition]:
        return partitions

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, p) for p in self.assigned]

    def close(self) -> None:
        if self.assigned and self.callbacks:
            self.callbacks["revoke"](self, [TopicPartition(TOPIC, p) for p in self.assigned])
        self.assigned = []
        self.closed = True

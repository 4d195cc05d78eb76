"""What Kafka itself says about the cluster, through the admin client: brokers, leaders, ISRs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import HarnessError
from core.waiting import WaitTimeout, wait_until


@dataclass(frozen=True)
class PartitionState:
    topic: str
    partition: int
    leader: int  # -1 when there is none
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "leader": self.leader,
                "replicas": list(self.replicas), "isr": list(self.isr)}


class Admin:
    def __init__(self, bootstrap_servers: str, request_timeout_ms: int = 5000) -> None:
        from confluent_kafka.admin import AdminClient

        self.client = AdminClient({"bootstrap.servers": bootstrap_servers,
                                   "socket.timeout.ms": request_timeout_ms,
                                   "logger": _quiet_logger()})

    def broker_ids(self, timeout: float = 5.0) -> set[int]:
        metadata = self.client.list_topics(timeout=timeout)
        return set(metadata.brokers)

    def controller_id(self, timeout: float = 5.0) -> int:
        metadata = self.client.list_topics(timeout=timeout)
        return int(metadata.controller_id)

    def group_coordinators(self, prefix: str = "harness-", timeout: float = 5.0) -> dict[str, int]:
        """Group id -> the broker id of its coordinator, for the consumer groups (classic or KIP-848) whose id
        starts with `prefix`: the groups the harness's workloads made."""
        listed = self.client.list_consumer_groups(request_timeout=timeout).result(timeout=timeout)
        ids = sorted(g.group_id for g in listed.valid if g.group_id.startswith(prefix))
        if not ids:
            return {}
        found: dict[str, int] = {}
        for group, future in self.client.describe_consumer_groups(ids, request_timeout=timeout).items():
            try:
                coordinator = future.result(timeout=timeout).coordinator
            except Exception:  # a group being deleted or loading: ask about the others
                continue
            if coordinator is not None and coordinator.id >= 0:
                found[group] = int(coordinator.id)
        return found

    def topic_id(self, topic: str, timeout: float = 5.0) -> str:
        """The topic's id as Kafka writes it (`Uuid.toString()`: URL-safe base64 without padding)."""
        from confluent_kafka import TopicCollection

        (future,) = self.client.describe_topics(TopicCollection([topic]), request_timeout=timeout).values()
        return str(future.result(timeout=timeout).topic_id)

    def partitions(self, topic: str, timeout: float = 5.0) -> list[PartitionState]:
        metadata = self.client.list_topics(topic=topic, timeout=timeout)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            return []
        return [PartitionState(topic, p.id, p.leader, tuple(p.replicas), tuple(p.isrs))
                for p in sorted(info.partitions.values(), key=lambda p: p.id)]

    def create_topic(self, topic: str, partitions: int, replication: int, config: dict[str, str],
                     replica_assignment: list[list[int]] | None = None, timeout: float = 90.0) -> None:
        """Create a topic, retrying while the cluster has no reachable controller (just started or healing)."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic

        spec = (NewTopic(topic, partitions, -1, replica_assignment=replica_assignment, config=config)
                if replica_assignment else NewTopic(topic, partitions, replication, config=config))
        attempts = 0

        def created() -> bool:
            nonlocal attempts
            attempts += 1
            try:
                self.client.create_topics([spec], request_timeout=15)[topic].result(timeout=30)
            except KafkaException as error:
                kafka_error = error.args[0]
                if kafka_error.code() == KafkaError.TOPIC_ALREADY_EXISTS and attempts > 1:
                    return True  # an earlier attempt that timed out on our side did create it
                if kafka_error.retriable() or kafka_error.code() in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT):
                    return False
                if _brokers_still_fenced(kafka_error):
                    # A broker just restarted (a healed kill) stays fenced until its first heartbeat catches up
                    # with the metadata log; Kafka says so with a non-retriable code, but it clears in seconds.
                    raise _StillFenced(kafka_error.str()) from None
                raise HarnessError(f"creating topic {topic} failed: {kafka_error.str()}") from None
            return True

        wait_until(created, timeout, f"topic {topic} to be created", interval=1.0)

    def wait_brokers(self, expected: set[int], timeout: float) -> None:
        registered: set[int] = set()

        def all_registered() -> bool:
            now = self.broker_ids()
            registered.clear()
            registered.update(now)
            return now >= expected

        try:
            wait_until(all_registered, timeout, f"brokers {sorted(expected)} to register with the controller quorum",
                       interval=0.5)
        except WaitTimeout as timeout_error:
            raise WaitTimeout(f"{timeout_error}; registered at the end: {sorted(registered) or 'none'}") from None

    def wait_fully_replicated(self, topic: str, expected_replicas: int, timeout: float) -> None:
        def healthy() -> bool:
            parts = self.partitions(topic)
            return bool(parts) and all(p.leader >= 0 and len(p.isr) == expected_replicas for p in parts)

        wait_until(healthy, timeout, f"every partition of {topic} to have a leader and a full ISR", interval=0.5)


def _quiet_logger() -> Any:
    # librdkafka logs connection refusals to stderr while brokers start or are cut off; that is expected
    # noise during a fault test, so send it to a logger nobody prints.
    import logging

    logger = logging.getLogger("harness.librdkafka")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger


class _StillFenced(Exception):
    """Not a HarnessError: wait_until retries it and quotes it if the deadline passes."""


def _brokers_still_fenced(kafka_error: Any) -> bool:
    """INVALID_REPLICA_ASSIGNMENT / INVALID_REPLICATION_FACTOR because the named or all brokers are fenced or
    shutting down (KRaft's ReplicationControlManager wording), as opposed to an assignment that can never work."""
    from confluent_kafka import KafkaError

    return (kafka_error.code() in (KafkaError.INVALID_REPLICA_ASSIGNMENT, KafkaError.INVALID_REPLICATION_FACTOR)
            and "fenced" in kafka_error.str())

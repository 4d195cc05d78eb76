"""The client settings every workload shares: the test topic's shape, the producer's delivery guarantees and the
load. Each workload has its own options type beside these (TxnOptions, GroupOptions, FailoverPlan), named in
workloads/registry.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.errors import HarnessError


@dataclass(frozen=True)
class ClientOptions:
    topic: str = "jepsen-queue"
    partitions: int = 3
    replication: int = 3
    min_insync_replicas: int = 2
    unclean_leader_election: bool = False
    acks: str = "all"
    idempotence: bool | None = None  # None: on for acks=all, off otherwise (like the Java client's default)
    retries: int | None = None  # None: the client's default (retry until the delivery timeout)
    max_in_flight: int = 5
    delivery_timeout_ms: int = 10_000
    request_timeout_ms: int = 5_000
    rate: float = 100.0
    concurrency: int = 6
    consumers: int = 2
    pipeline: int = 1  # processes sharing one producer client, each with one send outstanding
    replica_assignment: tuple[tuple[int, ...], ...] = ()  # broker ids per partition; () lets Kafka place them
    extra_producer_config: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.acks not in ("all", "1", "0", "-1"):
            raise HarnessError(f"--acks {self.acks!r} is not one of all, 1, 0")
        if self.idempotence and self.acks not in ("all", "-1"):
            raise HarnessError(f"--idempotence needs --acks all, got --acks {self.acks}",
                               hint="use --no-idempotence with acks=1 or 0")
        if self.partitions < 1 or self.replication < 1:
            raise HarnessError("--partitions and --replication must be at least 1")
        if not 0 < self.rate < math.inf or self.concurrency < 1 or self.consumers < 0:  # `not`: NaN fails too
            raise HarnessError("--rate must be a positive number, --concurrency at least 1, --consumers at least 0")
        if not 1 <= self.min_insync_replicas <= self.replication:
            raise HarnessError(f"--min-insync {self.min_insync_replicas} must be from 1 to the replication factor "
                               f"({self.replication})", hint="above it every acks=all send fails with "
                               "NOT_ENOUGH_REPLICAS; Kafka's own minimum is 1")
        if self.max_in_flight < 1:
            raise HarnessError(f"--max-in-flight must be at least 1, got {self.max_in_flight}",
                               hint="1 keeps sends in order without idempotence; 5 is the most idempotence allows")
        if self.pipeline < 1:
            raise HarnessError(f"pipeline must be at least 1, got {self.pipeline}")
        if self.replica_assignment and (len(self.replica_assignment) != self.partitions or any(
                len(replicas) != self.replication for replicas in self.replica_assignment)):
            raise HarnessError(f"replica_assignment needs {self.partitions} lists of {self.replication} broker ids",
                               hint="one list per partition, as many ids as the replication factor")
        if self.retries is not None and self.retries < 0:
            raise HarnessError(f"--retries must be 0 or more, got {self.retries}")

    @property
    def idempotent(self) -> bool:
        return self.acks in ("all", "-1") if self.idempotence is None else self.idempotence

    def producer_config(self, bootstrap_servers: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "acks": self.acks,
            "enable.idempotence": self.idempotent,
            "max.in.flight.requests.per.connection": self.max_in_flight,
            "delivery.timeout.ms": self.delivery_timeout_ms,
            "request.timeout.ms": self.request_timeout_ms,
            "linger.ms": 0,
        }
        if self.retries is not None:
            config["retries"] = self.retries
        config.update(dict(self.extra_producer_config))
        return config

    def topic_config(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync_replicas),
                "unclean.leader.election.enable": str(self.unclean_leader_election).lower()}

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "partitions": self.partitions, "replication": self.replication,
                "topic_config": self.topic_config(), "rate": self.rate, "concurrency": self.concurrency,
                "consumers": self.consumers, "pipeline": self.pipeline,
                "replica_assignment": [list(r) for r in self.replica_assignment],
                "producer_config": {k: v for k, v in self.producer_config("").items() if k != "bootstrap.servers"}}

"""What the runner needs of a cluster, whichever backend runs it: containers of ours (infra/cluster.py) or the
operator's machines over SSH (infra/ssh_cluster.py). One protocol, so the runner never asks which one it has."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, Self

from core.topology import Topology
from infra.durable_fs.disks import DurableDisk
from infra.kafka_node import KafkaNode
from infra.request_proxy import RequestProxy


class ClusterBackend(Protocol):
    topology: Topology
    nodes: Mapping[str, KafkaNode]  # by node name
    addresses: Mapping[str, str]  # node name -> the address other nodes and clients use
    jmx_port: int | None  # where each node's JVM answers JMX on its loopback; None: the per-node JMX views are off
    teardown_action: str  # what teardown does, as the progress line says it
    disks: Mapping[str, DurableDisk]  # broker -> the durable filesystem under its data dir (power-loss nemeses)
    request_proxy: RequestProxy | None  # between the clients and the brokers, when a request nemesis needs it

    def start(self) -> None:
        """Bring every node up; a partial start is rolled back before the error is raised."""
        ...

    def bootstraps(self) -> dict[str, str]:
        """Bootstrap servers by Kafka cluster name (Topology.clusters)."""
        ...

    def client_bootstraps(self) -> dict[str, str]:
        """What the workload's clients bootstrap from (through the request proxy when it is in the path)."""
        ...

    def collect_logs(self, destination: Path) -> None:
        ...

    def teardown(self) -> list[str]:
        """Undo everything this run created; the problems met, empty if none (never raises)."""
        ...


class StartedInWith:
    """`with backend:` starts it and tears it down, also when the start itself fails half-way."""

    def start(self) -> None:
        raise NotImplementedError

    def teardown(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

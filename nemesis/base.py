"""What every nemesis is: start a fault on some targets, and stop (heal) exactly that fault.

A nemesis acts only through the NemesisContext (nodes reached through a Remote, their addresses, the
topology); it never touches Docker or SSH itself, so the same nemesis runs against containers and machines.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.topology import Topology
from infra.host_processes import HostProcesses
from infra.kafka_node import KafkaNode


@dataclass(frozen=True)
class Fault:
    """One applied fault: enough to describe it in the history and to undo it."""

    nemesis: str
    targets: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """A short human description: what was isolated, or which nodes were hit."""
        if "components" in self.details:
            sides = " | ".join(", ".join(side) for side in self.details["components"])
            return f"isolated {self.details['isolated']}: {sides}" if "isolated" in self.details else sides
        return "on " + ", ".join(self.targets)

    def to_json(self) -> dict[str, Any]:
        return {"nemesis": self.nemesis, "targets": list(self.targets), **self.details}


@dataclass(frozen=True)
class Requirements:
    """What a nemesis needs of the run, declared on the nemesis so the runner asks it instead of matching names."""

    clock_control: bool = False  # every JVM started under libfaketime (containers, or SSH nodes the harness manages)
    dc: str | None = None  # the DC it is named after (outage-<dc>) must be in the topology


NO_REQUIREMENTS = Requirements()


@dataclass
class NemesisContext:
    topology: Topology
    nodes: Mapping[str, KafkaNode]  # by node name
    addresses: Mapping[str, str]  # node name -> IP address the other nodes use
    rng: random.Random
    bootstrap_servers: str = ""  # for nemeses that ask Kafka who leads what
    topic: str = ""  # the workload's test topic
    host: HostProcesses | None = None  # host-side helper processes of this run (e.g. a packet delayer)


class Nemesis(Protocol):
    name: str
    description: str
    requires: Requirements

    def start(self, ctx: NemesisContext) -> Fault:
        """Apply the fault; raise on failure (the caller heals and records the error)."""
        ...

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        """Undo `fault`."""
        ...

    def heal_all(self, ctx: NemesisContext) -> None:
        """Undo anything this kind of nemesis may have done, idempotently (final heal, cleanup)."""
        ...


@dataclass(frozen=True)
class NamedFamily:
    """Nemeses named after a parameter (`outage-<dc>`): `parse` returns the one a name means, or None."""

    pattern: str  # as users see it in `harness nemeses`
    description: str
    parse: Callable[[str], Nemesis | None]

"""What every nemesis is: start a fault on some targets, and stop (heal) exactly that fault.

A nemesis acts only through the NemesisContext (nodes reached through a Remote, their addresses, the
topology); it never touches Docker or SSH itself, so the same nemesis runs against containers and machines.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
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


@dataclass
class NemesisContext:
    topology: Topology
    nodes: Mapping[str, KafkaNode]  # by node name
    addresses: Mapping[str, str]  # node name -> IP address the other nodes use
    rng: random.Random
    bootstrap_servers: str = ""  # for nemeses that ask Kafka who leads what
    topic: str = ""  # the workload's test topic
    host: HostProcesses | None = None  # host-side helper processes of this run (e.g. a packet delayer)


@dataclass(frozen=True)
class Needs:
    """What a topology must have for a nemesis to cut or hit anything at all. A run whose topology lacks it
    would inject no fault and could come out VALID having tested nothing, so it is refused before it starts."""

    dcs: int = 1
    nodes: int = 1  # every node of the topology: brokers, controllers or ZooKeeper servers, mirrors
    quorum: int = 1  # KRaft controllers or ZooKeeper servers
    why: str = ""  # what the nemesis would do without them

    def unmet(self, topology: Topology) -> str | None:
        """None if `topology` has what is needed, else one sentence saying what it lacks."""
        for count, have, what in ((self.dcs, len(topology.dcs), "DCs"), (self.nodes, len(topology.nodes), "nodes"),
                                  (self.quorum, len(topology.quorum), "controllers (or ZooKeeper servers)")):
            if have < count:
                return f"needs at least {count} {what}, topology {topology.name!r} has {have}" + (
                    f": {self.why}" if self.why else "")
        return None


NEEDS_NOTHING = Needs()


class Requiring(Protocol):
    """A nemesis that cannot act on every topology says what it needs (see Needs)."""

    needs: Needs


class Nemesis(Protocol):
    name: str
    description: str

    def start(self, ctx: NemesisContext) -> Fault:
        """Apply the fault; raise on failure (the caller heals and records the error)."""
        ...

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        """Undo `fault`."""
        ...

    def heal_all(self, ctx: NemesisContext) -> None:
        """Undo anything this kind of nemesis may have done, idempotently (final heal, cleanup)."""
        ...

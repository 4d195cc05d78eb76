"""What every nemesis is: start a fault on some targets, and stop (heal) exactly that fault.

A nemesis acts only through the NemesisContext (nodes reached through a Remote, their addresses, the
topology); it never touches Docker or SSH itself, so the same nemesis runs against containers and machines.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from core.topology import Topology
from infra.durable_fs.disks import DurableDisk
from infra.host_processes import HostProcesses
from infra.kafka_node import KafkaNode
from infra.request_proxy import RequestProxy


@dataclass(frozen=True)
class Fault:
    """One applied fault: enough to describe it in the history and to undo it."""

    nemesis: str
    targets: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def took_effect(self) -> bool:
        """Whether the fault did anything: it hit a target, and did not report that it changed nothing there
        (a power loss whose disks had nothing un-fsynced to drop)."""
        return bool(self.targets) and not self.details.get("no_effect")

    def summary(self) -> str:
        """A short human description: what was isolated, or which nodes were hit."""
        if "components" in self.details:
            sides = " | ".join(", ".join(side) for side in self.details["components"])
            return f"isolated {self.details['isolated']}: {sides}" if "isolated" in self.details else sides
        if "bytes_dropped" in self.details:
            return (f"on {', '.join(self.targets)}: {self.details['bytes_dropped']} bytes and "
                    f"{self.details['files_lost']} files dropped" + (" (nothing to drop)" if not self.took_effect
                                                                      else ""))
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
    disks: Mapping[str, DurableDisk] = field(default_factory=dict)  # broker -> its durable filesystem, if mounted
    requests: RequestProxy | None = None  # the request proxy between clients and brokers, when it is in the path
    share_group: str = ""  # the workload's share group (KIP-932), if it has one


@dataclass(frozen=True)
class Requirements:
    """What a nemesis needs of the run, declared on the nemesis so the runner asks it instead of matching names.

    The topology counts are what it takes to cut or hit anything at all: a run whose topology lacks them would
    inject no fault and could come out VALID having tested nothing, so it is refused before it starts."""

    dcs: int = 1
    nodes: int = 1  # every node of the topology: brokers, controllers or ZooKeeper servers, mirrors
    quorum: int = 1  # KRaft controllers or ZooKeeper servers
    why: str = ""  # what the nemesis would do without them
    dc: str | None = None  # the DC it is named after (outage-<dc>) must be in the topology
    clock_control: bool = False  # every JVM started under libfaketime (containers, or SSH nodes the harness manages)
    durable_fs: bool = False  # every broker's data dir on the durable filesystem (containers only)
    request_proxy: bool = False  # the clients reach the brokers through the request proxy (containers only)
    dynamic_quorum: bool = False  # a KIP-853 quorum (kraft_voters = "dynamic") whose voters can change
    spare_controllers: int = 0  # controllers outside the initial voters, for add-controller to promote

    def unmet(self, topology: Topology) -> str | None:
        """None if `topology` has what is needed, else one sentence saying what it lacks."""
        if self.dc is not None and self.dc not in topology.dc_names():
            return f"no DC named {self.dc!r} in topology {topology.name!r} (DCs are {', '.join(topology.dc_names())})"
        if self.dynamic_quorum and not topology.dynamic_quorum:
            return (f"needs a dynamic KRaft quorum (kraft_voters = \"dynamic\"), topology {topology.name!r} has a "
                    "static one (controller.quorum.voters), whose voters cannot change")
        spares = sum(1 for c in topology.controllers if c.spare)
        if spares < self.spare_controllers:
            return (f"needs at least {self.spare_controllers} spare controller (`spare_controllers` in a DC), "
                    f"topology {topology.name!r} has {spares}")
        for count, have, what in ((self.dcs, len(topology.dcs), "DCs"), (self.nodes, len(topology.nodes), "nodes"),
                                  (self.quorum, len(topology.quorum), "controllers (or ZooKeeper servers)")):
            if have < count:
                return f"needs at least {count} {what}, topology {topology.name!r} has {have}" + (
                    f": {self.why}" if self.why else "")
        return None


NO_REQUIREMENTS = Requirements()


@runtime_checkable
class EffectOnStop(Protocol):
    """A nemesis whose fault may turn out to have done nothing, known only when it stops (a request hold that met
    no such request). Its `stop` returns what the fault did, with a boolean `effective`; the schedule counts the
    fault as injected only if that is true: a fault that did nothing must never let the run read as VALID."""

    counts_at_stop: bool


class Nemesis(Protocol):
    name: str
    description: str
    requires: Requirements

    def start(self, ctx: NemesisContext) -> Fault:
        """Apply the fault; raise on failure (the caller heals and records the error)."""
        ...

    def stop(self, ctx: NemesisContext, fault: Fault) -> object:
        """Undo `fault`. It may return a dict of what the fault did while it was on, for the stop event."""
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

"""Power loss: nodes lose power at one instant. Their JVMs die (SIGKILL) and every broker's disk loses what it
had not made durable (infra/durable_fs: bytes written since the last fsync, names since the directory's last
fsync); heal powers them on and starts them with what survived.

The instant is the disks' power cut: first every victim's disk stops accepting changes and fsyncs (fsyncs fail, so
nothing becomes durable after it), then the JVMs are killed, then each disk drops its un-durable state and
reports how much. Controllers (and ZooKeeper servers) are killed with the rest but keep their disks: their data
dirs are not on the filesystem (KRaft fsyncs its metadata log, so this is close to what they would keep).

Needs the durable filesystem (Requirements.durable_fs: the runner mounts it under every broker when one of
these is chosen); refused over SSH, where a power loss would be the operator's own machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from core.errors import HarnessError
from nemesis import targets
from nemesis.base import Fault, NemesisContext, Requirements

Chooser = Callable[[NemesisContext], list[str]]
T = TypeVar("T")

REQUIRES = Requirements(durable_fs=True)


def _all(ctx: NemesisContext) -> list[str]:
    return [n.name for n in ctx.topology.nodes]


def _each(names: Iterable[str], action: Callable[[str], T]) -> dict[str, T]:
    """`action` on every name at once (one thread each): the nodes of a DC lose power together."""
    names = list(names)
    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return dict(zip(names, pool.map(action, names), strict=True))


class PowerLoss:
    requires = REQUIRES

    def __init__(self, name: str, choose: Chooser, about: str) -> None:
        self.name = name
        self.description = (f"power loss of {about}: SIGKILL, and each broker's disk drops what it had not "
                            "fsynced (infra/durable_fs); heal powers them on and starts them")
        self._choose = choose

    def start(self, ctx: NemesisContext) -> Fault:
        if not ctx.disks:
            raise HarnessError(f"{self.name}: the brokers' data dirs are not on the durable filesystem",
                               hint="the runner mounts it when a power-loss nemesis is chosen, or with --durable-fs")
        victims = self._choose(ctx)
        disks = [v for v in victims if v in ctx.disks]
        _each(disks, lambda v: ctx.disks[v].cut())  # the instant: nothing becomes durable after it
        _each(victims, lambda v: ctx.nodes[v].kill())
        losses = _each(disks, lambda v: ctx.disks[v].lose())
        details: dict[str, Any] = {
            "signal": "KILL", "power_loss": True, "losses": losses,
            "bytes_dropped": sum(loss["bytes_dropped"] for loss in losses.values()),
            "files_lost": sum(loss["files_lost"] for loss in losses.values()),
        }
        if not any(loss["bytes_dropped"] or loss["files_reverted"] or loss["files_lost"] or loss["entries_reverted"]
                   for loss in losses.values()):
            details["no_effect"] = "no disk had anything un-fsynced to drop"
        return Fault(self.name, tuple(victims), details)

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for victim in fault.targets:
            if victim in ctx.disks:
                ctx.disks[victim].power_on()
        _each(fault.targets, lambda v: ctx.nodes[v].start())

    def heal_all(self, ctx: NemesisContext) -> None:
        for disk in ctx.disks.values():
            disk.power_on()
        _each([n for n, node in ctx.nodes.items() if node.status() == "stopped"], lambda n: ctx.nodes[n].start())


NEMESES = {
    "power-loss": lambda: PowerLoss("power-loss", targets.random_broker, "one random broker"),
    "power-loss-dc": lambda: PowerLoss("power-loss-dc", targets.random_dc,
                                       "every node of one random DC at one instant"),
    "power-loss-all": lambda: PowerLoss("power-loss-all", _all, "every node at one instant"),
    "power-loss-p0-majority-dc": lambda: PowerLoss(
        "power-loss-p0-majority-dc", targets.dc_holding_most_of_partition_zero,
        "every node of the DC holding most replicas of partition 0"),
}

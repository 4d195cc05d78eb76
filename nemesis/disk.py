"""Disk faults on one broker's log dir, through the durable filesystem under it (infra/durable_fs): `disk-full`
(ENOSPC on every write and create), `disk-eio` (EIO on every change and fsync), `disk-eio-read` (EIO on every
read), `disk-slow` (200 ms more on every change and fsync). Heal turns the fault off and starts the broker again
if the fault had stopped it; the stop event in the history says how many operations it failed or delayed
(`hits`: 0 means the broker never touched its disk while the fault was on) and which brokers it restarted.
Refused over SSH, like the power-loss nemeses (Requirements.durable_fs)."""

from __future__ import annotations

from typing import Any

from core.errors import HarnessError
from nemesis import targets
from nemesis.base import Fault, NemesisContext, Requirements

SLOW_MS = 200.0
KINDS = {
    "disk-full": ("full", "ENOSPC on every write and create in one random broker's log dir (a full disk)"),
    "disk-eio": ("eio-write", "EIO on every write, create, rename and fsync in one random broker's log dir"),
    "disk-eio-read": ("eio-read", "EIO on every read in one random broker's log dir"),
    "disk-slow": ("slow", f"{SLOW_MS:g} ms more on every write and fsync in one random broker's log dir"),
}


class DiskFault:
    requires = Requirements(durable_fs=True)

    def __init__(self, name: str) -> None:
        self.name = name
        self._kind, about = KINDS[name]
        self.description = f"{about}; heal turns it off (needs the durable filesystem)"

    def start(self, ctx: NemesisContext) -> Fault:
        if not ctx.disks:
            raise HarnessError(f"{self.name}: the brokers' data dirs are not on the durable filesystem",
                               hint="the runner mounts it when a disk nemesis is chosen, or with --durable-fs")
        victim = targets.random_broker(ctx)[0]
        ctx.disks[victim].fault(self._kind, SLOW_MS if self._kind == "slow" else 0.0)
        return Fault(self.name, (victim,), {"disk_fault": self._kind})

    def stop(self, ctx: NemesisContext, fault: Fault) -> dict[str, Any]:
        hits = {victim: ctx.disks[victim].clear() for victim in fault.targets}
        # A broker whose only log dir failed halts (Kafka stops a broker with no log dir left): heal brings the
        # service back, and the report says the fault had taken the broker down.
        stopped = [victim for victim in fault.targets if ctx.nodes[victim].status() == "stopped"]
        for victim in stopped:
            ctx.nodes[victim].start()
        return {"hits": hits, "restarted": stopped}

    def heal_all(self, ctx: NemesisContext) -> None:
        for disk in ctx.disks.values():
            disk.clear()


NEMESES = {name: (lambda n=name: DiskFault(n)) for name in KINDS}

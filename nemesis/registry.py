"""Nemeses by name, as users pick them on the command line.

Each fault-family module exposes NEMESES: {name: factory}; add a module to _MODULES to register its nemeses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from core.errors import HarnessError, unknown_name
from core.topology import Topology
from nemesis import outage
from nemesis.base import NEEDS_NOTHING, Nemesis

_MODULES = ("nemesis.partition", "nemesis.process", "nemesis.clock", "nemesis.wan")
NONE = "none"


def _factories() -> dict[str, Callable[[], Nemesis]]:
    factories: dict[str, Callable[[], Nemesis]] = {}
    for module in _MODULES:
        factories.update(importlib.import_module(module).NEMESES)
    return factories


def names() -> list[str]:
    return [NONE, *sorted(_factories())]


def describe() -> list[tuple[str, str]]:
    factories = _factories()
    return ([(NONE, "no faults: a baseline run")] + [(n, factories[n]().description) for n in sorted(factories)]
            + [("outage-<dc>", "a whole DC cut off from the other DCs and from the clients (a DR drill's outage)"),
               ("disaster-<dc>", "outage-<dc>, and the DC's brokers destroyed (disks wiped), MirrorMaker 2 stopped")])


def parse(spec: str) -> list[Nemesis]:
    """`partition-dc,kill` -> nemeses; `none` -> []; an unknown name is a user error."""
    factories = _factories()
    chosen: list[Nemesis] = []
    for raw in spec.split(","):
        name = raw.strip()
        if name == NONE:
            continue
        if any(n.name == name for n in chosen):
            continue
        per_dc = outage.parse(name)  # outage-<dc>, disaster-<dc>: named after the DC they hit
        if per_dc is not None:
            chosen.append(per_dc)
            continue
        if name not in factories:
            raise unknown_name("nemesis", name, names(), "`harness nemeses` lists them all with what they do")
        chosen.append(factories[name]())
    return chosen


def refuse_unmet(nemeses: list[Nemesis], topology: Topology) -> None:
    """Refuse, before anything starts, a nemesis the topology gives nothing to act on (Needs)."""
    for nemesis in nemeses:
        unmet = getattr(nemesis, "needs", NEEDS_NOTHING).unmet(topology)
        if unmet is not None:
            raise HarnessError(f"nemesis {nemesis.name} {unmet}, so the run would inject no fault",
                               hint="pick a larger topology (--dcs, --brokers-per-dc, --controllers) or another "
                                    "nemesis")

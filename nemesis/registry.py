"""Nemeses by name, as users pick them on the command line.

Each fault-family module exposes NEMESES ({name: factory}) and may expose FAMILIES (NamedFamily: nemeses named
after a parameter, such as `outage-<dc>`); add a module to _MODULES to register its nemeses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

from core.errors import HarnessError, unknown_name
from core.topology import Topology
from nemesis.base import NamedFamily, Nemesis

_MODULES = ("nemesis.partition", "nemesis.process", "nemesis.clock", "nemesis.wan", "nemesis.outage",
            "nemesis.power", "nemesis.disk", "nemesis.corruption", "nemesis.requests", "nemesis.quorum")
NONE = "none"


def _modules() -> list[ModuleType]:
    return [importlib.import_module(module) for module in _MODULES]


def _factories() -> dict[str, Callable[[], Nemesis]]:
    factories: dict[str, Callable[[], Nemesis]] = {}
    for module in _modules():
        factories.update(module.NEMESES)
    return factories


def _families() -> list[NamedFamily]:
    return [family for module in _modules() for family in getattr(module, "FAMILIES", ())]


def names() -> list[str]:
    return [NONE, *sorted(_factories())]


def describe() -> list[tuple[str, str]]:
    factories = _factories()
    return ([(NONE, "no faults: a baseline run")] + [(n, factories[n]().description) for n in sorted(factories)]
            + [(family.pattern, family.description) for family in _families()])


def parse(spec: str) -> list[Nemesis]:
    """`partition-dc,kill` -> nemeses; `none` -> []; an unknown name is a user error."""
    factories = _factories()
    families = _families()
    chosen: list[Nemesis] = []
    for raw in spec.split(","):
        name = raw.strip()
        if name == NONE or any(n.name == name for n in chosen):
            continue
        if name in factories:
            chosen.append(factories[name]())
            continue
        named = next((nemesis for family in families if (nemesis := family.parse(name)) is not None), None)
        if named is None:
            raise unknown_name("nemesis", name, names(), "`harness nemeses` lists them all with what they do")
        chosen.append(named)
    return chosen


def refuse_unmet(nemeses: list[Nemesis], topology: Topology) -> None:
    """Refuse, before anything starts, a nemesis the topology gives nothing to act on (its Requirements)."""
    for nemesis in nemeses:
        unmet = nemesis.requires.unmet(topology)
        if unmet is not None:
            quorum = nemesis.requires.dynamic_quorum
            raise HarnessError(f"nemesis {nemesis.name} {unmet}, so the run would inject no fault",
                               hint="use --topology dynamic-quorum (or a topology file with kraft_voters = "
                                    "\"dynamic\" and spare_controllers) or another nemesis" if quorum else
                                    "pick a larger topology (--dcs, --brokers-per-dc, --controllers) or another "
                                    "nemesis")

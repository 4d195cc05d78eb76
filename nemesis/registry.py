"""Nemeses by name, as users pick them on the command line."""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import HarnessError
from nemesis.base import Nemesis
from nemesis.partition import partition_dc, partition_halves, partition_node
from nemesis.process import KillNemesis

_FACTORIES: dict[str, Callable[[], Nemesis]] = {
    "kill": KillNemesis,
    "partition-dc": partition_dc,
    "partition-node": partition_node,
    "partition-halves": partition_halves,
}
NONE = "none"


def names() -> list[str]:
    return [NONE, *sorted(_FACTORIES)]


def describe() -> list[tuple[str, str]]:
    return [(NONE, "no faults: a baseline run")] + [(n, _FACTORIES[n]().description) for n in sorted(_FACTORIES)]


def parse(spec: str) -> list[Nemesis]:
    """`partition-dc,kill` -> nemeses; `none` -> []; an unknown name is a user error."""
    chosen: list[Nemesis] = []
    for raw in spec.split(","):
        name = raw.strip()
        if name == NONE:
            continue
        if name not in _FACTORIES:
            raise HarnessError(f"unknown nemesis {name!r}", hint="known: " + ", ".join(names()))
        if any(n.name == name for n in chosen):
            continue
        chosen.append(_FACTORIES[name]())
    return chosen

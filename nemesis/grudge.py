"""Network partitions as data: a grudge maps each node to the nodes whose packets it drops.

Pure functions, no I/O: the applier in nemesis/partition.py turns a grudge into iptables rules.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

from harness.topology import Topology

Grudge = Mapping[str, frozenset[str]]


def complete(components: Iterable[Iterable[str]]) -> dict[str, frozenset[str]]:
    """Every node drops traffic from every node outside its own component (a clean, symmetric cut)."""
    groups = [frozenset(c) for c in components]
    everyone = frozenset().union(*groups) if groups else frozenset()
    return {node: everyone - group for group in groups for node in group}


def isolate_one(nodes: Sequence[str], victim: str) -> dict[str, frozenset[str]]:
    return complete([[victim], [n for n in nodes if n != victim]])


def isolate_dc(topology: Topology, dc: str) -> dict[str, frozenset[str]]:
    """Cut one whole DC (its brokers and controllers) off from every other DC, in both directions."""
    inside = [n.name for n in topology.nodes if n.dc == dc]
    outside = [n.name for n in topology.nodes if n.dc != dc]
    return complete([inside, outside])


def halves(nodes: Sequence[str], rng: random.Random) -> dict[str, frozenset[str]]:
    """A random split into two halves, the smaller one first."""
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    cut = len(shuffled) // 2
    return complete([shuffled[:cut], shuffled[cut:]])


def edges(grudge: Grudge) -> list[tuple[str, str]]:
    """(node, peer it drops) pairs, sorted: a stable description for the history."""
    return sorted((node, peer) for node, peers in grudge.items() for peer in peers)


def components(grudge: Grudge) -> list[list[str]]:
    """The sides of a clean cut, for people reading the history ("who was cut from whom")."""
    sides: dict[frozenset[str], list[str]] = {}
    for node, peers in sorted(grudge.items()):
        sides.setdefault(frozenset(peers), []).append(node)
    return sorted(sides.values())

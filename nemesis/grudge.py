"""Network partitions as data: a grudge maps each node to the nodes whose packets it drops.

Pure functions, no I/O: the applier in nemesis/partition.py turns a grudge into iptables rules.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

from core.topology import Topology

Grudge = Mapping[str, frozenset[str]]


def complete(components: Iterable[Iterable[str]]) -> dict[str, frozenset[str]]:
    """Every node drops traffic from every node outside its own component (a clean, symmetric cut)."""
    groups = [frozenset(c) for c in components]
    everyone = frozenset().union(*groups) if groups else frozenset()
    return {node: everyone - group for group in groups for node in group}


def isolate_one(nodes: Sequence[str], victim: str) -> dict[str, frozenset[str]]:
    return complete([[victim], [n for n in nodes if n != victim]])


def sever(node: str, peers: Iterable[str]) -> dict[str, frozenset[str]]:
    """Cut one node off from some peers only (both ways); every other link stays up."""
    cut = frozenset(peers) - {node}
    return {node: cut, **{peer: frozenset({node}) for peer in cut}}


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


def bridge(nodes: Sequence[str], rng: random.Random) -> dict[str, frozenset[str]]:
    """Two halves that cannot talk, plus one node in the middle that talks to both."""
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    middle, rest = shuffled[0], shuffled[1:]
    cut = len(rest) // 2
    left, right = frozenset(rest[:cut]), frozenset(rest[cut:])
    grudge = {n: right for n in left} | {n: left for n in right}
    grudge[middle] = frozenset()
    return grudge


def majorities_ring(nodes: Sequence[str], rng: random.Random) -> dict[str, frozenset[str]]:
    """Each node sees a majority (itself and its nearest neighbours on a shuffled ring), but neighbours see
    different majorities: every node believes it is in the majority partition.

    Visibility is a window of the same radius on both sides, so every cut link is cut both ways. With 3 nodes
    or fewer every window covers the whole ring and nothing is cut; with 4 each node loses only the node
    opposite it (tests/nemesis/test_needs.py pins both).
    """
    ring = list(nodes)
    rng.shuffle(ring)
    n = len(ring)
    radius = (n // 2 + 1) // 2  # 2 * radius + 1 >= n // 2 + 1: a majority, counting the node itself
    grudge: dict[str, frozenset[str]] = {}
    for i, node in enumerate(ring):
        visible = {ring[(i + k) % n] for k in range(-radius, radius + 1)}
        grudge[node] = frozenset(ring) - visible
    return grudge

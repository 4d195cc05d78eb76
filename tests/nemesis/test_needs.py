"""What a nemesis needs from a topology (nemesis.base.Requirements): below it the fault cuts nothing, at it it does."""

from __future__ import annotations

import random

import pytest

from core.errors import HarnessError
from core.topology import uniform
from nemesis import registry
from nemesis.grudge import bridge, halves, isolate_dc, majorities_ring


def cut(grudge) -> int:
    return sum(len(peers) for peers in grudge.values())


def nodes(n: int) -> list[str]:
    return [f"n{i}" for i in range(n)]


@pytest.mark.parametrize("name, grudge_of", [
    ("partition-majorities-ring", lambda ns: majorities_ring(ns, random.Random(1))),
    ("bridge", lambda ns: bridge(ns, random.Random(1))),
    ("partition-halves", lambda ns: halves(ns, random.Random(1))),
])
def test_the_declared_minimum_is_where_the_grudge_starts_to_cut(name, grudge_of) -> None:
    (nemesis,) = registry.parse(name)
    least = nemesis.requires.nodes
    assert cut(grudge_of(nodes(least))) > 0
    assert all(cut(grudge_of(nodes(n))) == 0 for n in range(1, least))


def test_partition_dc_needs_a_second_dc_to_cut_anything() -> None:
    one, two = uniform(1, 3, 3), uniform(2, 1, 3)
    assert cut(isolate_dc(one, "dc1")) == 0 and cut(isolate_dc(two, "dc1")) > 0
    (nemesis,) = registry.parse("partition-dc")
    assert nemesis.requires.unmet(two) is None
    assert nemesis.requires.unmet(one) == ("needs at least 2 DCs, topology 'stretch-1dc' has 1: with one DC there "
                                           "is no other DC to cut it off from")


@pytest.mark.parametrize("spec, topology", [
    ("kill,partition-dc", uniform(1, 3, 3)),
    ("slow-dc", uniform(1, 3, 3)),
    ("flaky-dc", uniform(1, 1, 1)),
    ("partition-majorities-ring", uniform(2, 1, 1)),
    ("partition-controller-quorum", uniform(3, 1, 1)),
    ("bridge", uniform(1, 1, 1)),
])
def test_refuse_unmet_names_the_nemesis_and_says_no_fault_would_happen(spec, topology) -> None:
    with pytest.raises(HarnessError, match=r"^nemesis \S+ needs at least .* so the run would inject no fault"):
        registry.refuse_unmet(registry.parse(spec), topology)


def test_nemeses_that_need_nothing_special_pass_on_the_smallest_topology() -> None:
    smallest = uniform(1, 1, 1)
    registry.refuse_unmet(registry.parse("kill,pause,restart,kill-controller,clock-bump,partition-leader,"
                                         "partition-node,outage-dc1"), smallest)

import random

from hypothesis import given
from hypothesis import strategies as st

from core import topology
from nemesis import grudge


def test_isolate_dc_cuts_the_dc_from_everyone_else_both_ways():
    t = topology.default_topology()
    g = grudge.isolate_dc(t, "dc2")
    assert g["dc2-broker1"] == {"dc1-broker1", "dc1-controller1", "dc3-broker1", "dc3-controller1"}
    assert g["dc1-broker1"] == {"dc2-broker1", "dc2-controller1"}
    assert "dc1-controller1" not in g["dc1-broker1"]  # nodes inside one side still talk
    assert grudge.components(g) == [["dc1-broker1", "dc1-controller1", "dc3-broker1", "dc3-controller1"],
                                    ["dc2-broker1", "dc2-controller1"]]


def test_isolate_one_node():
    g = grudge.isolate_one(["a", "b", "c"], "b")
    assert g == {"b": {"a", "c"}, "a": {"b"}, "c": {"b"}}


@given(st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=3), min_size=2, max_size=9, unique=True),
       st.integers(0, 1000))
def test_halves_are_symmetric_disjoint_and_cover_everyone(nodes, seed):
    g = grudge.halves(nodes, random.Random(seed))
    assert set(g) == set(nodes)
    for node, peers in g.items():
        assert node not in peers
        for peer in peers:
            assert node in g[peer]  # symmetric: a cut both ways
    sides = grudge.components(g)
    assert sorted(len(s) for s in sides) == sorted([len(nodes) // 2, len(nodes) - len(nodes) // 2])


def test_edges_are_stable_and_sorted():
    g = grudge.complete([["b", "a"], ["c"]])
    assert grudge.edges(g) == [("a", "c"), ("b", "c"), ("c", "a"), ("c", "b")]

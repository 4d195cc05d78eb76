"""A dynamic KRaft quorum (KIP-853) in the topology: spare controllers, how every node finds the quorum, and how
each controller is formatted; the mistakes refused before anything starts."""

from __future__ import annotations

import pytest

from core import kafka_versions
from core.errors import HarnessError
from core.topology import from_dict
from infra import kafka_config

DYNAMIC = {"kraft_voters": "dynamic", "dc": [{"name": "dc1", "spare_controllers": 1}, {"name": "dc2"}, {"name": "dc3"}]}


def addresses(topology):  # type: ignore[no-untyped-def]
    return {n.name: f"10.0.0.{i + 1}" for i, n in enumerate(topology.nodes)}


def test_spare_controllers_are_numbered_after_the_voters_of_their_dc() -> None:
    t = from_dict(DYNAMIC)
    assert [(n.name, n.node_id, n.spare) for n in t.controllers] == [
        ("dc1-controller1", 101, False), ("dc1-controller2", 102, True),
        ("dc2-controller1", 103, False), ("dc3-controller1", 104, False)]
    assert [n.name for n in t.initial_voters] == ["dc1-controller1", "dc2-controller1", "dc3-controller1"]
    assert t.dynamic_quorum and t.to_json()["kraft_voters"] == "dynamic"


def test_a_dynamic_quorum_names_only_where_to_ask_and_formats_its_initial_voters() -> None:
    t = from_dict(DYNAMIC)
    where = addresses(t)
    broker = kafka_config.broker_properties(t, t.node("dc2-broker1"), where)
    assert "controller.quorum.voters" not in broker
    voters = [where[n] for n in ("dc1-controller1", "dc2-controller1", "dc3-controller1")]
    assert broker["controller.quorum.bootstrap.servers"] == ",".join(f"{a}:9093" for a in voters)
    ids = {n.name: f"dir{n.node_id}" for n in t.initial_voters}
    voter = kafka_config.format_arguments(t, t.node("dc2-controller1"), where, ids)
    assert voter == "--initial-controllers " + ",".join(
        f"{n.node_id}@{where[n.name]}:9093:dir{n.node_id}" for n in t.initial_voters)
    assert kafka_config.format_arguments(t, t.node("dc1-controller2"), where, ids) == "--no-initial-controllers"
    assert kafka_config.format_arguments(t, t.node("dc1-broker1"), where, ids) == ""


def test_a_static_quorum_is_as_before() -> None:
    t = from_dict({"dc": [{"name": "dc1"}, {"name": "dc2"}, {"name": "dc3"}]})
    props = kafka_config.controller_properties(t, t.node("dc1-controller1"), addresses(t))
    assert "controller.quorum.bootstrap.servers" not in props and "controller.quorum.voters" in props
    assert kafka_config.format_arguments(t, t.node("dc1-controller1"), addresses(t), {}) == ""


@pytest.mark.parametrize("raw, message", [
    ({"kraft_voters": "elastic", "dc": [{"name": "dc1"}]}, "kraft_voters must be one of static, dynamic"),
    ({"dc": [{"name": "dc1", "spare_controllers": 1}]}, "spare_controllers, which need kraft_voters"),
    ({"kraft_voters": "dynamic", "mode": "zookeeper", "dc": [{"name": "dc1"}]}, "needs mode = \"kraft\""),
    # The spare is not a voter: the initial quorum must still be 1, 3 or 5.
    ({"kraft_voters": "dynamic", "dc": [{"name": "dc1", "controllers": 2, "spare_controllers": 1}]},
     "has 2 controllers"),
])
def test_mistakes_are_refused_in_one_line(raw: dict[str, object], message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        from_dict(raw)


def test_a_release_without_a_dynamic_quorum_is_refused() -> None:
    kafka_versions.check_mode("3.9.1", "kraft", "dynamic")
    kafka_versions.check_mode("4.3.1", "kraft", "dynamic")
    with pytest.raises(HarnessError, match="no dynamic KRaft quorum"):
        kafka_versions.check_mode("3.8.1", "kraft", "dynamic")
    kafka_versions.check_mode("3.8.1", "kraft", "static")

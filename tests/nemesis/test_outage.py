"""A DR drill's DC outage: the DC cut from the other DCs and from the clients; a disaster also destroys it."""

import random

import pytest

from core import topology
from infra.control.fake import FakeRemote
from infra.kafka_node import KafkaNode
from nemesis import registry
from nemesis.base import NemesisContext
from nemesis.outage import DcOutage, gateway
from nemesis.partition import CHAIN


def context():
    t = topology.default_topology()
    remotes = {n.name: FakeRemote(n.name) for n in t.nodes}
    nodes = {n.name: KafkaNode(n, remotes[n.name]) for n in t.nodes}
    addresses = {n.name: f"172.30.9.{10 + i}" for i, n in enumerate(t.nodes)}
    return NemesisContext(t, nodes, addresses, random.Random(1)), remotes, addresses


def test_an_outage_cuts_the_dc_from_the_other_dcs_and_from_the_host_clients():
    ctx, remotes, addresses = context()
    fault = DcOutage("dc1", destroy=False).start(ctx)
    assert sorted(fault.targets) == ["dc1-broker1", "dc1-controller1"]
    for node in fault.targets:
        rules = " ".join(remotes[node].commands)
        assert f"-A {CHAIN} -s 172.30.9.1 -j DROP" in rules  # the host's clients
        assert all(f"-s {addresses[p]} -j DROP" in rules for p in addresses if not p.startswith("dc1"))
        assert "kill" not in rules and "wipe" not in rules
    assert all("172.30.9.1 " not in " ".join(remotes[n].commands) for n in remotes if not n.startswith("dc1"))


def test_healing_an_outage_flushes_the_chain_on_both_sides_of_the_cut():
    ctx, remotes, _ = context()
    outage = DcOutage("dc2", destroy=False)
    fault = outage.start(ctx)
    for r in remotes.values():
        r.commands.clear()
    outage.stop(ctx, fault)
    assert all(any(f"-F {CHAIN}" in c for c in remotes[n].commands) for n in remotes)  # dc1, dc3 dropped dc2 too


def test_a_disaster_also_kills_and_wipes_the_dcs_brokers_but_not_its_controllers():
    ctx, remotes, _ = context()
    DcOutage("dc3", destroy=True).start(ctx)
    broker, controller = " ".join(remotes["dc3-broker1"].commands), " ".join(remotes["dc3-controller1"].commands)
    assert "kafka-node kill" in broker and "kafka-node wipe" in broker
    assert "kill" not in controller and "wipe" not in controller


def test_per_dc_names_parse_and_are_listed():
    [outage, disaster] = registry.parse("outage-dc1,disaster-dc2")
    assert (outage.name, outage.destroy, disaster.name, disaster.destroy) == ("outage-dc1", False, "disaster-dc2", True)
    assert {"outage-<dc>", "disaster-<dc>"} <= {name for name, _ in registry.describe()}


@pytest.mark.parametrize(("address", "expected"), [("172.30.9.14", "172.30.9.1"), ("10.0.3.200", "10.0.3.1")])
def test_the_gateway_is_the_first_address_of_the_nodes_slash_24(address, expected):
    assert gateway(address) == expected


def test_every_registered_nemesis_declares_what_it_requires() -> None:
    # The runner asks `requires` (clock control, the DC it is named after), never the name.
    from nemesis import registry
    from nemesis.base import Requirements

    chosen = registry.parse(",".join(n for n in registry.names() if n != "none") + ",outage-dc1,disaster-dc2")
    assert all(isinstance(n.requires, Requirements) for n in chosen)
    assert {n.name for n in chosen if n.requires.clock_control} == {
        "clock-skew", "clock-bump", "clock-strobe", "clock-forward-brokers"}
    assert {n.name: n.requires.dc for n in chosen if n.requires.dc} == {"outage-dc1": "dc1", "disaster-dc2": "dc2"}


def test_the_outage_families_are_listed_by_the_registry() -> None:
    from nemesis import registry

    assert {"outage-<dc>", "disaster-<dc>"} <= {name for name, _ in registry.describe()}

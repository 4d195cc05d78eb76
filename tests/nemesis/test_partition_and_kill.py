import random

import pytest

from core import topology
from core.errors import HarnessError
from infra.control.base import ExecResult
from infra.control.fake import FakeRemote
from infra.kafka_node import KafkaNode
from nemesis import registry
from nemesis.base import NemesisContext
from nemesis.partition import CHAIN, partition_dc
from nemesis.process import NEMESES


def context(respond=None, seed=3):
    t = topology.default_topology()
    remotes = {n.name: FakeRemote(n.name, respond) for n in t.nodes}
    nodes = {n.name: KafkaNode(n, remotes[n.name]) for n in t.nodes}
    addresses = {n.name: f"172.30.9.{10 + i}" for i, n in enumerate(t.nodes)}
    return NemesisContext(t, nodes, addresses, random.Random(seed)), remotes, addresses


def test_partition_dc_drops_inbound_traffic_from_the_other_side_only():
    ctx, remotes, addresses = context()
    fault = partition_dc().start(ctx)
    isolated = fault.details["isolated"]
    inside = [n for n in remotes if n.startswith(isolated)]
    outside = [n for n in remotes if not n.startswith(isolated)]
    for node in inside:
        rules = " ".join(remotes[node].commands)
        for peer in outside:
            assert f"-s {addresses[peer]} -j DROP" in rules
        for peer in inside:
            assert f"-s {addresses[peer]} -j DROP" not in rules
    for node in outside:
        rules = " ".join(remotes[node].commands)
        assert all(f"-s {addresses[p]} -j DROP" in rules for p in inside)


def test_partition_heal_flushes_our_chain_on_every_target():
    ctx, remotes, _ = context()
    nemesis = partition_dc()
    fault = nemesis.start(ctx)
    for r in remotes.values():
        r.commands.clear()
    nemesis.stop(ctx, fault)
    for node in fault.targets:
        assert remotes[node].commands == [f"iptables -w -F {CHAIN} 2>/dev/null || true"]


def test_partition_that_fails_half_way_heals_what_it_applied():
    def respond(command):
        return ExecResult(1, "", "iptables: not found") if "-s 172.30.9.12" in command else None

    ctx, remotes, _ = context(respond)
    with pytest.raises(Exception, match="iptables: not found"):
        partition_dc().start(ctx)
    assert any(f"-F {CHAIN}" in c for r in remotes.values() for c in r.commands)


def test_same_seed_same_victims():
    picks = []
    for _ in range(2):
        ctx, _, _ = context(seed=42)
        picks.append([partition_dc().start(ctx).details["isolated"] for _ in range(5)])
    assert picks[0] == picks[1]


def test_kill_signals_one_broker_and_heal_starts_it_again():
    ctx, remotes, _ = context()
    nemesis = NEMESES["kill"]()
    fault = nemesis.start(ctx)
    (victim,) = fault.targets
    assert victim.endswith("broker1")
    assert remotes[victim].commands == ["/opt/harness/kafka-node kill"]
    nemesis.stop(ctx, fault)
    assert remotes[victim].commands[-1] == "/opt/harness/kafka-node start"


def test_pause_sends_stop_and_heal_resumes_only_the_paused_node():
    ctx, remotes, _ = context()
    nemesis = NEMESES["pause"]()
    (victim,) = nemesis.start(ctx).targets
    assert remotes[victim].commands == ["/opt/harness/kafka-node pause"]
    for name, remote in remotes.items():
        remote.commands.clear()
        state = "paused" if name == victim else "running"
        remote._respond = lambda command, state=state: ExecResult(0, state, "") if command.endswith("status") else None
    nemesis.heal_all(ctx)
    resumed = [name for name, remote in remotes.items() if "/opt/harness/kafka-node resume" in remote.commands]
    assert resumed == [victim]


def test_restart_stops_gracefully_then_starts():
    ctx, remotes, _ = context()
    (victim,) = NEMESES["restart"]().start(ctx).targets
    assert remotes[victim].commands == ["/opt/harness/kafka-node stop 300", "/opt/harness/kafka-node start"]


def test_shutdown_stops_gracefully_and_stays_down_until_its_stop_starts_it():
    ctx, remotes, _ = context()
    nemesis = NEMESES["shutdown"]()
    fault = nemesis.start(ctx)
    (victim,) = fault.targets
    assert remotes[victim].commands == ["/opt/harness/kafka-node stop 300"]
    nemesis.stop(ctx, fault)
    assert remotes[victim].commands == ["/opt/harness/kafka-node stop 300", "/opt/harness/kafka-node start"]


def test_registry_rejects_an_unknown_name_with_the_nearest_known_one_not_all_of_them():
    with pytest.raises(HarnessError) as error:
        registry.parse("kill,partiton-dc")
    assert str(error.value) == ("unknown nemesis 'partiton-dc' (did you mean partition-dc? `harness nemeses` lists "
                                "them all with what they do)")
    with pytest.raises(HarnessError) as error:
        registry.parse("partition-dc,explode")  # nothing close: where the list is, not the list
    assert str(error.value) == "unknown nemesis 'explode' (`harness nemeses` lists them all with what they do)"


def test_registry_none_means_no_faults_and_duplicates_collapse():
    assert registry.parse("none") == []
    assert [n.name for n in registry.parse("kill,kill,partition-dc")] == ["kill", "partition-dc"]

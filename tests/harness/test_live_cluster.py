"""LiveCluster.fault: a registry nemesis through a NemesisContext, recorded like a run's, healed however the block
ends. On FakeRemote nodes: the commands are recorded, nothing runs."""

from __future__ import annotations

import re
from types import SimpleNamespace

import orjson
import pytest

from core import topology
from core.errors import HarnessError
from harness.api import check
from harness.live_cluster import LiveCluster
from infra.control.fake import FakeRemote
from infra.host_processes import HostProcesses
from infra.kafka_node import KafkaNode
from nemesis.partition import CHAIN


def live(clock_control=False):
    t = topology.default_topology()
    remotes = {n.name: FakeRemote(n.name) for n in t.nodes}
    cluster = SimpleNamespace(topology=t, nodes={n.name: KafkaNode(n, remotes[n.name]) for n in t.nodes},
                              addresses={n.name: f"172.30.9.{10 + i}" for i, n in enumerate(t.nodes)},
                              bootstrap_servers="", run_id="kj-unit")
    return LiveCluster(cluster, HostProcesses("kj-unit"), clock_control, seed=5, say=lambda _: None), remotes


def nemesis_events(path):
    return [(e["type"], e["f"], e["value"].get("fault")) for e in map(orjson.loads, path.read_bytes().splitlines())
            if e["process"] == "nemesis"]


def flushes(remotes):
    return sum(f"iptables -w -F {CHAIN}" in c for r in remotes.values() for c in r.commands)


def test_a_fault_is_recorded_in_the_active_history_and_healed_at_the_end_of_the_block(tmp_path) -> None:
    cluster, remotes = live()
    with cluster.recorder(tmp_path / "h.jsonl") as history:
        with cluster.fault("partition-dc") as fault:
            assert fault.nemesis == "partition-dc" and fault.targets
            assert flushes(remotes) == 0
            drops = [c for r in remotes.values() for c in r.commands if "-j DROP" in c]
            assert drops
        assert flushes(remotes) >= len(fault.targets)
        with cluster.fault("partition-node"):
            pass
    assert nemesis_events(history.path) == [
        ("invoke", "start-partition-dc", 0), ("info", "start-partition-dc", 0),
        ("invoke", "stop-partition-dc", 0), ("info", "stop-partition-dc", 0),
        ("invoke", "heal-all", None), ("info", "heal-all", None),
        ("invoke", "start-partition-node", 1), ("info", "start-partition-node", 1),  # a new id: faults don't pair
        ("invoke", "stop-partition-node", 1), ("info", "stop-partition-node", 1),
        ("invoke", "heal-all", None), ("info", "heal-all", None)]
    assert check(history).stats["faults"] == 2


def test_the_fault_heals_when_the_block_raises(tmp_path) -> None:
    cluster, remotes = live()
    with cluster.recorder(tmp_path / "h.jsonl") as history:
        with pytest.raises(RuntimeError, match="the user's code failed"):
            with cluster.fault("partition-dc"):
                raise RuntimeError("the user's code failed")
    assert flushes(remotes) > 0
    assert [f for _, f, _ in nemesis_events(history.path)][-2:] == ["heal-all", "heal-all"]


def test_without_a_history_the_fault_still_heals() -> None:
    cluster, remotes = live()
    with cluster.fault("partition-node"):
        pass
    assert flushes(remotes) > 0


def test_a_fault_that_cannot_start_raises_after_healing(tmp_path) -> None:
    cluster, remotes = live()
    with cluster.recorder(tmp_path / "h.jsonl") as history:
        with pytest.raises(HarnessError, match="fault partition-leader could not start"):
            with cluster.fault("partition-leader"):  # no topic, no servers: no leader to find
                pytest.fail("the block must not run without its fault")
    kinds = nemesis_events(history.path)
    assert kinds[:2] == [("invoke", "start-partition-leader", 0), ("info", "start-partition-leader", 0)]
    assert kinds[-1] == ("info", "heal-all", None)


@pytest.mark.parametrize("name, message", [
    ("partition-dc,kill", "fault() takes one nemesis"),
    ("explode", "unknown nemesis 'explode'"),
    ("clock-skew", "clock_control=True"),
    ("outage-dc9", "no DC named 'dc9'"),
])
def test_bad_faults_are_refused_before_anything_runs(name, message) -> None:
    cluster, remotes = live()
    with pytest.raises(HarnessError, match=re.escape(message)):
        with cluster.fault(name):
            pass
    assert not any(r.commands for r in remotes.values())

"""ZooKeeper mode: the topology, each node's rendered config, and the node environment."""

import random

import pytest

from core import topology
from core.errors import HarnessError
from harness.cli.options import resolve_topology
from infra import kafka_config
from infra.control.fake import FakeRemote
from infra.kafka_node import KafkaNode, NodeSetup
from nemesis.base import NemesisContext
from nemesis.grudge import sever
from nemesis.partition import partition_controller


def zk_topology():
    return topology.uniform(3, 1, 3, mode="zookeeper")


def addresses(t):
    return {n.name: f"10.0.0.{i + 10}" for i, n in enumerate(t.nodes)}


def test_zookeeper_mode_replaces_controllers_with_zookeeper_servers_numbered_like_controllers():
    t = zk_topology()
    assert [(z.name, z.node_id, z.role) for z in t.zookeepers] == [
        ("dc1-zookeeper1", 101, "zookeeper"), ("dc2-zookeeper1", 102, "zookeeper"),
        ("dc3-zookeeper1", 103, "zookeeper")]
    assert t.controllers == ()
    assert t.quorum == t.zookeepers
    assert [b.node_id for b in t.brokers] == [1, 2, 3]
    assert t.to_json()["mode"] == "zookeeper"


def test_kraft_stays_the_default_and_mode_is_a_toml_key():
    assert topology.default_topology().mode == "kraft"
    t = topology.from_dict({"mode": "zookeeper", "dc": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
    assert [n.name for n in t.quorum] == ["a-zookeeper1", "b-zookeeper1", "c-zookeeper1"]
    with pytest.raises(HarnessError, match="mode must be one of kraft, zookeeper"):
        topology.from_dict({"mode": "zk", "dc": [{"name": "a"}]})
    with pytest.raises(HarnessError, match="2 ZooKeeper servers"):
        topology.from_dict({"mode": "zookeeper", "dc": [{"name": "a"}, {"name": "b"}]})


def test_the_mode_flag_builds_a_zookeeper_topology_and_must_agree_with_a_file(tmp_path):
    assert resolve_topology(None, None, None, None, "zookeeper").mode == "zookeeper"
    assert resolve_topology(None, None, None, None, None) == topology.default_topology()
    path = tmp_path / "t.toml"
    path.write_text('[[dc]]\nname = "a"\n')
    with pytest.raises(HarnessError, match="--mode zookeeper contradicts"):
        resolve_topology(str(path), None, None, None, "zookeeper")


def test_a_zookeeper_mode_broker_connects_to_the_ensemble_and_has_no_kraft_settings():
    t = zk_topology()
    a = addresses(t)
    props = kafka_config.broker_properties(t, t.node("dc2-broker1"), a)
    assert props["broker.id"] == 2
    assert props["zookeeper.connect"] == ",".join(f"{a[z.name]}:2181" for z in t.zookeepers)
    assert props["broker.rack"] == "dc2"
    assert props["advertised.listeners"] == f"PLAINTEXT://{a['dc2-broker1']}:9092"
    for kraft_only in ("process.roles", "node.id", "controller.quorum.voters", "controller.listener.names"):
        assert kraft_only not in props


def test_zoo_cfg_lists_every_server_by_myid_and_binds_its_own_ports_on_every_address():
    t = zk_topology()
    a = addresses(t)
    me = t.node("dc2-zookeeper1")
    cfg = kafka_config.properties_for(t, me, a)
    assert cfg["clientPort"] == 2181
    assert cfg["dataDir"] == kafka_config.DATA_DIR
    assert cfg["server.101"] == f"{a['dc1-zookeeper1']}:2888:3888"
    assert cfg["server.102"] == "0.0.0.0:2888:3888"
    assert cfg["server.103"] == f"{a['dc3-zookeeper1']}:2888:3888"
    assert "srvr" in str(cfg["4lw.commands.whitelist"])
    text = kafka_config.render(cfg)
    assert "admin.enableServer=false\n" in text


def test_a_single_zookeeper_runs_standalone_and_controller_config_overrides_zoo_cfg():
    t = topology.from_dict({"mode": "zookeeper", "controller_config": {"tickTime": 500}, "dc": [{"name": "a"}]})
    cfg = kafka_config.properties_for(t, t.zookeepers[0], addresses(t))
    assert not any(key.startswith("server.") for key in cfg)
    assert cfg["tickTime"] == 500


def test_a_zookeeper_node_runs_quorum_peer_main_on_zoo_cfg_with_its_id_for_myid():
    t = zk_topology()
    remote = FakeRemote("dc1-zookeeper1")
    node = KafkaNode(t.node("dc1-zookeeper1"), remote)
    node.provision(NodeSetup("cluster", kafka_config.properties_for(t, node.node, addresses(t)), jmx_port=9999))
    env = remote.files["/opt/harness/node.env"].decode()
    assert "MAIN_CLASS=org.apache.zookeeper.server.quorum.QuorumPeerMain\n" in env
    assert "PROPERTIES=/opt/harness/zoo.cfg\n" in env
    assert "NODE_ID=101\n" in env
    assert "jmxremote.port=9999" in env and "jmxremote.host=127.0.0.1" in env
    assert "/opt/harness/zoo.cfg" in remote.files


def test_partition_controller_in_zookeeper_mode_cuts_the_controller_broker_from_zookeeper_only(monkeypatch):
    t = zk_topology()
    remotes = {n.name: FakeRemote(n.name) for n in t.nodes}
    a = addresses(t)
    ctx = NemesisContext(t, {n.name: KafkaNode(n, remotes[n.name]) for n in t.nodes}, a, random.Random(1),
                         bootstrap_servers="x:9092", topic="t")
    monkeypatch.setattr("nemesis.targets._controller_broker", lambda ctx: "dc2-broker1")
    fault = partition_controller().start(ctx)
    assert fault.details["isolated"] == "dc2-broker1"
    broker_rules = " ".join(remotes["dc2-broker1"].commands)
    for z in t.zookeepers:
        assert f"-s {a[z.name]} -j DROP" in broker_rules
        assert f"-s {a['dc2-broker1']} -j DROP" in " ".join(remotes[z.name].commands)
    for other in ("dc1-broker1", "dc3-broker1"):
        assert f"-s {a[other]} -j DROP" not in broker_rules
        assert "DROP" not in " ".join(remotes[other].commands)


def test_sever_cuts_one_node_from_some_peers_both_ways():
    assert sever("b", ["z1", "z2", "b"]) == {"b": frozenset({"z1", "z2"}), "z1": frozenset({"b"}),
                                              "z2": frozenset({"b"})}


def test_partition_controller_quorum_in_kraft_cuts_the_leader_from_the_other_voters_only(monkeypatch):
    from nemesis.partition import partition_controller_quorum

    t = topology.default_topology()
    remotes = {n.name: FakeRemote(n.name) for n in t.nodes}
    a = addresses(t)
    ctx = NemesisContext(t, {n.name: KafkaNode(n, remotes[n.name]) for n in t.nodes}, a, random.Random(1))
    monkeypatch.setattr("nemesis.targets.active_controller", lambda ctx: ["dc1-controller1"])
    fault = partition_controller_quorum().start(ctx)
    assert fault.details == {"isolated": "dc1-controller1", "from": "quorum",
                             "components": [["dc1-controller1"], ["dc2-controller1", "dc3-controller1"]]}
    rules = " ".join(remotes["dc1-controller1"].commands)
    assert all(f"-s {a[c]} -j DROP" in rules for c in ("dc2-controller1", "dc3-controller1"))
    assert not any(f"-s {a[b.name]} -j DROP" in rules for b in t.brokers)
    assert all("DROP" not in " ".join(remotes[b.name].commands) for b in t.brokers)

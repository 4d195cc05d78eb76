import pytest

from core import topology
from core.errors import HarnessError


def test_default_topology_is_three_dcs_with_one_broker_and_one_controller_each():
    t = topology.default_topology()
    assert t.dc_names() == ("dc1", "dc2", "dc3")
    assert [n.name for n in t.brokers] == ["dc1-broker1", "dc2-broker1", "dc3-broker1"]
    assert [n.dc for n in t.controllers] == ["dc1", "dc2", "dc3"]
    assert [n.node_id for n in t.brokers] == [1, 2, 3]
    assert [n.node_id for n in t.controllers] == [101, 102, 103]


def test_uniform_spreads_controllers_round_robin_over_dcs():
    t = topology.uniform(dcs=2, brokers_per_dc=2, controllers=3)
    assert [n.dc for n in t.controllers] == ["dc1", "dc1", "dc2"]
    assert len(t.brokers) == 4


def test_toml_topology_with_names_counts_and_overrides(tmp_path):
    f = tmp_path / "two-cities.toml"
    f.write_text(
        'name = "two-cities"\n'
        '[broker_config]\n"replica.lag.time.max.ms" = 10000\n'
        '[[dc]]\nname = "fra-a"\nbrokers = 2\ncontrollers = 1\n'
        '[dc.broker_config]\n"num.io.threads" = 4\n'
        '[[dc]]\nname = "fra-b"\nbrokers = 1\ncontrollers = 1\n'
        '[[dc]]\nname = "ber"\nbrokers = 1\ncontrollers = 1\n'
    )
    t = topology.load(f)
    assert t.name == "two-cities"
    assert [n.name for n in t.brokers] == ["fra-a-broker1", "fra-a-broker2", "fra-b-broker1", "ber-broker1"]
    assert dict(t.broker_config) == {"replica.lag.time.max.ms": 10000}
    assert dict(t.dcs[0].broker_config) == {"num.io.threads": 4}


@pytest.mark.parametrize(
    "text, message",
    [
        ("name = 'x'\n", "needs at least one [[dc]]"),
        ("[[dc]]\nname = 'dc1'\nbrokers = 1\ncontrollers = 2\n", "has 2 controllers"),
        ("[[dc]]\nname = 'DC 1'\n", "DC name 'DC 1' is not allowed"),
        ("[[dc]]\nname = 'a'\n[[dc]]\nname = 'a'\n[[dc]]\nname = 'b'\n", "DC name 'a' is used twice"),
        ("[[dc]]\nname = 'a'\nbrokers = 'three'\n", "brokers must be a whole number"),
        ("[[dc]]\nname = 'a'\nrack = 'x'\n", "unknown key 'rack'"),
        ("[[dc]]\nname = 'a'\nbrokers = 0\n", "has no brokers"),
        ("[[dc\n", "is not valid TOML"),
    ],
)
def test_bad_topology_files_give_one_clear_error(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(HarnessError) as error:
        topology.load(f)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_topology_file_is_a_user_error(tmp_path):
    with pytest.raises(HarnessError, match="does not exist"):
        topology.load(tmp_path / "nope.toml")


def test_uniform_rejects_even_quorums():
    with pytest.raises(HarnessError, match="quorum of 2"):
        topology.uniform(3, 1, 2)


# ---- the active-active model ---------------------------------------------------------------------------------

def active_active(**dc2):
    return topology.from_dict({"model": "active-active", "dc": [
        {"name": "dc1", "brokers": 2, "controllers": 1, "mirrors": 1},
        {"name": "dc2", "brokers": 1, "controllers": 1, "mirrors": 1, **dc2}]})


def test_active_active_numbers_brokers_controllers_and_mirrors_in_their_own_ranges():
    t = active_active(mirrors=2)
    assert [(n.name, n.node_id, n.role) for n in t.nodes] == [
        ("dc1-controller1", 101, "controller"), ("dc1-broker1", 1, "broker"), ("dc1-broker2", 2, "broker"),
        ("dc1-mirror1", 201, "mirror"),
        ("dc2-controller1", 102, "controller"), ("dc2-broker1", 3, "broker"),
        ("dc2-mirror1", 202, "mirror"), ("dc2-mirror2", 203, "mirror")]
    assert [n.name for n in t.mirrors] == ["dc1-mirror1", "dc2-mirror1", "dc2-mirror2"]


def test_active_active_has_one_cluster_per_dc_named_after_it():
    t = active_active()
    assert t.clusters == ("dc1", "dc2")
    assert t.cluster_of(t.node("dc2-mirror1")) == "dc2"
    assert t.cluster_of("dc1-broker2") == "dc1"
    assert [n.name for n in t.cluster_nodes("dc2")] == ["dc2-controller1", "dc2-broker1", "dc2-mirror1"]
    assert [n.name for n in t.brokers_in("dc1")] == ["dc1-broker1", "dc1-broker2"]
    assert [n.name for n in t.quorum_in("dc2")] == ["dc2-controller1"]


def test_role_properties_keep_meaning_all_nodes_of_that_role_and_the_quorum_has_no_mirrors():
    t = active_active()
    assert [n.name for n in t.brokers] == ["dc1-broker1", "dc1-broker2", "dc2-broker1"]
    assert t.quorum == t.controllers
    assert [n.name for n in t.controllers] == ["dc1-controller1", "dc2-controller1"]


def test_a_stretch_topology_is_one_cluster_named_main():
    t = topology.default_topology()
    assert t.model == "stretch"
    assert t.clusters == ("main",)
    assert {t.cluster_of(n) for n in t.nodes} == {"main"}
    assert t.cluster_nodes("main") == t.nodes
    assert t.brokers_in("main") == t.brokers
    assert t.mirrors == ()


def test_asking_for_a_cluster_that_does_not_exist_names_the_ones_that_do():
    with pytest.raises(HarnessError, match=r"no cluster named 'dc3'.*clusters are dc1, dc2"):
        active_active().cluster_nodes("dc3")


def test_to_json_carries_model_clusters_mirrors_and_wan():
    t = topology.from_dict({"model": "active-active", "dc": [{"name": "a", "mirrors": 1}, {"name": "b"}],
                            "wan": [{"between": ["b", "a"], "latency": "2ms"}]})
    data = t.to_json()
    assert data["model"] == "active-active"
    assert data["clusters"] == ["a", "b"]
    assert [d["mirrors"] for d in data["dcs"]] == [1, 0]
    assert data["wan"] == [{"between": ["a", "b"], "latency_ms": 2.0, "jitter_ms": 0.0}]
    assert {"id": 201, "name": "a-mirror1", "role": "mirror", "dc": "a"} in data["nodes"]


# ---- WAN in the topology file --------------------------------------------------------------------------------

def test_wan_tables_become_sorted_pairs_with_one_way_latency_and_jitter_in_ms(tmp_path):
    f = tmp_path / "wan.toml"
    f.write_text(
        '[[dc]]\nname = "b"\n[[dc]]\nname = "a"\n[[dc]]\nname = "c"\n'
        '[[wan]]\nbetween = ["b", "a"]\nlatency = "0.5ms"\n'
        '[[wan]]\nbetween = ["a", "c"]\nlatency = 15\njitter = "2ms"\n'
    )
    t = topology.load(f)
    assert t.wan == (topology.WanLink(("a", "b"), 0.5), topology.WanLink(("a", "c"), 15.0, 2.0))
    assert topology.wan_pairs_ms(t) == {("a", "b"): 0.5, ("a", "c"): 15.0}
    assert topology.wan_jitters_ms(t) == {("a", "c"): 2.0}


def test_a_topology_without_wan_tables_asks_for_no_shaping():
    assert topology.wan_pairs_ms(topology.default_topology()) == {}


THREE_DCS = '[[dc]]\nname = "dc1"\n[[dc]]\nname = "dc2"\n[[dc]]\nname = "dc3"\n'
AA = 'model = "active-active"\n'


@pytest.mark.parametrize(
    "text, message",
    [
        (THREE_DCS + '[[wan]]\nbetween = ["dc1", "dc9"]\nlatency = "1ms"\n', "names DC 'dc9'"),
        (THREE_DCS + '[[wan]]\nbetween = ["dc1", "dc2"]\nlatency = "1ms"\n'
                     '[[wan]]\nbetween = ["dc2", "dc1"]\nlatency = "2ms"\n', "wan between dc1 and dc2 is given twice"),
        (THREE_DCS + '[[wan]]\nbetween = ["dc1", "dc1"]\nlatency = "1ms"\n', "names one DC twice"),
        (THREE_DCS + '[[wan]]\nbetween = ["dc1", "dc2"]\nlatency = "fast"\n',
         "wan #1: latency 'fast' is not a duration"),
        (THREE_DCS + '[[wan]]\nbetween = ["dc1", "dc2"]\nlatency = "1ms"\njitter = "-1ms"\n',
         "wan #1: jitter '-1ms' is not a duration"),
        (THREE_DCS + '[[wan]]\nbetween = ["dc1", "dc2"]\nlatency = true\n', "latency must be a duration"),
        (THREE_DCS + '[[wan]]\nbetween = ["dc1", "dc2"]\n', "wan #1: needs a latency"),
        (THREE_DCS + '[[wan]]\nbetween = "dc1-dc2"\nlatency = "1ms"\n', "between must name two DCs"),
        (THREE_DCS + '[[wan]]\nbetween = ["dc1", "dc2"]\nlatency = "1ms"\nloss = "1%"\n', "unknown key 'loss'"),
        ('wan = "30ms"\n' + THREE_DCS, "wan must be [[wan]] tables"),
        ('model = "mesh"\n' + THREE_DCS, "model must be one of stretch, active-active, got 'mesh'"),
        (THREE_DCS + "mirrors = 1\n", 'mirrors (MirrorMaker 2 nodes) need model = "active-active"'),
        (AA + 'mode = "zookeeper"\n' + THREE_DCS, 'needs mode = "kraft"'),
        (AA + '[[dc]]\nname = "dc1"\nmirrors = 1\n', "needs at least 2 DCs, got 1"),
        (AA + '[[dc]]\nname = "dc1"\nmirrors = 1\n[[dc]]\nname = "dc2"\nbrokers = 0\n', "DC 'dc2' has no brokers"),
        (AA + '[[dc]]\nname = "dc1"\nmirrors = 1\n[[dc]]\nname = "dc2"\ncontrollers = 2\n',
         "DC 'dc2' has 2 controllers"),
        (AA + '[[dc]]\nname = "dc1"\nmirrors = 1\n[[dc]]\nname = "dc2"\ncontrollers = 0\n',
         "DC 'dc2' has 0 controllers"),
        (AA + THREE_DCS, "without mirrors copies nothing"),
        (AA + '[[dc]]\nname = "dc1"\nmirrors = 10\n[[dc]]\nname = "dc2"\n', "mirrors must be a whole number"),
    ],
)
def test_bad_wan_and_model_tables_give_one_line_naming_the_file(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(HarnessError) as error:
        topology.load(f)
    assert message in str(error.value)
    assert str(f) in str(error.value)
    assert "\n" not in str(error.value)


def test_a_stretch_quorum_still_counts_every_dc_and_an_active_active_one_each_dc():
    stretch = {"dc": [{"name": "a", "controllers": 2}, {"name": "b", "controllers": 1}]}
    assert len(topology.from_dict(stretch).quorum) == 3
    with pytest.raises(HarnessError, match="DC 'a' has 2 controllers"):
        topology.from_dict({"model": "active-active", **stretch, "dc": [{**d, "mirrors": 1} for d in stretch["dc"]]})


def test_zookeeper_mode_needs_kafka_3() -> None:
    from core.kafka_versions import check_mode

    check_mode("3.9.1", topology.uniform(3, 1, 3, mode="zookeeper").mode)
    check_mode("4.1.0", topology.uniform(3, 1, 3).mode)
    with pytest.raises(HarnessError, match="Kafka 4.0.0 has no ZooKeeper mode"):
        check_mode("4.0.0", topology.uniform(3, 1, 3, mode="zookeeper").mode)


def test_a_topology_file_that_is_not_text_is_a_harness_error(tmp_path) -> None:
    from core.topology import load

    binary = tmp_path / "t.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(HarnessError, match="is not text"):
        load(binary)

import pytest

from harness import topology
from harness.errors import HarnessError


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

"""Topology presets (core/topologies/*.toml): what each one is, and how --topology finds them."""

import os
import subprocess
import sys

import pytest

from core import topology
from core.errors import HarnessError
from harness.cli.options import resolve_topology

PRESETS = ("active-active", "dynamic-quorum", "stretch-2dc", "stretch-3dc", "two-cities-three-dcs")


def test_every_preset_parses_and_is_named_after_its_file():
    assert topology.presets() == PRESETS
    for name in PRESETS:
        assert topology.resolve(name).name == name


def test_dynamic_quorum_has_three_voters_and_one_spare_controller_in_dc1():
    t = topology.resolve("dynamic-quorum")
    assert t.dynamic_quorum
    assert [c.name for c in t.initial_voters] == ["dc1-controller1", "dc2-controller1", "dc3-controller1"]
    assert [c.name for c in t.controllers if c.spare] == ["dc1-controller2"]


def test_the_stretch_3dc_preset_is_exactly_the_default_topology():
    preset = topology.resolve("stretch-3dc")
    assert preset == topology.default_topology()
    assert preset.nodes == topology.default_topology().nodes


def test_stretch_2dc_has_two_brokers_per_dc_and_the_quorum_majority_in_dc1():
    t = topology.resolve("stretch-2dc")
    assert t.model == "stretch"
    assert [len(t.brokers_in("main")), len(t.in_dc("dc1")), len(t.in_dc("dc2"))] == [4, 4, 3]
    assert [c.dc for c in t.quorum] == ["dc1", "dc1", "dc2"]
    assert "odd" in (topology.PRESETS / "stretch-2dc.toml").read_text()


def test_two_cities_three_dcs_has_a_short_hop_in_town_and_long_ones_to_the_other_city():
    t = topology.resolve("two-cities-three-dcs")
    assert [(dc.brokers, dc.controllers) for dc in t.dcs] == [(1, 1)] * 3
    assert topology.wan_pairs_ms(t) == {("dc1", "dc2"): 0.5, ("dc1", "dc3"): 15.0, ("dc2", "dc3"): 15.0}


def test_active_active_is_one_cluster_per_dc_each_with_a_broker_a_controller_and_a_mirror():
    t = topology.resolve("active-active")
    assert t.model == "active-active"
    assert t.clusters == ("dc1", "dc2")
    for dc in t.clusters:
        assert sorted(n.role for n in t.cluster_nodes(dc)) == ["broker", "controller", "mirror"]
    assert [m.name for m in t.mirrors] == ["dc1-mirror1", "dc2-mirror1"]


def test_a_path_to_a_file_is_loaded_even_when_a_preset_has_its_name(tmp_path, monkeypatch):
    text = (topology.PRESETS / "stretch-3dc.toml").read_text().replace('name = "stretch-3dc"', 'name = "mine"')
    (tmp_path / "stretch-2dc").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert topology.resolve("stretch-2dc").name == "mine"
    assert topology.resolve(tmp_path / "stretch-2dc").name == "mine"


def test_a_copied_preset_loads_from_its_path(tmp_path):
    copy = tmp_path / "my-active-active.toml"
    copy.write_text((topology.PRESETS / "active-active.toml").read_text().replace("mirrors = 1", "mirrors = 2", 1))
    t = topology.resolve(str(copy))
    assert [m.name for m in t.mirrors] == ["dc1-mirror1", "dc1-mirror2", "dc2-mirror1"]


@pytest.mark.parametrize("spec, message", [
    ("stretch-4dc", "no topology preset named 'stretch-4dc'"),
    ("missing.toml", "topology file missing.toml does not exist"),
    ("some/dir/topo", "topology file some/dir/topo does not exist"),
])
def test_an_unknown_name_or_missing_file_lists_the_presets_in_one_line(spec, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HarnessError) as error:
        topology.resolve(spec)
    assert message in str(error.value)
    assert "presets: active-active, dynamic-quorum, stretch-2dc, stretch-3dc, two-cities-three-dcs" in str(error.value)
    assert "\n" not in str(error.value)


def test_a_directory_is_not_a_topology(tmp_path):
    with pytest.raises(HarnessError, match="is not a file"):
        topology.resolve(tmp_path)


def test_the_topology_option_takes_a_preset_name_or_a_path():
    assert resolve_topology("active-active", None, None, None).model == "active-active"
    assert resolve_topology(str(topology.PRESETS / "stretch-2dc.toml"), None, None, None).name == "stretch-2dc"
    with pytest.raises(HarnessError, match="--mode zookeeper contradicts mode = 'kraft' in stretch-3dc"):
        resolve_topology("stretch-3dc", None, None, None, "zookeeper")


def test_the_cli_reports_an_unknown_preset_in_one_line_with_the_presets():
    result = subprocess.run([sys.executable, "-m", "harness.cli.main", "run", "--topology", "nowhere"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no topology preset named 'nowhere'" in lines[0] and "stretch-2dc" in lines[0]


def test_the_example_in_docs_topologies_md_is_a_valid_topology():
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "topologies.md").read_text()
    example = topology.from_dict(tomllib.loads(re.search(r"```toml\n(.*?)```", text, re.S).group(1)), "docs")
    assert topology.wan_pairs_ms(example) == {("ber", "fra-a"): 15.0}

"""Every bad input is refused before anything starts (issue 14): one line on stderr, exit 2, no traceback.

Each command runs in a subprocess whose DOCKER_HOST points nowhere and whose working directory is empty: a
check that came after the engine was contacted would fail with "no Docker engine answers" instead of its own
line, and a run that got as far as creating its results folder would leave `results/` behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NO_ENGINE = "unix:///nonexistent/docker.sock"


def harness(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "DOCKER_HOST": NO_ENGINE, "PYTHONPATH": str(ROOT)},
                          timeout=60)


ROOT = Path(__file__).resolve().parents[2]


def assert_refused(cwd: Path, args: list[str], fragment: str) -> str:
    result = harness(cwd, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("harness: error: "), lines[0]
    assert "no Docker engine answers" not in lines[0], "the engine was contacted before the check"
    assert fragment in lines[0], lines[0]
    assert list(cwd.iterdir()) == [], f"something was created: {list(cwd.iterdir())}"
    return lines[0]


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


# ---- zero and negative counts: refused, never silently replaced by the default -----------------------------

@pytest.mark.parametrize("args, fragment", [
    (["run", "--dcs", "0"], "--dcs must be between 1 and 9, got 0"),
    (["run", "--brokers-per-dc", "0"], "--brokers-per-dc must be between 1 and 9, got 0"),
    (["run", "--controllers", "0"], "a quorum of 0 controllers is not supported"),
    (["up", "--dcs", "0"], "--dcs must be between 1 and 9, got 0"),
    (["compose", "out", "--brokers-per-dc", "0"], "--brokers-per-dc must be between 1 and 9, got 0"),
    (["run", "--partitions", "0"], "'--partitions': 0 is not in the range"),
    (["run", "--concurrency", "-1"], "'--concurrency': -1 is not in the range"),
    (["run", "--max-in-flight", "0"], "'--max-in-flight': 0 is not in the range"),
    (["run", "--min-insync", "0"], "'--min-insync': 0 is not in the range"),
    (["sweep", "--scenarios", "all", "--runs", "0"], "'--runs': 0 is not in the range"),
    (["runs", "--limit", "-1"], "'--limit': -1 is not in the range"),
])
def test_zero_and_negative_counts_are_refused(empty: Path, args: list[str], fragment: str) -> None:
    assert_refused(empty, args, fragment)


# ---- numbers that are not finite, or absurd ----------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["run", "--time-limit", "nan"], "'--time-limit': 'nan': seconds must be a finite number above 0 up to 86400"),
    (["run", "--time-limit", "inf"], "'--time-limit': 'inf'"),
    (["run", "--time-limit", "1e12"], "'--time-limit': '1e12'"),
    (["run", "--time-limit", "0"], "'--time-limit': '0'"),
    (["run", "--nemesis-interval", "-5"], "'--nemesis-interval': '-5'"),
    (["run", "--rate", "nan"], "'--rate': 'nan': sends per second must be a finite number"),
    (["run", "--delivery-timeout", "inf"], "'--delivery-timeout': 'inf'"),
    (["run", "--time-limit", "soon"], "'--time-limit': 'soon' is not a number of seconds"),
    (["drill", "--outage", "nan"], "'--outage': 'nan'"),
    (["drill", "--steady", "-1"], "'--steady': '-1'"),
    (["drill", "--rate", "inf"], "'--rate': 'inf'"),
    (["sweep", "--grid", "acks=1,all", "--time-limit", "nan"], "'--time-limit': 'nan'"),
    (["check", "h.jsonl", "--grace", "nan"], "'--grace': 'nan'"),
])
def test_numbers_must_be_finite_and_sane(empty: Path, args: list[str], fragment: str) -> None:
    assert_refused(empty, args, fragment)


# ---- options that contradict each other or the topology ----------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["run", "--min-insync", "4"], "--min-insync 4 must be from 1 to the replication factor (3)"),
    (["run", "--replication", "2", "--min-insync", "3"], "--min-insync 3 must be from 1 to the replication factor"),
    (["run", "--wan-pairs", "dc1:dc9=5ms"], "WAN pair names DC 'dc9', which is not in topology 'stretch-3dc'"),
    (["run", "--wan-pairs", "dc2:dc2=5ms"], "WAN pair dc2-dc2 names one DC twice"),
    (["run", "--kafka-version", "4.1.0", "--mode", "zookeeper"], "has no ZooKeeper mode"),
    (["up", "--kafka-version", "4.0.0", "--mode", "zookeeper"], "has no ZooKeeper mode"),
    (["compose", "out", "--kafka-version", "4.1.0", "--mode", "zookeeper"], "has no ZooKeeper mode"),
    (["image", "--kafka-version", "3.9"], "--kafka-version '3.9' is not a release number"),
    (["image", "--kafka-version", "x.y"], "--kafka-version 'x.y' is not a release number"),
    (["run", "--kafka-version", "4.x", "--mode", "zookeeper"], "--kafka-version '4.x' is not a release number"),
    (["run", "--workload", "group", "--group-protocol", "consumer", "--kafka-version", "3.9.1"],
     "--group-protocol consumer needs Kafka 4.0 or newer (KIP-848's consumer protocol); 3.9.1 has the classic"),
    (["run", "--workload", "group", "--group-protocol", "mixed", "--kafka-version", "3.9.1"],
     "--group-protocol mixed needs Kafka 4.0 or newer"),
    (["run", "--group-protocol", "consumer"], "--group-protocol and --stall-member need --workload group"),
    (["run", "--stall-member", "12"], "--group-protocol and --stall-member need --workload group"),
])
def test_contradictions_are_refused_before_the_engine(empty: Path, args: list[str], fragment: str) -> None:
    assert_refused(empty, args, fragment)


# ---- runs that would inject no fault and could come out VALID having tested nothing ------------------------

@pytest.mark.parametrize("args, fragment", [
    (["run", "--dcs", "1", "--nemesis", "partition-dc"], "nemesis partition-dc needs at least 2 DCs"),
    (["run", "--dcs", "1", "--nemesis", "kill,slow-dc"], "nemesis slow-dc needs at least 2 DCs"),
    (["run", "--dcs", "1", "--controllers", "1", "--nemesis", "partition-majorities-ring"],
     "nemesis partition-majorities-ring needs at least 4 nodes, topology 'stretch-1dc' has 2"),
    (["run", "--dcs", "1", "--brokers-per-dc", "2", "--controllers", "1",
      "--nemesis", "partition-majorities-ring"],
     "needs at least 4 nodes, topology 'stretch-1dc' has 3"),
    (["run", "--controllers", "1", "--nemesis", "partition-controller-quorum"], "needs at least 2 controllers"),
    (["run", "--nemesis-interval", "90"], "--nemesis-interval 90 s is not shorter than --time-limit 60 s"),
    (["run", "--nemesis-interval", "30", "--time-limit", "30"], "is not shorter than --time-limit 30 s"),
    (["sweep", "--grid", "acks=1,all", "--nemesis-interval", "60"], "is not shorter than --time-limit 60 s"),
])
def test_a_run_that_would_test_nothing_is_refused(empty: Path, args: list[str], fragment: str) -> None:
    line = assert_refused(empty, args, fragment)
    if "nemesis " in fragment and "needs" in fragment:
        assert "would inject no fault" in line


def test_the_same_nemeses_run_where_the_topology_has_what_they_need(empty: Path) -> None:
    # Past the preflight the run goes to the engine, which is not there: the refusal above was the topology's.
    for args in (["--nemesis", "partition-majorities-ring"],
                 ["--dcs", "2", "--replication", "2", "--nemesis", "partition-dc,slow-dc"],
                 ["--nemesis-interval", "20", "--time-limit", "30"]):
        result = harness(empty, "run", *args)
        assert result.returncode == 2 and "no Docker engine answers" in result.stderr, result.stderr


# ---- names that would write outside the results folder -----------------------------------------------------

@pytest.mark.parametrize("name", ["../../escape", "latest", "a/b", ".hidden", "..", "x" * 101, "two words"])
def test_test_names_must_be_plain_folder_names(empty: Path, name: str) -> None:
    assert_refused(empty, ["run", "--test-name", name], f"test name {name!r} is not a plain folder name")


# ---- flags a scenario would override -----------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--acks", "1"], "--acks cannot be combined with --scenario"),
    (["--nemesis", "kill"], "--nemesis cannot be combined with --scenario"),
    (["--topology", "stretch-2dc", "--time-limit", "30"], "--topology, --time-limit cannot be combined with"),
    (["--min-insync", "1"], "--min-insync cannot be combined with --scenario"),
])
def test_flags_the_scenario_fixes_are_refused_not_ignored(empty: Path, args: list[str], fragment: str) -> None:
    line = assert_refused(empty, ["run", "--scenario", "zombie-leader", *args], fragment)
    assert "the scenario fixes its topology, workload config, WAN and fault timeline" in line


def test_what_a_scenario_leaves_to_the_user_is_still_accepted(empty: Path) -> None:
    result = harness(empty, "run", "--scenario", "zombie-leader", "--control", "--seed", "3", "--test-name", "zl")
    assert result.returncode == 2 and "no Docker engine answers" in result.stderr, result.stderr
    # The client under test is not what a scenario fixes: an explore finding on the Java driver reruns on it.
    result = harness(empty, "run", "--scenario", "zombie-leader", "--client", "java")
    assert result.returncode == 2 and "no Docker engine answers" in result.stderr, result.stderr


def test_sweep_refuses_grid_flags_with_scenarios(empty: Path) -> None:
    assert_refused(empty, ["sweep", "--scenarios", "all", "--time-limit", "30"], "--time-limit applies to --grid only")


# ---- no tracebacks on files and addresses that are not what they should be ---------------------------------

def test_a_binary_topology_file_is_one_line(empty: Path, tmp_path: Path) -> None:
    binary = tmp_path / "topology.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    assert_refused(empty, ["run", "--topology", str(binary)], "is not text (not UTF-8)")
    assert_refused(empty, ["up", "--topology", str(binary)], "is not text (not UTF-8)")


def test_a_binary_scenario_file_is_one_line(empty: Path, tmp_path: Path) -> None:
    binary = tmp_path / "scenario.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    assert_refused(empty, ["run", "--scenario", str(binary)], "is not text (not UTF-8)")


@pytest.mark.parametrize("subnet, fragment", [
    ("999.1.1.1/99", "--subnet '999.1.1.1/99' is not an IPv4 network"),
    ("172.31.250.7/24", "is not an IPv4 network: 172.31.250.7/24 has host bits set"),
    ("banana", "is not an IPv4 network"),
    ("172.31.250.0/29", "has room for 6 hosts, the topology's 6 nodes need 16"),
])
def test_a_bad_compose_subnet_is_one_line_and_writes_nothing(empty: Path, subnet: str, fragment: str) -> None:
    assert_refused(empty, ["compose", "out", "--subnet", subnet], fragment)


# ---- unknown names: the nearest one, not the whole list ----------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["run", "--nemesis", "partiton-dc"], "unknown nemesis 'partiton-dc' (did you mean partition-dc?"),
    (["run", "--workload", "qeue"], "unknown workload 'qeue' (did you mean queue?)"),
    (["run", "--scenario", "zombie-leadr"], "unknown scenario 'zombie-leadr' (did you mean zombie-leader?"),
    (["run", "--topology", "strech-3dc"], "no topology preset named 'strech-3dc' (did you mean stretch-3dc?"),
    (["sweep", "--grid", "acks=1,all", "--nemesis", "kil"], "unknown nemesis 'kil' (did you mean kill?"),
])
def test_unknown_names_suggest_the_nearest(empty: Path, args: list[str], fragment: str) -> None:
    assert_refused(empty, args, fragment)


# ---- the same checks guard options built in code (sweeps, drills, tests), not only flags ------------------

def _preflight(**changes: object) -> None:
    from core.topology import default_topology
    from harness import preflight
    from harness.runner import RunOptions
    from nemesis import registry

    changes.setdefault("topology", default_topology())
    options = RunOptions(**changes)  # type: ignore[arg-type]
    preflight.check(options, registry.parse(options.nemesis))


@pytest.mark.parametrize("changes, fragment", [
    ({"time_limit": float("nan")}, "--time-limit (seconds) must be a finite number above 0 up to 86400, got nan"),
    ({"nemesis_interval": float("inf")}, "--nemesis-interval (seconds) must be a finite number"),
    ({"test_name": "../up"}, "test name '../up' is not a plain folder name"),
    ({"nemesis": "none", "timeline": ((70.0, "kill", 5.0),)}, "timeline step kill starts at or after the end"),
    ({"nemesis": "none", "timeline": ((10.0, "kill", float("nan")),)}, "timeline step kill: hold (seconds)"),
    ({"wan_latency_ms": float("nan")}, "--wan-latency (ms) must be a finite number"),
    ({"kafka_version": "4.1.0", "topology": None}, "has no ZooKeeper mode"),
])
def test_preflight_refuses_options_built_in_code(changes: dict[str, object], fragment: str) -> None:
    from core.errors import HarnessError
    from core.topology import uniform

    if changes.get("topology", 0) is None:
        changes["topology"] = uniform(3, 1, 3, mode="zookeeper")
    with pytest.raises(HarnessError) as error:
        _preflight(**changes)
    assert fragment in str(error.value)


def test_preflight_accepts_the_defaults_and_a_drill() -> None:
    _preflight()
    _preflight(nemesis="none", timeline=((20.0, "outage-dc1", 40.0),), time_limit=85.0)

"""`harness run --ssh`: flags that make no sense with real machines, bad files and nemeses that cannot act there
are one line and exit 2 before anything is created; a run against them never needs Docker."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.harness.test_cli_errors import assert_one_line_error, harness
from workloads.options import ClientOptions

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}

OPERATOR_RUN = """
connect_timeout = 3
[defaults]
start = "systemctl start kafka"
stop = "systemctl stop kafka"
[[node]]
name = "c1"
host = "127.0.0.1"
port = 1
dc = "east"
role = "controller"
node_id = 101
[[node]]
name = "b1"
host = "127.0.0.1"
port = 1
dc = "east"
role = "broker"
node_id = 1
"""


@pytest.fixture
def hosts(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.toml"
    path.write_text(OPERATOR_RUN)
    return path


@pytest.mark.parametrize("extra, fragment", [
    (["--topology", "t.toml"], "--ssh cannot be combined with --topology"),
    (["--dcs", "2"], "--ssh cannot be combined with --dcs"),
    (["--brokers-per-dc", "2"], "--ssh cannot be combined with --brokers-per-dc"),
    (["--controllers", "3"], "--ssh cannot be combined with --controllers"),
    (["--image", "apache/kafka:3.9.1"], "--ssh cannot be combined with --image"),
    (["--kafka-version", "3.8.1"], "--ssh cannot be combined with --kafka-version"),
    (["--nemesis", "kill,clock-bump"], "clock-bump needs managed nodes, but the operator's commands run c1, b1"),
    (["--nemesis", "explode"], "unknown nemesis 'explode'"),
    (["--nemesis", "kill,delay-endtxn"], "delay-endtxn holds Kafka requests in a proxy between the clients and the "
                                         "brokers; with --ssh the brokers' listeners are the operator's"),
    (["--replication", "3"], "replication factor 3 needs at least that many brokers; the topology has 1"),
])
def test_what_cannot_work_on_the_machines_is_refused_up_front(hosts: Path, extra: list[str], fragment: str,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE["DOCKER_HOST"])
    with pytest.raises(SystemExit) as exited:  # in-process: the subprocess path is covered below
        main(["run", "--ssh", str(hosts), "--nemesis", "kill", *extra])  # one DC: partition-dc would be refused
    lines = capsys.readouterr().err.strip().splitlines()
    assert (exited.value.code, len(lines)) == (2, 1), lines
    assert lines[0].startswith("harness: error: ") and fragment in lines[0], lines


def test_a_missing_or_broken_hosts_file_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(harness("run", "--ssh", str(tmp_path / "nope.toml"), env=NO_ENGINE), "does not exist")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[node]\n")
    assert_one_line_error(harness("run", "--ssh", str(broken), env=NO_ENGINE), "is not valid TOML")
    incomplete = tmp_path / "incomplete.toml"
    incomplete.write_text('[[node]]\nname = "b1"\nhost = "h"\ndc = "east"\nrole = "broker"\nnode_id = 1\n')
    assert_one_line_error(harness("run", "--ssh", str(incomplete), env=NO_ENGINE), "missing `start`")


def test_an_unreachable_machine_ends_the_run_with_one_error_line_and_no_docker(hosts: Path, tmp_path: Path) -> None:
    result = harness("run", "--ssh", str(hosts), "--nemesis", "kill", "--replication", "1", "--min-insync", "1",
                     "--quiet",
                     "--results-dir", str(tmp_path / "results"), env=NO_ENGINE)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("harness: error: ")]
    assert errors == ["harness: error: ssh root@127.0.0.1:1 (c1): connection refused (is sshd running there, on "
                      "this port?; also failing: b1)"], result.stderr
    (test_json,) = (tmp_path / "results").glob("*/*/test.json")
    recorded = json.loads(test_json.read_text())
    assert recorded["targets"] == {"kind": "ssh", "file": str(hosts)}
    assert (recorded["image"], recorded["kafka_version"]) == ("ssh", None)
    assert [n["name"] for n in recorded["topology"]["dcs"]] == ["east"]


def test_run_options_must_carry_the_files_topology(hosts: Path) -> None:
    from core.errors import HarnessError
    from core.topology import default_topology
    from harness.runner import RunOptions, _validate
    from infra.ssh_targets import load

    with pytest.raises(HarnessError, match="with --ssh the topology is the one .*hosts.toml lists"):
        _validate(RunOptions(topology=default_topology(), ssh=hosts))
    _, targets = _validate(RunOptions(topology=load(hosts).topology, ssh=hosts, nemesis="kill",
                                      workload=replace(ClientOptions(), replication=1, min_insync_replicas=1)))
    assert targets is not None and [t.node.name for t in targets.targets] == ["c1", "b1"]

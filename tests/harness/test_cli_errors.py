"""Bad input: one clear line on stderr, exit 2, no traceback, nothing started."""

import os
import subprocess
import sys

import pytest


def harness(*args, env=None):
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def assert_one_line_error(result, fragment):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("harness: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, fragment", [
    (["run", "--nemesis", "partition-dc,explode"], "unknown nemesis 'explode'"),
    (["run", "--topology", "/nonexistent/topology.toml"], "does not exist"),
    (["run", "--topology", "x.toml", "--dcs", "2"], "cannot be combined"),
    (["run", "--acks", "1", "--idempotence"], "--idempotence needs --acks all"),
    (["run", "--acks", "2"], "'2' is not one of"),
    (["run", "--auto-commit"], "--auto-commit, --process-delay and --process-time need --workload group"),
    (["run", "--process-time", "1"], "--auto-commit, --process-delay and --process-time need --workload group"),
    (["run", "--workload", "group", "--process-time", "1"], "process_time is the Java driver's"),
    (["run", "--workload", "group", "--process-delay", "-2"],
     "'--process-delay': '-2': seconds must be a finite number from 0"),
    (["run", "--dcs", "12"], "--dcs must be between 1 and 9"),
    (["run", "--controllers", "2"], "quorum of 2"),
    (["run", "--no-such-flag"], "No such option"),
    (["run", "--replication", "5"], "needs at least that many brokers"),
    (["up", "--kafka-version", "latest"], "is not a release number"),
    # Kafka 4 is KRaft only: ZooKeeper mode on the default (a 4.x) or a named 4.x is refused before anything.
    (["run", "--mode", "zookeeper", "--kafka-version", "4.3.1"], "has no ZooKeeper mode (Kafka 4 is KRaft only)"),
    (["up", "--mode", "zookeeper", "--kafka-version", "4.0.0"], "Kafka 4.0.0 has no ZooKeeper mode"),
    (["compose", "/tmp/unused", "--mode", "zookeeper", "--kafka-version", "4.3.1"], "has no ZooKeeper mode"),
    (["run", "--scenario", "dual-controller-zk", "--kafka-version", "4.0.0"], "Kafka 4.0.0 has no ZooKeeper mode"),
    (["sweep", "--scenarios", "all", "--kafka-versions", "3.9.1,4.0"], "--kafka-versions '4.0' is not a release"),
    (["sweep", "--scenarios", "all", "--kafka-versions", "4.0.0,4.0.0"], "4.0.0 given twice"),
    (["run", "--client", "rust"], "'rust' is not one of"),
    (["run", "--scenario", "kafka-18641-async-auto-commit", "--client-version", "4.0.0"],
     "it tests a client bug, so it pins the client (java, kafka-clients 3.9.1, control 4.1.2)"),
    (["run", "--scenario", "kafka-18641-async-auto-commit", "--client", "librdkafka"], "pins the client"),
    (["run", "--client", "java", "--workload", "group", "--process-delay", "0.5"], "process_delay is librdkafka's"),
    (["run", "--client", "java", "--topology", "active-active"], "on an active-active topology"),
    (["run", "--client-version", "4.1.0"], "--client-version is the Java driver's kafka-clients version"),
    (["explore", "--budget", "300"], "Missing option '--run-time'"),
    (["explore", "--budget", "0", "--run-time", "40"], "seconds must be a finite number above 0"),
    (["explore", "--budget", "300", "--run-time", "5"], "a run of 5 s has no room for a fault and its heal"),
    (["explore", "--budget", "60", "--run-time", "40"], "--budget 60 s leaves no room for one run"),
    (["explore", "--budget", "300", "--run-time", "40", "--faults", "kil"], "unknown fault kind 'kil'"),
    (["explore", "--budget", "300", "--run-time", "40", "--faults", ","], "--faults needs at least one kind"),
    (["explore", "--budget", "300", "--run-time", "40", "--kafka-version", "4.x"], "'4.x' is not a release number"),
    (["explore", "--budget", "300", "--run-time", "40", "--workload", "mirror"], "'mirror' is not one of"),
    (["explore", "--budget", "300", "--run-time", "40", "--client", "rust"], "'rust' is not one of"),
    (["run", "--client", "java", "--client-version", "4.x"], "--client-version '4.x' is not a release number"),
    (["run", "--client", "java", "--nemesis", "kill,outage-dc1"], "outage-dc1 cuts a DC off"),
])
def test_bad_flags(args, fragment):
    # No engine is reachable, so any of these reaching Docker would fail differently: the check comes first.
    assert_one_line_error(harness(*args, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}), fragment)


def test_missing_engine_is_one_line_with_the_fix():
    result = harness("up", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert_one_line_error(result, "no Docker engine answers")
    assert "make docker" in result.stderr


def test_nemeses_lists_every_nemesis_with_a_description():
    result = harness("nemeses")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert {"none", "kill", "partition-dc"} <= set(names)

"""`harness run --ssh` for real: a whole run against Kafka that someone else started, reached only over SSH.

The project's Docker cluster stands in for the operator's machines: its containers run sshd and Kafka, and the
run gets nothing but a hosts file. Brokers are operator-run (start/stop commands, pkill defaults), controllers
managed (re-provisioned with their own properties file). After the run Kafka must still be running there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from core.topology import default_topology
from harness.runner import RunOptions, run_test
from infra.cluster import Cluster, new_run_id
from infra.ssh_targets import load
from tests.cluster.conftest import labelled_leftovers
from tests.cluster.sshd import docker_sh, new_key, start_sshd

pytestmark = pytest.mark.cluster


def hosts_toml(cluster: Cluster, key: str) -> str:
    lines = [f'name = "ssh-lab"\ncluster_id = "{cluster.cluster_id}"\n[defaults]\nkey = "{key}"\n']
    for n in cluster.topology.nodes:
        lines.append(f'[[node]]\nname = "{n.name}"\nhost = "{cluster.addresses[n.name]}"\ndc = "{n.dc}"\n'
                     f'role = "{n.role}"\nnode_id = {n.node_id}\n')
        if n.is_broker:
            lines.append('start = "/opt/harness/kafka-node start"\nstop = "/opt/harness/kafka-node stop"\n')
        else:
            lines.append('managed = true\nproperties = "/opt/harness/server.properties"\n')
    return "\n".join(lines)


def events(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_run_over_ssh_injects_faults_checks_collects_logs_and_leaves_kafka_running(
        tmp_path: Path, docker_client: Any, node_image: str) -> None:
    topology = default_topology()
    cluster = Cluster(docker_client, topology, node_image, new_run_id())
    try:
        cluster.start()
        key = new_key(tmp_path)
        for container in cluster.containers.values():
            start_sshd(container, key)
        hosts = tmp_path / "hosts.toml"
        hosts.write_text(hosts_toml(cluster, key.path))
        outcome = run_test(RunOptions(topology=load(hosts).topology, ssh=hosts, nemesis="partition-node,kill",
                                      nemesis_interval=12, time_limit=30, seed=2, results_root=tmp_path / "results"),
                           say=lambda _: None)

        history = events(outcome.results / "history.jsonl")
        acked = [e for e in history if e["f"] == "send" and e["type"] == "ok"]
        assert len(acked) > 200, "real traffic was acknowledged"
        faults = [e for e in history if e["process"] == "nemesis" and e["f"].startswith("start-") and
                  e["type"] == "info"]
        assert faults and "error" not in faults[0], faults
        assert faults[0]["value"]["targets"], "the fault names whom it hit"
        assert any(e["f"] == "heal-all" and e["type"] == "info" for e in history)
        assert outcome.valid is True, outcome.result_json["anomalies"]
        assert outcome.result_json["run"]["nemesis_errors"] == []

        test_json = orjson.loads((outcome.results / "test.json").read_bytes())
        assert test_json["targets"] == {"kind": "ssh", "file": str(hosts)}
        assert test_json["image"] == "ssh" and test_json["topology"]["name"] == "ssh-lab"
        logs = outcome.results / "logs"
        assert {p.name for p in logs.iterdir()} == {n.name for n in topology.nodes}
        for node in topology.nodes:
            assert (logs / node.name / "server.log").stat().st_size > 0, node.name
            assert not (logs / node.name / "collect-error.txt").exists(), node.name

        # Teardown closed the SSH connections and nothing else: every JVM still runs, every container exists.
        for name, container in cluster.containers.items():
            assert docker_sh(container, "/opt/harness/kafka-node status").strip() == "running", name
        assert len(labelled_leftovers(docker_client, cluster.run_id)) == len(topology.nodes) + 1
        assert labelled_leftovers(docker_client, test_json["run_id"]) == [], "the SSH run created no containers"
    finally:
        cluster.teardown()
    assert labelled_leftovers(docker_client, cluster.run_id) == []

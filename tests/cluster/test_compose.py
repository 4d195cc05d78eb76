"""`harness compose` renders the same topology as a docker-compose project that really starts."""

import shutil
import socket
import subprocess

import pytest

from core.topology import default_topology
from core.waiting import WaitTimeout
from infra.admin import Admin
from infra.cluster import RUN_LABEL
from infra.compose_file import write_project
from tests.cluster.conftest import labelled_leftovers

pytestmark = pytest.mark.cluster


def _node_logs(docker_client, run_id: str) -> str:
    """Each container's state and the tail of its Kafka logs: what a registration timeout needs to be diagnosed."""
    lines = []
    for container in docker_client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}):
        lines.append(f"--- {container.name}: {container.status}")
        if container.status == "running":
            logs = container.exec_run(["sh", "-c", "tail -n 15 /var/log/kafka/format.log /var/log/kafka/stdout.log "
                                                   "/var/log/kafka/server.log 2>&1"]).output
        else:
            logs = container.logs(tail=30)
        lines.append(logs.decode(errors="replace"))
    return "\n".join(lines)


def _probe(bootstrap: str) -> str:
    """Whether each broker's port accepts connections, and what a fresh admin client sees: tells a broker that
    never listened from a client that stayed stuck."""
    ports = []
    for address in bootstrap.split(","):
        host, port = address.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            ports.append(f"{address} accepts")
        except OSError as error:
            ports.append(f"{address} {error}")
    try:
        fresh = f"a fresh admin client sees brokers {sorted(Admin(bootstrap).broker_ids())}"
    except Exception as error:  # noqa: BLE001 - a diagnosis, not a step
        fresh = f"a fresh admin client fails too: {error}"
    return "; ".join(ports) + "; " + fresh


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_project_starts_the_default_topology(tmp_path, node_image, docker_client):
    path = write_project(tmp_path / "project", default_topology(), node_image, "kj-compose", "172.31.251.0/24")
    compose = ["docker-compose", "-f", str(path)]
    try:
        subprocess.run([*compose, "up", "-d"], check=True, capture_output=True, timeout=300)
        bootstrap = "172.31.251.12:9092,172.31.251.14:9092,172.31.251.16:9092"
        try:
            Admin(bootstrap).wait_brokers({1, 2, 3}, timeout=180)
        except WaitTimeout as timeout:  # say why: this failed twice in about 25 runs and never said why
            pytest.fail(f"{timeout}\n{_probe(bootstrap)}\n{_node_logs(docker_client, 'kj-compose')}")
        containers = docker_client.containers.list(filters={"label": "harness.run-id=kj-compose"})
        assert len(containers) == 6
        assert all(c.labels["harness.node"] in {n.name for n in default_topology().nodes} for c in containers)
    finally:
        subprocess.run([*compose, "down", "-v"], capture_output=True, timeout=300)
    assert labelled_leftovers(docker_client, "kj-compose") == []

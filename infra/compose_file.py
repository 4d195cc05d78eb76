"""The same topology as a docker-compose project, for people who want to run the cluster by hand.

`harness compose DIR` writes DIR/docker-compose.yml and DIR/<node>/ (node script, node.env, server.properties,
log4j configs). Every service carries the harness.run-id label (so `harness clean` finds it), NET_ADMIN (so
the nemeses' iptables work) and the fixed address the rendered properties advertise.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from pathlib import Path

from core.errors import HarnessError
from core.topology import Topology
from infra.assets import compose_dir
from infra.cluster import NODE_LABEL, RUN_LABEL, new_cluster_id
from infra.kafka_config import broker_properties, controller_properties, format_arguments, render
from infra.kafka_node import HEAP, JVM_OPTS, NODE_DIR

_START = f"{NODE_DIR}/kafka-node format && {NODE_DIR}/kafka-node start && exec sleep infinity"


def addresses_in(topology: Topology, subnet: ipaddress.IPv4Network) -> dict[str, str]:
    hosts = list(subnet.hosts())
    return {node.name: str(hosts[10 + i]) for i, node in enumerate(topology.nodes)}


def parse_subnet(subnet: str, topology: Topology) -> ipaddress.IPv4Network:
    """--subnet as a network with room for every node (addresses from the 11th host on); one line if not."""
    try:
        network = ipaddress.IPv4Network(subnet)
    except ValueError as error:  # AddressValueError, NetmaskValueError, host bits set
        raise HarnessError(f"--subnet {subnet!r} is not an IPv4 network: {error}",
                           hint="give a network address and prefix, e.g. 172.31.250.0/24") from None
    needed = 10 + len(topology.nodes)
    if network.num_addresses - 2 < needed:
        raise HarnessError(f"--subnet {subnet} has room for {max(network.num_addresses - 2, 0)} hosts, the topology's "
                           f"{len(topology.nodes)} nodes need {needed} (the first 10 stay free)",
                           hint="use a /24, e.g. 172.31.250.0/24")
    return network


def write_project(directory: Path, topology: Topology, image: str, run_id: str,
                  subnet: str = "172.31.250.0/24") -> Path:
    if topology.mode != "kraft":
        raise HarnessError("harness compose writes KRaft clusters only",
                           hint="run ZooKeeper mode with `harness up --mode zookeeper`")
    if topology.model != "stretch":
        raise HarnessError("harness compose writes one stretched cluster only",
                           hint="run active-active clusters with `harness up --topology active-active`")
    network = parse_subnet(subnet, topology)
    addresses = addresses_in(topology, network)
    cluster_id = new_cluster_id()
    directory_ids = {c.name: new_cluster_id() for c in topology.initial_voters}  # a dynamic quorum's (KIP-853)
    directory.mkdir(parents=True, exist_ok=True)
    services = []
    for node in topology.nodes:
        node_dir = directory / node.name
        node_dir.mkdir(exist_ok=True)
        props = (controller_properties if node.role == "controller" else broker_properties)(topology, node, addresses)
        (node_dir / "server.properties").write_text(render(props))
        env = {"ROLE": node.role, "MAIN_CLASS": "kafka.Kafka", "KAFKA_HOME": "/opt/kafka",
               "DATA_DIR": "/var/lib/kafka/data", "LOG_DIR": "/var/log/kafka", "HEAP_OPTS": HEAP[node.role],
               "JVM_OPTS": JVM_OPTS, "CLUSTER_ID": cluster_id, "PROPERTIES": f"{NODE_DIR}/server.properties",
               "CLOCK": "", "FORMAT_ARGS": format_arguments(topology, node, addresses, directory_ids)}
        (node_dir / "node.env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
        for asset in ("kafka-node.sh", "log4j.properties", "log4j2.yaml"):
            target = node_dir / ("kafka-node" if asset == "kafka-node.sh" else asset)
            target.write_bytes((compose_dir("node", asset)).read_bytes())
            target.chmod(0o755 if asset.endswith(".sh") else 0o644)
        labels = {RUN_LABEL: run_id, NODE_LABEL: node.name, "harness.role": node.role, "harness.dc": node.dc}
        services.append(
            f"  {node.name}:\n"
            f"    image: {json.dumps(image)}\n"
            f"    container_name: {run_id}-{node.name}\n"
            f"    hostname: {node.name}\n"
            f"    init: true\n"
            f"    cap_add: [NET_ADMIN]\n"
            f"    labels: {json.dumps(labels)}\n"
            f"    volumes: [\"./{node.name}:{NODE_DIR}\"]\n"
            f"    command: [\"sh\", \"-c\", {json.dumps(_START)}]\n"
            f"    networks:\n"
            f"      kafka:\n"
            f"        ipv4_address: {addresses[node.name]}\n"
        )
    compose = (
        f"# {topology.name}: {len(topology.brokers)} brokers and {len(topology.controllers)} KRaft controllers in "
        f"{len(topology.dcs)} DCs, rendered by `harness compose`.\n"
        f"# bootstrap servers: {','.join(addresses[b.name] + ':9092' for b in topology.brokers)}\n"
        "version: \"2.4\"\n"
        "services:\n" + "".join(services) +
        "networks:\n"
        "  kafka:\n"
        f"    name: {run_id}-net\n"
        f"    labels: {json.dumps({RUN_LABEL: run_id})}\n"
        "    ipam:\n"
        f"      config: [{{subnet: {network}}}]\n"
    )
    path = directory / "docker-compose.yml"
    path.write_text(compose)
    return path

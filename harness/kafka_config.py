"""server.properties for each node, rendered from the topology and the node's address.

Only what a multi-DC test needs is set here (listeners, quorum, rack, internal-topic replication); the rest
stays at Kafka's defaults unless the topology overrides it, so a test measures Kafka as operators run it.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.topology import ConfigValue, Node, Topology

BROKER_PORT = 9092
CONTROLLER_PORT = 9093
ZOOKEEPER_PORT = 2181
ZOOKEEPER_PEER_PORTS = (2888, 3888)
DATA_DIR = "/var/lib/kafka/data"
LOG_DIR = "/var/log/kafka"


def quorum_voters(topology: Topology, addresses: Mapping[str, str]) -> str:
    return ",".join(f"{c.node_id}@{addresses[c.name]}:{CONTROLLER_PORT}" for c in topology.controllers)


def zookeeper_connect(topology: Topology, addresses: Mapping[str, str]) -> str:
    return ",".join(f"{addresses[z.name]}:{ZOOKEEPER_PORT}" for z in topology.zookeepers)


def _internal_topic_defaults(topology: Topology) -> dict[str, ConfigValue]:
    replicas = min(3, len(topology.brokers))
    return {
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min(2, replicas),
        "default.replication.factor": replicas,
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": 0,
    }


def broker_properties(topology: Topology, node: Node, addresses: Mapping[str, str]) -> dict[str, ConfigValue]:
    address = addresses[node.name]
    if topology.mode == "zookeeper":
        # The controller is whichever broker wins ZooKeeper's /controller node; no KRaft settings at all.
        props: dict[str, ConfigValue] = {
            "broker.id": node.node_id,
            "zookeeper.connect": zookeeper_connect(topology, addresses),
            "listeners": f"PLAINTEXT://0.0.0.0:{BROKER_PORT}",
            "advertised.listeners": f"PLAINTEXT://{address}:{BROKER_PORT}",
        }
    else:
        props = {
            "process.roles": "broker",
            "node.id": node.node_id,
            "controller.quorum.voters": quorum_voters(topology, addresses),
            "controller.listener.names": "CONTROLLER",
            "listeners": f"PLAINTEXT://0.0.0.0:{BROKER_PORT}",
            "advertised.listeners": f"PLAINTEXT://{address}:{BROKER_PORT}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        }
    props.update({
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": DATA_DIR,
        "broker.rack": node.dc,
        **_internal_topic_defaults(topology),
    })
    props.update(dict(topology.broker_config))
    for dc in topology.dcs:
        if dc.name == node.dc:
            props.update(dict(dc.broker_config))
    return props


def controller_properties(topology: Topology, node: Node, addresses: Mapping[str, str]) -> dict[str, ConfigValue]:
    props: dict[str, ConfigValue] = {
        "process.roles": "controller",
        "node.id": node.node_id,
        "controller.quorum.voters": quorum_voters(topology, addresses),
        "controller.listener.names": "CONTROLLER",
        "listeners": f"CONTROLLER://{addresses[node.name]}:{CONTROLLER_PORT}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT",
        "log.dirs": DATA_DIR,
    }
    props.update(dict(topology.controller_config))
    return props


def zookeeper_properties(topology: Topology, node: Node, addresses: Mapping[str, str]) -> dict[str, ConfigValue]:
    """zoo.cfg of one ZooKeeper server (its myid is its node id, written into the data dir by the node)."""
    peer, election = ZOOKEEPER_PEER_PORTS
    props: dict[str, ConfigValue] = {
        "tickTime": 2000,
        "initLimit": 10,
        "syncLimit": 5,
        "dataDir": DATA_DIR,
        "clientPort": ZOOKEEPER_PORT,
        "maxClientCnxns": 0,
        "admin.enableServer": "false",
        "4lw.commands.whitelist": "srvr,ruok,mntr",
    }
    if len(topology.zookeepers) > 1:
        for z in topology.zookeepers:
            # Our own address as 0.0.0.0, so the election port binds whatever the container's address is.
            host = "0.0.0.0" if z.name == node.name else addresses[z.name]
            props[f"server.{z.node_id}"] = f"{host}:{peer}:{election}"
    props.update(dict(topology.controller_config))
    return props


def properties_for(topology: Topology, node: Node, addresses: Mapping[str, str]) -> dict[str, ConfigValue]:
    """What this node's process reads: server.properties of a broker or controller, or a zoo.cfg."""
    render = {"broker": broker_properties, "controller": controller_properties,
              "zookeeper": zookeeper_properties}[node.role]
    return render(topology, node, addresses)


def render(props: Mapping[str, ConfigValue]) -> str:
    def text(value: ConfigValue) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return "".join(f"{key}={text(value)}\n" for key, value in props.items())


def parse(text: str) -> dict[str, ConfigValue]:
    """A server.properties file as `render` would write it back: comments and blank lines dropped, continued
    lines joined, `key=value`, `key: value` and `key value` understood. Escapes stay as written, so rendering
    the result gives Kafka exactly the values it would have read from the original file."""
    props: dict[str, ConfigValue] = {}
    logical = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if not logical and (not stripped or stripped[0] in "#!"):
            continue
        logical += stripped
        trailing = len(logical) - len(logical.rstrip("\\"))
        if trailing % 2:  # an odd number of backslashes continues the line
            logical = logical[:-1]
            continue
        key, value = _split_entry(logical)
        props[key] = value
        logical = ""
    if logical:
        key, value = _split_entry(logical)
        props[key] = value
    return props


def _split_entry(entry: str) -> tuple[str, str]:
    i = 0
    while i < len(entry) and entry[i] not in "=: \t\f":
        i += 2 if entry[i] == "\\" else 1
    key, rest = entry[:i], entry[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest

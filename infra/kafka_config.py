"""server.properties for each node, rendered from the topology and the node's address.

Only what a multi-DC test needs is set here (listeners, quorum, rack, internal-topic replication); the rest
stays at Kafka's defaults unless the topology overrides it, so a test measures Kafka as operators run it.

In an active-active topology every DC is a cluster of its own: a node's quorum and its internal-topic
replication come from its own cluster only, and the mirror nodes get the mm2.properties of a dedicated-mode
MirrorMaker 2 (`mirror_properties`).
"""

from __future__ import annotations

from collections.abc import Mapping

from core.topology import ConfigValue, Node, Topology

BROKER_PORT = 9092
# With the request proxy in the path (infra/request_proxy.py) each broker has a second listener for the clients,
# advertised as the proxy's address: clients that bootstrap through the proxy are told only proxy addresses,
# while brokers, the admin client and the sampler keep the direct PLAINTEXT one.
CLIENT_PORT = 9094
CONTROLLER_PORT = 9093
ZOOKEEPER_PORT = 2181
ZOOKEEPER_PEER_PORTS = (2888, 3888)
DATA_DIR = "/var/lib/kafka/data"
LOG_DIR = "/var/log/kafka"
MIRROR_REST_PORT = 8083
# What MirrorMaker 2 copies: the test topics, which every workload names `jepsen-<workload>` (jepsen-queue,
# jepsen-aa, ...). A Java regex matched against the whole name, so remote copies (`dc1.jepsen-aa`) and the
# internal topics never match and nothing is copied back and forth.
MIRRORED_TOPICS = "jepsen-.*"


def quorum_voters(topology: Topology, addresses: Mapping[str, str], cluster: str | None = None) -> str:
    """The KRaft voters of one cluster (default: every controller, the one quorum of a stretch topology)."""
    voters = topology.controllers if cluster is None else tuple(
        n for n in topology.quorum_in(cluster) if n.role == "controller")
    return ",".join(f"{c.node_id}@{addresses[c.name]}:{CONTROLLER_PORT}" for c in voters)


def quorum_settings(topology: Topology, addresses: Mapping[str, str], cluster: str) -> dict[str, ConfigValue]:
    """How a KRaft node finds its quorum. Static: the voters themselves (`controller.quorum.voters`). Dynamic
    (KIP-853): only where to ask (`controller.quorum.bootstrap.servers`, the initial voters); the voter set lives
    in the metadata log, so add-controller and remove-controller can change it while the cluster runs."""
    if not topology.dynamic_quorum:
        return {"controller.quorum.voters": quorum_voters(topology, addresses, cluster)}
    voters = (n for n in topology.quorum_in(cluster) if n.role == "controller" and not n.spare)
    return {"controller.quorum.bootstrap.servers": ",".join(f"{addresses[c.name]}:{CONTROLLER_PORT}" for c in voters)}


def initial_controllers(topology: Topology, addresses: Mapping[str, str], cluster: str,
                        directory_ids: Mapping[str, str]) -> str:
    """`kafka-storage format --initial-controllers`: id@host:port:directory-id of each initial voter."""
    voters = (n for n in topology.quorum_in(cluster) if n.role == "controller" and not n.spare)
    return ",".join(f"{c.node_id}@{addresses[c.name]}:{CONTROLLER_PORT}:{directory_ids[c.name]}" for c in voters)


def format_arguments(topology: Topology, node: Node, addresses: Mapping[str, str],
                     directory_ids: Mapping[str, str]) -> str:
    """What `kafka-storage format` needs beyond the cluster id for this node: in a dynamic quorum, an initial
    voter is formatted with the initial voter set and a spare with none (it starts as an observer)."""
    if not topology.dynamic_quorum or node.role != "controller":
        return ""
    if node.spare:
        return "--no-initial-controllers"
    return "--initial-controllers " + initial_controllers(topology, addresses, topology.cluster_of(node),
                                                          directory_ids)


def zookeeper_connect(topology: Topology, addresses: Mapping[str, str]) -> str:
    return ",".join(f"{addresses[z.name]}:{ZOOKEEPER_PORT}" for z in topology.zookeepers)


def bootstrap_servers(topology: Topology, addresses: Mapping[str, str], cluster: str) -> str:
    return ",".join(f"{addresses[b.name]}:{BROKER_PORT}" for b in topology.brokers_in(cluster))


def _internal_topic_defaults(topology: Topology, cluster: str) -> dict[str, ConfigValue]:
    replicas = min(3, len(topology.brokers_in(cluster)))
    return {
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min(2, replicas),
        "default.replication.factor": replicas,
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": 0,
    }


def broker_properties(topology: Topology, node: Node, addresses: Mapping[str, str],
                      client_listener: str | None = None) -> dict[str, ConfigValue]:
    """`client_listener`: the proxy's host:port for this broker, which the CLIENT listener advertises."""
    address = addresses[node.name]
    cluster = topology.cluster_of(node)
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
            **quorum_settings(topology, addresses, cluster),
            "controller.listener.names": "CONTROLLER",
            "listeners": f"PLAINTEXT://0.0.0.0:{BROKER_PORT}",
            "advertised.listeners": f"PLAINTEXT://{address}:{BROKER_PORT}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        }
    if client_listener is not None:
        props["listeners"] = f"{props['listeners']},CLIENT://0.0.0.0:{CLIENT_PORT}"
        props["advertised.listeners"] = f"{props['advertised.listeners']},CLIENT://{client_listener}"
        props["listener.security.protocol.map"] = (
            str(props.get("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT")) + ",CLIENT:PLAINTEXT")
    props.update({
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": DATA_DIR,
        "broker.rack": node.dc,
        **_internal_topic_defaults(topology, cluster),
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
        **quorum_settings(topology, addresses, topology.cluster_of(node)),
        "controller.listener.names": "CONTROLLER",
        "listeners": f"CONTROLLER://{addresses[node.name]}:{CONTROLLER_PORT}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT",
        "log.dirs": DATA_DIR,
        # A KRaft controller creates topics, so from Kafka 4 on it reads the default replication factor (a
        # broker's is ignored from 5.0 and warned about in 4.x); the same value as the brokers get.
        "default.replication.factor": min(3, len(topology.brokers_in(topology.cluster_of(node)))),
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


def mirror_properties(topology: Topology, node: Node, addresses: Mapping[str, str]) -> dict[str, ConfigValue]:
    """mm2.properties of a dedicated-mode MirrorMaker 2 node: every cluster of the topology, every ordered pair a
    flow of the test topics. Each node is started with `--clusters <its DC>` (infra/kafka_node.py), so it runs
    only the flows into its own DC's cluster: it consumes remotely and produces locally, the layout the
    MirrorMaker 2 documentation recommends (a WAN fault then delays fetches, never acknowledged writes)."""
    clusters = topology.clusters
    replicas = min(3, *(len(topology.brokers_in(c)) for c in clusters))
    props: dict[str, ConfigValue] = {"clusters": ", ".join(clusters)}
    for cluster in clusters:
        props[f"{cluster}.bootstrap.servers"] = bootstrap_servers(topology, addresses, cluster)
    for source in clusters:
        for target in clusters:
            if source != target:
                props[f"{source}->{target}.enabled"] = "true"
                props[f"{source}->{target}.topics"] = MIRRORED_TOPICS
    props.update({
        # Remote topics are named `<source>.<topic>`: what consumers fail over to and the checker reads.
        "replication.policy.class": "org.apache.kafka.connect.mirror.DefaultReplicationPolicy",
        # Checkpoints (consumer offsets translated to the remote topic) and their sync into the target's groups
        # every second instead of every 60 s, so a failover in a short test finds offsets that are seconds old.
        # offset.lag.max stays at its default (100): translated offsets may trail by that many records, and a
        # consumer that fails over re-reads them, as in production.
        "emit.checkpoints.enabled": "true",
        "emit.checkpoints.interval.seconds": 1,
        "sync.group.offsets.enabled": "true",
        "sync.group.offsets.interval.seconds": 1,
        # A test topic is created after MirrorMaker 2 starts; the default refresh (10 min) would find it too late.
        "refresh.topics.interval.seconds": 2,
        "refresh.groups.interval.seconds": 2,
        # Connect and MirrorMaker 2 ask for 3 (internal topics) or 2 (remote topics) replicas; a test cluster may
        # have fewer brokers, and a topic that cannot be created stops the flow. The smallest cluster decides,
        # as for the brokers' own internal topics.
        "replication.factor": replicas,
        "checkpoints.topic.replication.factor": replicas,
        "heartbeats.topic.replication.factor": replicas,
        "offset-syncs.topic.replication.factor": replicas,
        "offset.storage.replication.factor": replicas,
        "status.storage.replication.factor": replicas,
        "config.storage.replication.factor": replicas,
        # No authorizer on the test clusters: nothing to copy, and no describeAcls call failing every 10 min.
        "sync.topic.acls.enabled": "false",
        # Several mirror nodes in one DC form a Connect group per flow; without the internal REST server a
        # follower cannot hand its task configs to the leader and new tasks never start (KIP-710, KAFKA-10586).
        "dedicated.mode.enable.internal.rest": "true",
        "listeners": f"http://0.0.0.0:{MIRROR_REST_PORT}",
        "rest.advertised.host.name": addresses[node.name],  # an address the other mirror nodes can reach
    })
    return props


def properties_for(topology: Topology, node: Node, addresses: Mapping[str, str],
                   client_listeners: Mapping[str, str] | None = None) -> dict[str, ConfigValue]:
    """What this node's process reads: server.properties of a broker or controller, a zoo.cfg, or an
    mm2.properties. `client_listeners`: broker name -> the request proxy's host:port for it (when in the path)."""
    if node.role == "broker" and client_listeners:
        return broker_properties(topology, node, addresses, client_listeners[node.name])
    render = {"broker": broker_properties, "controller": controller_properties,
              "zookeeper": zookeeper_properties, "mirror": mirror_properties}[node.role]
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

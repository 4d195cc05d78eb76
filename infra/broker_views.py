"""Each node's own belief, asked of that node alone, for the split-brain checks (checkers/cluster.py).

The admin client's view is the cluster's consensus as one broker relays it; a split brain is two nodes that
disagree, so every node is asked separately:

- **Metadata** — a raw MetadataRequest (v7) on a socket to one broker, no client library in between, so no
  failover to another broker: the answer is that broker's own metadata cache — who it believes is controller
  (meaningful in ZooKeeper mode; a KRaft broker names a random broker), the test partitions' leader, leader
  epoch and ISR. A broker that does not answer within the timeout is recorded as unreachable.
- **JMX** — one long-lived `JmxTool` per watched node, run inside the node against its JVM's loopback JMX port
  (no partition rule touches loopback), reporting every second: `ActiveControllerCount` of ZooKeeper-mode
  brokers; in KRaft the Raft state (`raft-metrics`: leader, epoch, state) of every controller and broker.
  A watcher that has not reported for `STALE_S` (the JVM is paused, killed or restarting) is recorded as such.
  With `voter_counts` (a dynamic KIP-853 quorum on Kafka 4.0+), also `number-of-voters`: how many voters the
  node's copy of the metadata log holds, for the voter-count-divergence check.

Cost on purpose: the metadata probes are one small request per broker per second; the JMX watchers are one
small JVM per watched node (not one per sample), started once per run: measured about 0.5 s CPU to start,
then 0.4 % of one core and 60 MB resident each.
"""

from __future__ import annotations

import csv
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from core.topology import Node, Topology
from infra.kafka_config import BROKER_PORT
from infra.kafka_node import NODE_DIR, KafkaNode

STALE_S = 3.0
METADATA_API, METADATA_VERSION = 3, 7
ACTIVE_CONTROLLER = "kafka.controller:type=KafkaController,name=ActiveControllerCount"
RAFT = "kafka.server:type=raft-metrics"
VOTERS = "number-of-voters"
_COLUMNS = {f"{ACTIVE_CONTROLLER}:Value": "active_controller_count", f"{RAFT}:current-leader": "raft_leader",
            f"{RAFT}:current-epoch": "raft_epoch", f"{RAFT}:current-state": "raft_state",
            f"{RAFT}:{VOTERS}": "raft_voters"}
_ATTRIBUTES = {ACTIVE_CONTROLLER: ("Value",), RAFT: ("current-leader", "current-epoch", "current-state")}


class Streams(Protocol):
    """A Remote that can run a long-lived command and hand back its output as it comes (DockerRemote)."""

    def stream(self, command: str) -> Iterator[bytes]: ...

    def exec(self, command: str, *, check: bool = True, timeout: float = 60.0) -> Any: ...


# ---- metadata: the Kafka protocol, just enough of it ------------------------------------------------------

def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def metadata_request(topic: str, correlation_id: int) -> bytes:
    header = struct.pack(">hhi", METADATA_API, METADATA_VERSION, correlation_id) + _string("harness-views")
    body = struct.pack(">i", 1) + _string(topic) + b"\x00"  # one topic; allow_auto_topic_creation=false
    message = header + body
    return struct.pack(">i", len(message)) + message


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def unpack(self, fmt: str) -> Any:
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str | None:
        length = self.unpack(">h")
        if length < 0:
            return None
        value = self.data[self.at:self.at + length].decode()
        self.at += length
        return value

    def ints(self) -> list[int]:
        count = self.unpack(">i")
        return [self.unpack(">i") for _ in range(max(count, 0))]


def parse_metadata_response(data: bytes, topic: str) -> dict[str, Any]:
    """MetadataResponse v7 (after the 4-byte correlation id): the broker's brokers, controller and partitions."""
    r = _Reader(data)
    r.unpack(">i")  # throttle_time_ms
    brokers = []
    for _ in range(r.unpack(">i")):
        node_id = r.unpack(">i")
        r.string()
        r.unpack(">i")
        r.string()
        brokers.append(node_id)
    r.string()  # cluster id
    controller = r.unpack(">i")
    partitions: list[dict[str, Any]] = []
    topic_error = None
    for _ in range(r.unpack(">i")):
        error, name, _internal = r.unpack(">h"), r.string(), r.unpack(">?")
        parts = []
        for _ in range(r.unpack(">i")):
            p_error, index, leader, epoch = r.unpack(">hiii")
            replicas, isr, _offline = r.ints(), r.ints(), r.ints()
            parts.append({"partition": index, "leader": leader, "epoch": epoch, "isr": isr, "replicas": replicas,
                          **({"error": p_error} if p_error else {})})
        if name == topic:
            partitions, topic_error = sorted(parts, key=lambda p: p["partition"]), error or None
    view: dict[str, Any] = {"brokers": sorted(brokers), "controller": controller, "partitions": partitions}
    if topic_error:
        view["topic_error"] = topic_error
    return view


def metadata_view(host: str, topic: str, port: int = BROKER_PORT, timeout: float = 1.0) -> dict[str, Any]:
    """One broker's own metadata for `topic`; raises OSError (refused, timed out) when it does not answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(metadata_request(topic, 1))
        (size,) = struct.unpack(">i", _recv(sock, 4))
        payload = _recv(sock, size)
    return parse_metadata_response(payload[4:], topic)


def _recv(sock: socket.socket, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(65536, size - got))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


# ---- JMX: one watcher per node ------------------------------------------------------------------------------

def jmx_objects(topology: Topology, node: Node) -> tuple[str, ...]:
    """What to watch on a node: who it believes is the active controller, in its mode's terms."""
    if topology.mode == "zookeeper":
        return (ACTIVE_CONTROLLER,) if node.is_broker else ()
    # KRaft: the Raft state of every controller (the active controller is the Raft leader) and broker (an
    # observer; its current-leader is the controller it believes active). One object per JmxTool: given
    # two, JmxTool waits for every attribute on every object and never reports.
    return (RAFT,)


def watch_command(objects: tuple[str, ...], jmx_port: int, pidfile: str, kafka_home: str = "/opt/kafka",
                  voter_counts: bool = False) -> str:
    """A loop on the node: JmxTool reporting every second, restarted when the JVM it watches goes away."""
    names = " ".join(f"--object-name '{o}'" for o in objects)
    # --wait waits for every listed attribute to exist, so only the ones these objects have are listed (and
    # number-of-voters only where the caller knows the release has it: a missing one would silence the watch).
    extra = (VOTERS,) if voter_counts and RAFT in objects else ()
    attributes = ",".join([*(a for o in objects for a in _ATTRIBUTES[o]), *extra])
    tool = (f"java -Xmx48m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '{kafka_home}/libs/*' "
            f"-Dlog4j.configuration=file:{NODE_DIR}/log4j.properties -Dkafka.logs.dir=/tmp "
            f"org.apache.kafka.tools.JmxTool --jmx-url service:jmx:rmi:///jndi/rmi://127.0.0.1:{jmx_port}/jmxrmi "
            f"{names} --attributes {attributes} --reporting-interval 1000 "
            "--wait")
    return f"echo $$ >{pidfile}; while [ -f {pidfile} ]; do {tool} 2>/dev/null; sleep 1; done"


def parse_jmx_line(header: list[str] | None, line: str) -> tuple[list[str] | None, dict[str, Any] | None]:
    """(header, values): a header line starts a new table; a data line is read against the current header."""
    cells = next(csv.reader([line.strip()]), [])  # object names in the header are quoted and hold commas
    if not cells or not cells[0]:
        return header, None
    if cells[0] == "time":
        return [_COLUMNS.get(c, c) for c in cells], None
    if header is None or len(cells) != len(header):
        return header, None
    values: dict[str, Any] = {}
    for key, cell in zip(header[1:], cells[1:], strict=True):
        try:
            values[key] = int(float(cell))
        except ValueError:
            values[key] = cell
    return header, values


def reports_voter_count(remote: Streams, jmx_port: int, kafka_home: str = "/opt/kafka") -> bool:
    """Does this node's JVM have raft-metrics `number-of-voters` (Kafka 4.0+)? Asked once, by value: JmxTool
    prints no line at all for an attribute the MBean lacks, and a watch that waits for it would never report."""
    tool = (f"java -Xmx48m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '{kafka_home}/libs/*' "
            f"-Dlog4j.configuration=file:{NODE_DIR}/log4j.properties -Dkafka.logs.dir=/tmp "
            f"org.apache.kafka.tools.JmxTool --jmx-url service:jmx:rmi:///jndi/rmi://127.0.0.1:{jmx_port}/jmxrmi "
            f"--object-name '{RAFT}' --attributes {VOTERS} --one-time true")
    result = remote.exec(f"{tool} 2>/dev/null", check=False, timeout=30)
    header: list[str] | None = None
    for line in str(getattr(result, "stdout", "")).splitlines():
        header, values = parse_jmx_line(header, line)
        if values is not None and isinstance(values.get("raft_voters"), int):
            return True
    return False


class JmxWatch:
    def __init__(self, name: str, remote: Streams, objects: tuple[str, ...], jmx_port: int,
                 voter_counts: bool = False) -> None:
        self.name = name
        self.remote = remote
        self.pidfile = f"{NODE_DIR}/jmx-watch-{uuid.uuid4().hex[:8]}.pid"  # one per watcher: stop only ours
        self.command = watch_command(objects, jmx_port, self.pidfile, voter_counts=voter_counts)
        self.latest: dict[str, Any] | None = None
        self.received = 0.0  # monotonic time of the latest report
        self.reports = 0
        self._thread = threading.Thread(target=self._run, name=f"jmx-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        header: list[str] | None = None
        pending = b""
        try:
            for chunk in self.remote.stream(self.command):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    header, values = parse_jmx_line(header, line.decode(errors="replace"))
                    if values is not None:
                        self.latest, self.received = values, time.monotonic()
                        self.reports += 1
        except Exception:  # noqa: BLE001 - the container went away; the view turns stale, which is recorded
            return

    def view(self, now: float) -> dict[str, Any]:
        if self.latest is None:
            return {"jmx": "none"}
        age = max(0.0, now - self.received)  # a report may land between `now` and here
        if age > STALE_S:
            return {"jmx": "stale", "jmx_age_ms": int(age * 1000)}
        return {"jmx": "ok", "jmx_age_ms": int(age * 1000), **self.latest}

    def stop(self) -> None:
        # The loop ends when its pidfile is gone; the JmxTool it runs now is its only child.
        self.remote.exec(f"p=$(cat {self.pidfile} 2>/dev/null) && rm -f {self.pidfile} && pkill -P \"$p\" || true",
                         check=False, timeout=10)


class BrokerViews:
    """Every node's own view, as one dict per sample (the sampler stores it under `views`)."""

    def __init__(self, topology: Topology, nodes: Mapping[str, KafkaNode], addresses: Mapping[str, str],
                 topic: str, jmx_port: int | None, timeout: float = 0.8, voter_counts: bool = False) -> None:
        self.topology = topology
        self.addresses = addresses
        self.topic = topic
        self.timeout = timeout
        self.watches: dict[str, JmxWatch] = {}
        if jmx_port:
            for node in topology.nodes:
                remote = nodes[node.name].remote
                objects = jmx_objects(topology, node)
                if objects and hasattr(remote, "stream"):
                    self.watches[node.name] = JmxWatch(node.name, remote, objects, jmx_port, voter_counts)
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(topology.brokers)), thread_name_prefix="views")

    def start(self) -> None:
        for watch in self.watches.values():
            watch.start()

    def stop(self) -> None:
        for watch in self.watches.values():
            watch.stop()
        self._pool.shutdown(wait=False)

    def __call__(self) -> dict[str, Any]:
        now = time.monotonic()
        probes = {b.name: self._pool.submit(self._probe, b) for b in self.topology.brokers}
        views: dict[str, Any] = {}
        for node in self.topology.nodes:
            if node.name not in probes and node.name not in self.watches:
                continue  # nothing asks a ZooKeeper server (or a node without JMX) for a belief
            view: dict[str, Any] = {"id": node.node_id, "role": node.role}
            if node.name in probes:
                view.update(probes[node.name].result())
            if node.name in self.watches:
                view.update(self.watches[node.name].view(now))
            views[node.name] = view
        return {"mode": self.topology.mode, "views": views}

    def _probe(self, broker: Node) -> dict[str, Any]:
        try:
            return {"reachable": True, **metadata_view(self.addresses[broker.name], self.topic,
                                                      timeout=self.timeout)}
        except (OSError, struct.error, ValueError) as error:
            return {"reachable": False, "error": str(error) or type(error).__name__}

"""A Kafka cluster in Docker: one bridge network of its own, one long-lived container per node.

Containers are "machines": they run `sleep` under an init, and the Kafka process inside is started, killed
or paused by the node script, exactly as on a real host over SSH. So a killed broker keeps its address and
its disk, and nemeses act the same way on both kinds of target.

Everything created carries the label harness.run-id=<run id> and is registered for teardown before use;
a start that fails half-way tears down what it made before the error propagates.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import tarfile
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.errors import HarnessError
from core.topology import Node, Topology
from core.waiting import wait_until
from infra.backend import StartedInWith
from infra.control.docker import DockerRemote
from infra.durable_fs.disks import DurableDisk, DurableDisks
from infra.kafka_config import (
    CLIENT_PORT,
    DATA_DIR,
    LOG_DIR,
    ZOOKEEPER_PORT,
    bootstrap_servers,
    format_arguments,
    properties_for,
)
from infra.kafka_node import KafkaNode, NodeSetup
from infra.request_proxy import RequestProxy

RUN_LABEL = "harness.run-id"
NODE_LABEL = "harness.node"
JMX_PORT = 9999  # on each node's loopback, for the per-node views (infra/broker_views.py)
Say = Callable[[str], None]


def new_run_id() -> str:
    return "kj-" + uuid.uuid4().hex[:6]


def new_cluster_id(random_bytes: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> str:
    """A Kafka cluster id (a base64 UUID). Never one that starts with "-": `kafka-storage format -t -x...` reads it
    as an option and fails with "argument --cluster-id/-t: expected one argument" (1 in 64 ids; Kafka's own
    Uuid.randomUuid skips them for the same reason)."""
    while True:
        candidate = base64.urlsafe_b64encode(random_bytes()).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


class Cluster(StartedInWith):
    """A cluster in containers of ours on a network of ours (a ClusterBackend)."""

    jmx_port: int | None = JMX_PORT
    teardown_action = "removing the cluster"
    request_proxy: RequestProxy | None = None  # started with the network when the run asks for it

    def __init__(self, client: Any, topology: Topology, image: str, run_id: str, say: Say = lambda _: None,
                 clock_control: bool = False, durable_fs: bool = False, request_proxy: bool = False):
        """`request_proxy`: put the request proxy (infra/request_proxy.py) between the clients and every broker."""
        self.client = client
        self.wants_proxy = request_proxy
        self.request_proxy = None
        self.clock_control = clock_control
        # Every broker's data dir on a durable filesystem of ours (infra/durable_fs), for power-loss nemeses.
        self.durable = DurableDisks(run_id) if durable_fs else None
        self.topology = topology
        self.image = image
        self.run_id = run_id
        self.say = say
        # One Kafka cluster id per cluster of the topology (one when stretched, one per DC when active-active).
        self.cluster_ids = {name: new_cluster_id() for name in topology.clusters}
        self.cluster_id = self.cluster_ids[topology.clusters[0]]
        # A dynamic quorum's initial voters are formatted with each one's metadata directory id (KIP-853).
        self.directory_ids = {c.name: new_cluster_id() for c in topology.initial_voters}
        self.network: Any = None
        self.subnet: ipaddress.IPv4Network | None = None
        self.containers: dict[str, Any] = {}
        self.addresses: dict[str, str] = {}
        self.nodes: dict[str, KafkaNode] = {}

    # ---- what other parts use -------------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        """Every broker of a stretch topology; of an active-active one, the first cluster's (`bootstrap_for`
        names the others)."""
        return self.bootstrap_for(self.topology.clusters[0])

    def bootstrap_for(self, cluster: str) -> str:
        """The brokers of one cluster of the topology ("main" when stretched, a DC name when active-active)."""
        return bootstrap_servers(self.topology, self.addresses, cluster)

    def bootstraps(self) -> dict[str, str]:
        return {name: self.bootstrap_for(name) for name in self.topology.clusters}

    def client_bootstraps(self) -> dict[str, str]:
        """What the workload's clients bootstrap from: the request proxy's listeners when it is in the path (its
        brokers then advertise only proxy addresses to them), else the brokers themselves."""
        proxy = self.request_proxy
        if proxy is None:
            return self.bootstraps()
        return {name: ",".join(proxy.address(b.name) for b in self.topology.brokers_in(name))
                for name in self.topology.clusters}

    def node(self, name: str) -> KafkaNode:
        return self.nodes[name]

    def broker_by_id(self, node_id: int) -> KafkaNode:
        for n in self.nodes.values():
            if n.node.node_id == node_id and n.node.is_broker:
                return n
        raise KeyError(node_id)

    def container_name(self, node: Node) -> str:
        return f"{self.run_id}-{node.name}"

    # ---- lifecycle -------------------------------------------------------------------------------------

    @property
    def disks(self) -> dict[str, DurableDisk]:
        """The durable filesystem under each broker's data dir, by node name (empty without --durable-fs)."""
        return self.durable.disks if self.durable is not None else {}

    def start(self) -> None:
        self._create_network()
        if self.durable is not None:
            for broker in self.topology.brokers:
                self.durable.mount(broker.name)  # before the container: its data dir is this mount
        if self.wants_proxy:
            self._start_proxy()
        for node in self.topology.nodes:
            self._create_node(node)
        setups = {n.name: self._setup_for(n) for n in self.topology.nodes}
        kraft = self.topology.mode == "kraft"  # only KRaft storage is formatted; ZooKeeper mode needs none

        # Provision and format in parallel: each format is a JVM start, the slowest step before Kafka runs.
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            list(pool.map(lambda n: (n.provision(setups[n.name]), kraft and n.format()), self.nodes.values()))
        # What `format` wrote is on the disks, as after an operator's provisioning: Kafka does not fsync its
        # bootstrap.checkpoint, and a power loss that emptied it would leave a broker that cannot start at all
        # (no metadata.version), which no real machine provisioned minutes before would show.
        for disk in self.disks.values():
            disk.sync()
        for role in ("zookeeper", "controller", "broker", "mirror"):
            for kafka_node in self.nodes.values():
                if kafka_node.node.role == role:
                    kafka_node.start()
            if role == "zookeeper" and self.topology.zookeepers:
                # A broker gives up on ZooKeeper after zookeeper.connection.timeout.ms (18 s); on a loaded
                # machine the ensemble may need longer to elect its leader, so brokers start once it serves.
                wait_until(self._zookeeper_serving, 180, "the ZooKeeper ensemble to elect a leader and serve",
                           interval=1.0)

    def _zookeeper_serving(self) -> bool:
        for z in self.topology.zookeepers:
            result = self.nodes[z.name].remote.exec(
                f"echo srvr | nc -w 2 127.0.0.1 {ZOOKEEPER_PORT}", check=False, timeout=10)
            if "Mode:" not in result.stdout:
                return False
        return True

    def _start_proxy(self) -> None:
        """On the bridge's gateway address: the host's clients and a client container both reach it there."""
        assert self.subnet is not None
        proxy = RequestProxy(str(self.subnet.network_address + 1),
                             {b.name: (self.addresses[b.name], CLIENT_PORT) for b in self.topology.brokers})
        self.request_proxy = proxy  # registered before it binds: teardown stops it
        try:
            proxy.start()
        except OSError as error:
            raise HarnessError(f"the request proxy could not listen on {proxy.listen_host}: {error.strerror}",
                               hint="the harness must run on the Docker host, where the bridge's gateway is") from None

    def _setup_for(self, node: Node) -> NodeSetup:
        proxy = self.request_proxy
        listeners = {b.name: proxy.address(b.name) for b in self.topology.brokers} if proxy else None
        return NodeSetup(self.cluster_ids[self.topology.cluster_of(node)],
                         properties_for(self.topology, node, self.addresses, listeners),
                         clock_control=self.clock_control, jmx_port=JMX_PORT,
                         format_args=format_arguments(self.topology, node, self.addresses, self.directory_ids))

    def _create_network(self) -> None:
        import docker.errors

        # Static addresses need a subnet we chose; take the first free /24 from a per-run starting point so
        # concurrent runs do not fight over one.
        start = zlib.crc32(self.run_id.encode()) % 240
        last_error: Exception | None = None
        for k in range(240):
            subnet = ipaddress.IPv4Network(f"172.30.{(start + k) % 240}.0/24")
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
                subnet=str(subnet), gateway=str(subnet.network_address + 1))])
            try:
                self.network = self.client.networks.create(
                    f"{self.run_id}-net", driver="bridge", ipam=ipam, labels={RUN_LABEL: self.run_id},
                    check_duplicate=True)
            except docker.errors.APIError as error:
                if "overlap" in str(error).lower():
                    last_error = error
                    continue
                raise HarnessError(f"could not create network {self.run_id}-net: {error.explanation}") from None
            self.subnet = subnet
            hosts = list(subnet.hosts())
            for i, node in enumerate(self.topology.nodes):
                self.addresses[node.name] = str(hosts[10 + i])
            return
        raise HarnessError(f"no free /24 in 172.30.0.0/16 for a test network ({last_error})",
                           hint="remove leftover networks with `harness clean`")

    def _create_node(self, node: Node) -> None:
        import docker.errors

        api = self.client.api
        net = self.network.name
        name = self.container_name(node)
        disk = self.disks.get(node.name)
        binds = {str(disk.mount): {"bind": DATA_DIR, "mode": "rw"}} if disk is not None else None
        try:
            created = api.create_container(
                self.image, command=["sleep", "infinity"], name=name, hostname=node.name,
                labels={RUN_LABEL: self.run_id, NODE_LABEL: node.name, "harness.role": node.role,
                        "harness.dc": node.dc},
                host_config=api.create_host_config(cap_add=["NET_ADMIN"], init=True, network_mode=net,
                                                   binds=binds),
                networking_config=api.create_networking_config(
                    {net: api.create_endpoint_config(ipv4_address=self.addresses[node.name])}),
            )
        except docker.errors.ImageNotFound:
            raise HarnessError(f"image {self.image} is not in the local engine",
                               hint="omit --image to build one, or load it with `docker load`") from None
        except docker.errors.APIError as error:
            if error.status_code == 409:
                raise HarnessError(f"a container named {name} already exists",
                                   hint="`harness clean` removes leftovers of earlier runs") from None
            raise HarnessError(f"could not create container {name}: {error.explanation}") from None
        container = self.client.containers.get(created["Id"])
        self.containers[node.name] = container  # registered before it runs: teardown will find it
        container.start()
        self.nodes[node.name] = KafkaNode(node, DockerRemote(container, node.name))

    def add_client(self, name: str) -> DockerRemote:
        """A client machine on the cluster's network (`--client java` runs its driver there): the node image
        (it has the JRE), an address Docker picks, labelled and registered for teardown and log collection
        like a node, but no Kafka node: nemeses do not pick it unless they are told to."""
        import docker.errors

        api = self.client.api
        net = self.network.name
        container_name = f"{self.run_id}-{name}"
        try:
            created = api.create_container(
                self.image, command=["sleep", "infinity"], name=container_name, hostname=name,
                labels={RUN_LABEL: self.run_id, NODE_LABEL: name, "harness.role": "client"},
                host_config=api.create_host_config(init=True, network_mode=net))
        except docker.errors.APIError as error:
            raise HarnessError(f"could not create client container {container_name}: {error.explanation}") from None
        container = self.client.containers.get(created["Id"])
        self.containers[name] = container  # registered before it runs: teardown will find it
        container.start()
        return DockerRemote(container, name)

    def collect_logs(self, destination: Path) -> None:
        """Copy every node's Kafka logs to destination/<node>/ (before anything is removed)."""
        for name, container in self.containers.items():
            target = destination / name
            target.mkdir(parents=True, exist_ok=True)
            try:
                stream, _ = container.get_archive(LOG_DIR)
                with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                    for member in tar.getmembers():
                        if member.isfile():
                            extracted = tar.extractfile(member)
                            if extracted:
                                (target / Path(member.name).name).write_bytes(extracted.read())
            except Exception as error:  # noqa: BLE001 - one node's missing logs must not stop the others
                (target / "collect-error.txt").write_text(f"{error}\n")

    def teardown(self) -> list[str]:
        """Remove every container and the network; try every step, return what failed."""
        problems: list[str] = []
        if self.request_proxy is not None:
            try:
                self.request_proxy.stop()  # releases what it holds before the brokers go
            except Exception as error:  # noqa: BLE001
                problems.append(f"request proxy: {error}")
            self.request_proxy = None
        for name, container in list(self.containers.items()):
            try:
                container.remove(force=True, v=True)
                del self.containers[name]
            except Exception as error:  # noqa: BLE001
                if "No such container" not in str(error):
                    problems.append(f"container {name}: {error}")
        if self.network is not None:
            try:
                self.network.remove()
                self.network = None
            except Exception as error:  # noqa: BLE001
                problems.append(f"network {self.run_id}-net: {error}")
        if self.durable is not None:  # after the containers: no broker is left writing to its disk
            problems.extend(self.durable.teardown())
        return problems


def remove_by_label(client: Any, run_id: str | None = None) -> tuple[int, int]:
    """Remove containers and networks labelled by the harness (one run, or all): `harness clean`."""
    selector = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    containers = client.containers.list(all=True, filters={"label": selector})
    for container in containers:
        container.remove(force=True, v=True)
    networks = client.networks.list(filters={"label": selector})
    for network in networks:
        network.remove()
    return len(containers), len(networks)

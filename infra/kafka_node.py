"""One Kafka process on one node, driven through a Remote (docker exec today, SSH for real machines).

The node script (infra/compose/node/kafka-node.sh) does the work on the node; this class uploads it with the
node's configuration and calls it. Nemeses use `kill`, `pause`, `start`; the cluster uses the rest.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.topology import ConfigValue, Node
from infra.assets import compose_dir
from infra.control.base import Remote
from infra.kafka_config import DATA_DIR, LOG_DIR, render

if TYPE_CHECKING:
    from infra.ssh_targets import ServiceCommands

NODE_DIR = "/opt/harness"
SCRIPT = f"{NODE_DIR}/kafka-node"

# Sized for many JVMs on a small machine: C1-only JIT and the serial collector start fast and leave CPU for
# the other nodes; heap is ample for test traffic.
JVM_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true"
HEAP = {"broker": "-Xms256m -Xmx768m", "controller": "-Xms128m -Xmx384m", "zookeeper": "-Xms64m -Xmx256m",
        "mirror": "-Xms128m -Xmx512m"}
MAIN_CLASS = {"zookeeper": "org.apache.zookeeper.server.quorum.QuorumPeerMain",
              "mirror": "org.apache.kafka.connect.mirror.MirrorMaker"}  # else kafka.Kafka
CONFIG_FILE = {"zookeeper": "zoo.cfg", "mirror": "mm2.properties"}  # else server.properties


def main_args(node: Node) -> str:
    """What the node script passes after the properties file. A MirrorMaker 2 node drives only the flows into
    its own DC's cluster (consume remotely, produce locally); several mirror nodes of one DC share those flows."""
    return f"--clusters {node.dc}" if node.role == "mirror" else ""  # DC names are [a-z0-9-]: no quoting


def jmx_opts(port: int) -> str:
    """Remote JMX on the node's loopback only, without auth: the per-node watchers (infra/broker_views.py)
    read it from inside the node, so no partition rule ever touches it and nothing outside can."""
    return (f"-Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.port={port} "
            f"-Dcom.sun.management.jmxremote.rmi.port={port} -Dcom.sun.management.jmxremote.host=127.0.0.1 "
            "-Djava.rmi.server.hostname=127.0.0.1 -Dcom.sun.management.jmxremote.authenticate=false "
            "-Dcom.sun.management.jmxremote.ssl=false")


@dataclass(frozen=True)
class NodeSetup:
    """What a node needs to run its Kafka process."""

    cluster_id: str
    properties: dict[str, ConfigValue]
    kafka_home: str = "/opt/kafka"
    data_dir: str = DATA_DIR
    log_dir: str = LOG_DIR
    clock_control: bool = False  # start the JVM under libfaketime so clock nemeses can move its wall clock
    jmx_port: int | None = None  # remote JMX on 127.0.0.1 of the node (per-node views), off by default
    format_args: str = ""  # more `kafka-storage format` arguments (a dynamic quorum's initial voters)


class KafkaNode:
    """`service`: an operator's own commands (systemd, pkill) for a machine whose Kafka the harness does not
    manage; then provisioning is skipped and every action runs the operator's command instead of the script."""

    def __init__(self, node: Node, remote: Remote, service: ServiceCommands | None = None) -> None:
        self.node = node
        self.remote = remote
        self.service = service

    @property
    def name(self) -> str:
        return self.node.name

    def provision(self, setup: NodeSetup) -> None:
        if self.service is not None:
            return  # the operator installed and configured this Kafka
        config_file = CONFIG_FILE.get(self.node.role, "server.properties")
        jvm_opts = JVM_OPTS + (" " + jmx_opts(setup.jmx_port) if setup.jmx_port else "")
        env = {
            "ROLE": self.node.role,
            "NODE_ID": str(self.node.node_id),
            "MAIN_CLASS": MAIN_CLASS.get(self.node.role, "kafka.Kafka"),
            "MAIN_ARGS": main_args(self.node),
            "KAFKA_HOME": setup.kafka_home,
            "DATA_DIR": setup.data_dir,
            "LOG_DIR": setup.log_dir,
            "HEAP_OPTS": HEAP.get(self.node.role, HEAP["broker"]),
            "JVM_OPTS": jvm_opts,
            "CLUSTER_ID": setup.cluster_id,
            "PROPERTIES": f"{NODE_DIR}/{config_file}",
            "CLOCK": "faketime" if setup.clock_control else "",
            "FORMAT_ARGS": setup.format_args,
        }
        env_text = "".join(f"{key}={shlex.quote(value)}\n" for key, value in env.items())
        self.remote.upload(f"{NODE_DIR}/node.env", env_text.encode())
        self.remote.upload(f"{NODE_DIR}/{config_file}", render(setup.properties).encode())
        for asset in ("log4j.properties", "log4j2.yaml"):
            self.remote.upload(f"{NODE_DIR}/{asset}", (compose_dir("node", asset)).read_bytes())
        self.remote.upload(SCRIPT, (compose_dir("node", "kafka-node.sh")).read_bytes(), mode=0o755)
        self.remote.exec(f"mkdir -p {shlex.quote(setup.log_dir)} {shlex.quote(setup.data_dir)}")

    def _call(self, action: str, timeout: float = 60.0) -> str:
        if self.service is not None:
            return self.service.run(self.remote, action, timeout)
        return self.remote.exec(f"{SCRIPT} {action}", timeout=timeout).stdout.strip()

    def format(self) -> None:
        self._call("format", timeout=120)

    def start(self) -> None:
        self._call("start")

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM, controlled shutdown), SIGKILL after 30 s."""
        self._call("stop 300", timeout=60)

    def kill(self) -> None:
        self._call("kill")

    def pause(self) -> None:
        self._call("pause")

    def resume(self) -> None:
        self._call("resume")

    def status(self) -> str:
        return self._call("status")

    def wipe(self) -> None:
        self._call("wipe")

    def set_clock(self, offset: str) -> None:
        """Move this JVM's wall clock to real time + offset (`+30s`, `-2d`, `+0`); seen within a second."""
        self._call(f"clock set {shlex.quote(offset)}")

    def strobe_clock(self, offset: str, period_s: float) -> None:
        """Flip the wall clock between +0 and offset every period_s seconds until reset."""
        self._call(f"clock strobe {shlex.quote(offset)} {period_s:g}")

    def reset_clock(self) -> None:
        self._call("clock reset")

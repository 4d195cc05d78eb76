"""Kafka on the operator's own machines, reached over SSH: what the runner uses from Cluster, without Docker.

The machines and their Kafka exist before the run and outlive it. `start` only makes sure every node runs
(provisioning and formatting first on the nodes marked `managed`); `teardown` closes the SSH connections and
nothing else: the harness never stops, wipes or uninstalls Kafka on a machine it did not create. Faults are
healed by the nemeses' final heal before teardown, as on containers.
"""

from __future__ import annotations

import math
import posixpath
import shlex
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from core.errors import HarnessError
from core.topology import ConfigValue
from infra.backend import StartedInWith
from infra.cluster import new_cluster_id
from infra.control.base import Remote, RemoteCommandError
from infra.kafka_config import broker_properties, controller_properties, format_arguments, parse
from infra.kafka_node import NODE_DIR, KafkaNode, NodeSetup
from infra.ssh_targets import SSHTarget, SSHTargets, preflight

Say = Callable[[str], None]
OpenRemotes = Callable[[SSHTargets], Mapping[str, Remote]]
Preflight = Callable[[SSHTargets, Any], None]
_MARGIN_S = 60.0  # log files changed this long before the run began are still collected (clock granularity)


@runtime_checkable
class Closable(Protocol):
    def close(self) -> None: ...


class SSHCluster(StartedInWith):
    """The operator's machines over SSH (a ClusterBackend); one stretched cluster. `open_remotes` and `check`
    default to SSH and `ssh_targets.preflight`; unit tests pass fakes."""

    jmx_port: int | None = None  # the machines' JMX is theirs to expose; the per-node views use metadata only
    teardown_action = "closing the SSH connections"
    disks: dict[str, object] = {}  # never the harness's filesystem on the operator's machines (read-only, empty)
    request_proxy = None  # the operator's listeners are theirs: no proxy in the path, request nemeses are refused

    def __init__(self, targets: SSHTargets, run_id: str, say: Say = lambda _: None, clock_control: bool = False,
                 *, open_remotes: OpenRemotes | None = None, check: Preflight | None = None) -> None:
        self.targets = targets
        self.topology = targets.topology
        self.run_id = run_id
        self.say = say
        self.clock_control = clock_control
        self.cluster_id = targets.cluster_id or new_cluster_id()
        # A dynamic quorum's initial voters are formatted with their metadata directory ids (KIP-853); a data dir
        # formatted before keeps its own (--ignore-formatted), and so its voters.
        self.directory_ids = {c.name: new_cluster_id() for c in self.topology.initial_voters}
        self.addresses: dict[str, str] = targets.addresses
        self.remotes: dict[str, Remote] = {}
        self.nodes: dict[str, KafkaNode] = {}
        self._open_remotes: OpenRemotes = open_remotes or (lambda t: t.remotes())
        self._check: Preflight = check or preflight
        self._began = time.time()

    @property
    def bootstrap_servers(self) -> str:
        return self.targets.bootstrap_servers

    def bootstraps(self) -> dict[str, str]:
        return {cluster: self.bootstrap_servers for cluster in self.topology.clusters}

    def client_bootstraps(self) -> dict[str, str]:
        return self.bootstraps()

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self.remotes = dict(self._open_remotes(self.targets))  # registered before any connects: teardown closes
        self.say(f"checking {len(self.remotes)} machines over SSH ({self.targets.source})")
        self._check(self.targets, self.remotes)
        for t in self.targets.targets:
            self.nodes[t.node.name] = KafkaNode(t.node, self.remotes[t.node.name], service=t.service)
        managed = [t for t in self.targets.targets if t.managed is not None]
        if managed:
            # Each format is a JVM start: do them side by side, as Cluster does.
            with ThreadPoolExecutor(max_workers=min(8, len(managed))) as pool:
                list(pool.map(self._provision, managed))
        for role in ("controller", "broker"):
            for t in self.targets.targets:
                if t.node.role == role:
                    self._ensure_running(t)

    def _provision(self, target: SSHTarget) -> None:
        assert target.managed is not None
        m = target.managed
        setup = NodeSetup(self.cluster_id, self._properties(target), kafka_home=m.kafka_home, data_dir=m.data_dir,
                          log_dir=m.log_dir, clock_control=self.clock_control,
                          format_args=format_arguments(self.topology, target.node, self.addresses, self.directory_ids))
        node = self.nodes[target.node.name]
        try:
            node.provision(setup)
            node.format()  # --ignore-formatted: a data dir that already holds a cluster is left as it is
        except RemoteCommandError as error:
            raise HarnessError(f"{target.node.name}: could not provision Kafka at {m.kafka_home} ({error})",
                               hint=f"format.log in {m.log_dir} there says more") from None

    def _properties(self, target: SSHTarget) -> dict[str, ConfigValue]:
        assert target.managed is not None
        path = target.managed.properties
        if path is None:
            render = controller_properties if target.node.role == "controller" else broker_properties
            props = render(self.topology, target.node, self.addresses)
            props["log.dirs"] = target.managed.data_dir
            return props
        try:
            return parse(self.remotes[target.node.name].download(path).decode(errors="replace"))
        except RemoteCommandError as error:
            raise HarnessError(f"{target.node.name}: cannot read its properties file {path} ({error})",
                               hint="point `properties` at the server.properties on that machine, or leave it "
                                    "unset to have one rendered") from None

    def _ensure_running(self, target: SSHTarget) -> None:
        """Start a stopped node, resume a paused one (left so by a crashed run), leave a running one alone:
        an operator's start command need not be safe to run twice."""
        name = target.node.name
        node = self.nodes[name]
        try:
            state = node.status()
            if state == "stopped":
                node.start()
                return
            if state == "paused":
                node.resume()
        except RemoteCommandError as error:
            raise HarnessError(f"{name}: could not bring Kafka up ({error})") from None
        if self.clock_control and target.managed is not None and not self._under_faketime(node):
            # A JVM started without libfaketime would ignore every clock fault: refuse rather than pretend.
            raise HarnessError(f"{name}: Kafka already runs there, not under libfaketime, so clock nemeses would "
                               "not move its clock",
                               hint="stop it before the run (the harness then starts it with clock control), or "
                                    "drop the clock nemeses")

    @staticmethod
    def _under_faketime(node: KafkaNode) -> bool:
        return node.remote.exec(f"p=$(cat {NODE_DIR}/kafka.pid) && grep -q libfaketime /proc/$p/maps",
                                check=False, timeout=20).ok

    def collect_logs(self, destination: Path) -> None:
        """Copy the files in each node's log dir that changed since the run began to destination/<node>/."""
        if not self.remotes:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(self.targets.targets))) as pool:
            list(pool.map(lambda t: self._collect(t, destination / t.node.name), self.targets.targets))

    def _collect(self, target: SSHTarget, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        problems: list[str] = []
        try:
            remote = self.remotes[target.node.name]
            minutes = math.ceil((time.time() - self._began + _MARGIN_S) / 60)
            listing = remote.exec(f"find {shlex.quote(target.log_dir)} -maxdepth 1 -type f -mmin -{minutes}",
                                  timeout=30)
            for path in filter(None, listing.stdout.splitlines()):
                try:
                    (folder / posixpath.basename(path)).write_bytes(remote.download(path))
                except Exception as error:  # noqa: BLE001 - one unreadable file must not stop the others
                    problems.append(f"{path}: {error}")
        except Exception as error:  # noqa: BLE001 - one node's missing logs must not stop the others
            problems.append(str(error))
        if problems:
            (folder / "collect-error.txt").write_text("".join(f"{p}\n" for p in problems))

    def teardown(self) -> list[str]:
        """Close the SSH connections; leave Kafka exactly as the nemeses' final heal left it: running."""
        if not self.remotes:
            return []
        self.say(f"leaving Kafka running on the {len(self.remotes)} machines of {self.targets.source}: the harness "
                 "never stops, wipes or uninstalls Kafka on --ssh targets")
        problems: list[str] = []
        for name, remote in self.remotes.items():
            try:
                if isinstance(remote, Closable):
                    remote.close()
            except Exception as error:  # noqa: BLE001 - close every connection, report all
                problems.append(f"ssh {name}: {error}")
        self.remotes = {}
        return problems

"""A real cluster for a user's own test code: started as `harness up` starts one, torn down like a run's.

    with live_cluster.start(topology="stretch-3dc") as cluster:
        cluster.create_topic("t", config={"min.insync.replicas": "2"})
        with cluster.recorder("history.jsonl") as history:
            with cluster.fault("partition-leader", topic="t"):
                ...  # the user's producers and consumers, recording through `history`
            history.drain("t", healed=cluster.wait_fully_replicated("t"))
        assert check(history).valid

The pytest plugin's `kafka_cluster` fixture is this, once per module. Everything created carries the run-id label
(`harness clean` finishes a teardown a crash cut short); teardown collects the logs first and runs on a normal
end, on an error, on Ctrl-C and on SIGTERM alike, shielded from a second interrupt. `fault(...)` injects a nemesis
from the registry through a NemesisSchedule of its own, so it is recorded exactly as in a run, and heals it when
the block ends, however it ends.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from core.errors import HarnessError
from core.topology import Topology
from core.waiting import WaitTimeout
from harness import console
from harness.api import CheckResult, check
from harness.cli.options import resolve_topology
from harness.recording import Recorder
from harness.runner import _shielded_from_interrupts, _terminate_as_interrupt
from infra import engine, image
from infra.admin import Admin
from infra.cluster import Cluster, new_run_id
from infra.host_processes import HostProcesses
from infra.recorder import HistoryRecorder
from nemesis import registry
from nemesis.base import Fault, NemesisContext
from nemesis.schedule import NemesisSchedule

Say = Callable[[str], None]


@contextmanager
def start(topology: str | None = None, dcs: int | None = None, brokers_per_dc: int | None = None,
          controllers: int | None = None, mode: str | None = None,
          kafka_version: str = image.DEFAULT_KAFKA_VERSION, image_tag: str | None = None,
          clock_control: bool = False, seed: int | None = None, logs_dir: Path | None = None,
          say: Say = console.say) -> Iterator[LiveCluster]:
    """A cluster of the topology `harness up` would start with the same flags, healthy (every broker registered)
    when the block begins, removed when it ends. `clock_control` starts every JVM under libfaketime (the clock
    nemeses need it); `logs_dir` receives every node's Kafka logs before the containers go."""
    topo = resolve_topology(topology, dcs, brokers_per_dc, controllers, mode)
    if topo.model != "stretch":
        raise HarnessError(f"topology {topo.name!r} is {topo.model}: a live cluster is one stretched cluster",
                           hint="active-active runs go through `harness run` (the mirror workload)")
    image.check_version(kafka_version)
    client = engine.connect()
    tag = image_tag or image.ensure_image(client, kafka_version, say)
    cluster = Cluster(client, topo, tag, new_run_id(), say, clock_control=clock_control)
    def teardown() -> None:
        with _shielded_from_interrupts() if _main_thread() else nullcontext():
            if logs_dir is not None:
                say(f"collecting the logs of {cluster.run_id} into {logs_dir}")
                cluster.collect_logs(logs_dir)
            say(f"removing cluster {cluster.run_id}")
            for problem in cluster.teardown():
                say(f"[red]teardown problem:[/red] {problem} (`harness clean` retries)")

    with ExitStack() as stack:
        if _main_thread():  # signal handlers can only be set there
            stack.enter_context(_terminate_as_interrupt())
        stack.callback(teardown)  # registered before anything exists: a half-started cluster goes too
        say(f"starting cluster {cluster.run_id}: {len(topo.brokers)} brokers in {len(topo.dcs)} DCs")
        cluster.start()
        Admin(cluster.bootstrap_servers).wait_brokers({b.node_id for b in topo.brokers}, timeout=180)
        host = HostProcesses(cluster.run_id)
        stack.callback(host.stop_all)  # after every fault healed, before the cluster goes
        say(f"cluster {cluster.run_id} is up; bootstrap {cluster.bootstrap_servers}")
        yield LiveCluster(cluster, host, clock_control, seed, say)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class LiveCluster:
    """A running cluster: where clients connect, topics, a recorder for the user's history, faults."""

    def __init__(self, cluster: Cluster, host: HostProcesses, clock_control: bool, seed: int | None,
                 say: Say) -> None:
        self.cluster = cluster
        self.host = host
        self.clock_control = clock_control
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self.rng = random.Random(self.seed)  # which node a fault hits: the same seed, the same choices
        self.say = say
        self.history: Recorder | None = None  # the active history: faults are recorded there
        self._faults = 0
        self._replication: dict[str, int] = {}  # topics this handle created

    @property
    def topology(self) -> Topology:
        return self.cluster.topology

    @property
    def run_id(self) -> str:
        return self.cluster.run_id

    @property
    def bootstrap_servers(self) -> str:
        return self.cluster.bootstrap_servers

    def admin(self) -> Admin:
        return Admin(self.bootstrap_servers)

    def create_topic(self, name: str, partitions: int = 3, replication: int | None = None,
                     config: Mapping[str, str] | None = None, timeout: float = 120.0) -> str:
        """Create a topic (replication: every broker, at most 3) and wait until every partition has a full ISR."""
        replicas = replication or min(3, len(self.topology.brokers))
        self._replication[name] = replicas
        admin = self.admin()
        admin.create_topic(name, partitions, replicas, dict(config or {}))
        admin.wait_fully_replicated(name, replicas, timeout)
        return name

    def wait_fully_replicated(self, topic: str, timeout: float = 120.0) -> bool:
        """After healing: every partition has a leader and its full ISR again. False (with a warning) if not in
        time; pass it to `Recorder.drain(healed=...)`: a drain before that may stop short of the log end."""
        # The replication factor it was created with: right after a heal, metadata may not answer at all yet.
        replicas = self._replication.get(topic, min(3, len(self.topology.brokers)))
        try:
            self.admin().wait_fully_replicated(topic, replicas, timeout)
            return True
        except WaitTimeout as error:
            self.say(f"[yellow]warning:[/yellow] {error}")
            return False

    def recorder(self, path: str | Path) -> Recorder:
        """A history for the user's producers and consumers, bound to this cluster (`drain(topic)` needs no
        servers); faults started while it is the latest one are recorded in it too."""
        self.history = Recorder(path, bootstrap_servers=self.bootstrap_servers)
        return self.history

    @contextmanager
    def fault(self, name: str, topic: str | None = None) -> Iterator[Fault]:
        """Inject one nemesis by name (`harness nemeses` lists them) for the block, then heal it, also when the
        block raises. Recorded as start-/stop-<name> and heal-all in the active history, if there is one.
        `topic`: the test topic, for nemeses that pick a partition leader. A fault that cannot start (no leader
        right now, no such DC) raises HarnessError after healing: a test must not pass under a fault it lacked."""
        nemeses = registry.parse(name)
        if len(nemeses) != 1:
            raise HarnessError(f"fault() takes one nemesis, got {name!r}", hint="nest one `with fault(...)` per fault")
        nemesis = nemeses[0]
        if nemesis.requires.clock_control and not self.clock_control:
            raise HarnessError(f"{name} moves the nodes' clocks: the cluster must run its JVMs under libfaketime",
                               hint="@pytest.mark.kafka_cluster(clock_control=True)")
        if nemesis.requires.request_proxy and self.cluster.request_proxy is None:
            raise HarnessError(f"{name} holds Kafka requests, but no request proxy is between the clients and the "
                               "brokers of this cluster", hint="request nemeses run under `harness run` for now")
        dc = nemesis.requires.dc
        if dc is not None and dc not in self.topology.dc_names():
            raise HarnessError(f"nemesis {name}: no DC named {dc!r}",
                               hint="DCs are " + ", ".join(self.topology.dc_names()))
        ctx = NemesisContext(self.topology, self.cluster.nodes, self.cluster.addresses, self.rng,
                             bootstrap_servers=self.bootstrap_servers, topic=topic or "", host=self.host)
        with ExitStack() as stack:
            history = self.history.history if self.history is not None and not self.history.closed else \
                stack.enter_context(HistoryRecorder(Path(os.devnull)))  # no history: the fault still heals
            schedule = NemesisSchedule([nemesis], ctx, history, interval=1.0, say=self.say, first_fault=self._faults)
            self._faults += 1
            stack.callback(schedule.final_heal)
            if schedule.inject(nemesis) is None:
                raise HarnessError(f"fault {name} could not start: {'; '.join(schedule.errors)}")
            (fault,) = schedule.active
            yield fault

    def run_workload(self, path: str | Path, time_limit: float = 20.0, nemesis: str | None = None,
                     topic: str = "jepsen-queue", **client: Any) -> CheckResult:
        """The built-in queue workload (workloads/queue.py) for `time_limit` seconds on a fresh `topic`, with
        `nemesis` held over the middle half of it; then heal, drain and check. `client`: ClientOptions fields
        (acks="1", idempotence=False, min_insync_replicas=1, rate=50, ...)."""
        from workloads.options import ClientOptions
        from workloads.queue import QueueWorkload

        if time_limit <= 0:
            raise HarnessError(f"time_limit must be positive, got {time_limit}")
        try:
            options = ClientOptions(topic=topic, **{"replication": min(3, len(self.topology.brokers)), **client})
        except TypeError as error:
            raise HarnessError(f"run_workload: {error}", hint="client options are ClientOptions fields") from None
        self.create_topic(topic, options.partitions, options.replication, options.topic_config())
        history = self.recorder(path)
        with history:
            workload = QueueWorkload(options, self.bootstrap_servers, history.history, self.run_id, _quiet_logger())
            with ExitStack() as stack:
                stack.callback(workload.stop)
                workload.start()
                time.sleep(time_limit / 4)  # load before the fault: its clock, not a state to wait for
                with self.fault(nemesis, topic) if nemesis else nullcontext():
                    time.sleep(time_limit / 2)
                time.sleep(time_limit / 4)
            healed = self.wait_fully_replicated(topic)
            workload.drain(120.0, healed=healed)
        return check(history, workload="queue")


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("harness.clients")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger

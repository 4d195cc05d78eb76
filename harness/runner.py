"""One test run, phase by phase: image → cluster → (workload ∥ nemesis) → heal → drain → check.

Cleanup is nested in an ExitStack in the reverse order of creation (nemesis heal, clients, logs, cluster), so
it runs on normal end, on error and on Ctrl-C alike; the history is flushed line by line and survives all three.
"""

from __future__ import annotations

import logging
import random
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import console, engine, image
from harness.admin import Admin
from harness.cluster import Cluster, new_run_id
from harness.errors import HarnessError
from harness.history import HistoryRecorder
from harness.host_processes import HostProcesses
from harness.results import ResultsDir
from harness.sampler import StateSampler
from harness.topology import Topology
from harness.waiting import WaitTimeout
from nemesis import registry, targets
from nemesis.base import NemesisContext
from nemesis.schedule import NemesisSchedule
from workloads.base import Workload
from workloads.queue import QueueOptions


@dataclass(frozen=True)
class RunOptions:
    topology: Topology
    workload: QueueOptions = field(default_factory=QueueOptions)
    workload_name: str = "queue"
    nemesis: str = "partition-dc"
    nemesis_interval: float = 10.0
    time_limit: float = 60.0
    seed: int | None = None
    kafka_version: str = image.DEFAULT_KAFKA_VERSION
    image: str | None = None
    results_root: Path = Path("results")
    test_name: str | None = None
    heal_timeout: float = 120.0
    drain_timeout: float = 120.0

    def name(self) -> str:
        return self.test_name or f"{self.workload_name}-{self.nemesis.replace(',', '+')}"


@dataclass
class RunOutcome:
    valid: bool | str
    results: Path
    result_json: dict[str, Any]
    history_counts: dict[tuple[str, str], int]


def run_test(options: RunOptions, say: Callable[[str], None] = console.say) -> RunOutcome:
    nemeses = registry.parse(options.nemesis)  # bad names fail before anything is created
    if options.workload_name not in workload_factories():
        raise HarnessError(f"unknown workload {options.workload_name!r}",
                           hint="known: " + ", ".join(sorted(workload_factories())))
    if options.time_limit <= 0 or options.nemesis_interval <= 0:
        raise HarnessError("--time-limit and --nemesis-interval must be positive")
    if options.workload.replication > len(options.topology.brokers):
        raise HarnessError(f"replication factor {options.workload.replication} needs at least that many brokers; "
                           f"the topology has {len(options.topology.brokers)}")
    image.check_version(options.kafka_version)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    client = engine.connect()
    results = ResultsDir(options.results_root, options.name())
    run_id = new_run_id()
    say(f"run {run_id}: results in {results.path}")
    image_tag = options.image or image.ensure_image(client, options.kafka_version, say)
    _write_test_json(results, options, seed, run_id, image_tag)

    with HistoryRecorder(results.history) as history, ExitStack() as stack:
        stack.enter_context(_terminate_as_interrupt())
        clock_control = any(n.name.startswith("clock-") for n in nemeses)
        cluster = Cluster(client, options.topology, image_tag, run_id, say, clock_control=clock_control)
        stack.callback(_teardown, cluster, results, say)  # registered before anything exists
        t0 = time.monotonic()
        say(f"starting {len(options.topology.brokers)} brokers and {len(options.topology.controllers)} "
            f"controllers in {len(options.topology.dcs)} DCs")
        cluster.start()
        admin = Admin(cluster.bootstrap_servers)
        admin.wait_brokers({b.node_id for b in options.topology.brokers}, timeout=120)
        workload = make_workload(options, cluster.bootstrap_servers, history, run_id)
        topic, partitions, replication, topic_config = workload.topic_spec()
        admin.create_topic(topic, partitions, replication, topic_config)
        admin.wait_fully_replicated(topic, replication, timeout=60)
        say(f"cluster healthy in {time.monotonic() - t0:.1f} s; bootstrap {cluster.bootstrap_servers}")

        host = HostProcesses(run_id)
        stack.callback(host.stop_all)  # after the nemeses healed, before the cluster goes
        ctx = NemesisContext(options.topology, cluster.nodes, cluster.addresses, random.Random(seed),
                             bootstrap_servers=cluster.bootstrap_servers, topic=topic, host=host)
        sampler = StateSampler(admin, topic, history, results.cluster_state,
                               quorum_views=lambda: targets.quorum_views(ctx))
        sampler.start()
        stack.callback(sampler.stop)
        schedule = NemesisSchedule(nemeses, ctx, history, options.nemesis_interval, say)
        stack.callback(schedule.final_heal)  # heals even if the run is interrupted
        stack.callback(workload.stop, 5.0)

        say(f"workload: {options.workload.rate:g} sends/s for {options.time_limit:g} s; "
            f"nemesis: {options.nemesis} every {options.nemesis_interval:g} s (seed {seed})")
        workload.start()
        schedule.start()
        time.sleep(options.time_limit)

        say("stopping clients and healing every fault")
        workload.stop()
        schedule.final_heal()
        healthy = _wait_healed(admin, topic, replication, options.heal_timeout, say)
        say("draining every partition to its high watermark")
        drained = workload.drain(options.drain_timeout)
        sampler.stop()

    say("checking the history")
    return _check(results, workload.checker, history.counts, healthy and drained, schedule.errors, say)


def make_workload(options: RunOptions, bootstrap: str, history: HistoryRecorder, run_id: str) -> Workload:
    """The workload named by options.workload_name; they share the client options of QueueOptions."""
    factories = workload_factories()
    return factories[options.workload_name](options.workload, bootstrap, history, run_id, _client_logger())


def workload_factories() -> dict[str, Callable[..., Workload]]:
    from workloads.registry import FACTORIES

    return FACTORIES


def _wait_healed(admin: Admin, topic: str, replication: int, timeout: float, say: Callable[[str], None]) -> bool:
    try:
        admin.wait_fully_replicated(topic, replication, timeout)
        return True
    except WaitTimeout as error:
        say(f"[yellow]warning:[/yellow] {error}; draining anyway")
        return False


def _teardown(cluster: Cluster, results: ResultsDir, say: Callable[[str], None]) -> None:
    with _shielded_from_interrupts():
        say("collecting logs and removing the cluster")
        cluster.collect_logs(results.logs)
        for problem in cluster.teardown():
            say(f"[red]teardown problem:[/red] {problem} (`harness clean` retries)")


def _check(results: ResultsDir, checker: str, counts: dict[tuple[str, str], int], complete: bool,
           nemesis_errors: list[str], say: Callable[[str], None]) -> RunOutcome:
    import checkers

    result = checkers.check_file(results.history, checker)
    data = checkers.result_to_json(result)
    data["run"] = {"complete_drain": complete, "nemesis_errors": nemesis_errors}
    results.write_json("results.json", data)
    console.plain(checkers.render_text(result))
    return RunOutcome(result.valid, results.path, data, counts)


def _write_test_json(results: ResultsDir, options: RunOptions, seed: int, run_id: str, image_tag: str) -> None:
    import confluent_kafka

    from harness import __version__

    results.write_json("test.json", {
        "name": options.name(),
        "run_id": run_id,
        "seed": seed,
        "nemesis": options.nemesis,
        "nemesis_interval": options.nemesis_interval,
        "time_limit": options.time_limit,
        "heal_timeout": options.heal_timeout,
        "drain_timeout": options.drain_timeout,
        "kafka_version": options.kafka_version if options.image is None else None,
        "image": image_tag,
        "topology": options.topology.to_json(),
        "workload": {"name": options.workload_name, **options.workload.to_json()},
        "versions": {"harness": __version__, "confluent_kafka": confluent_kafka.version()[0],
                     "librdkafka": confluent_kafka.libversion()[0]},
        "options": {k: str(v) for k, v in asdict(options).items() if k not in ("topology", "workload")},
    })


def _client_logger() -> logging.Logger:
    logger = logging.getLogger("harness.clients")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (e.g. a CI job's timeout) cleans up exactly like Ctrl-C."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _shielded_from_interrupts() -> Iterator[None]:
    """A second Ctrl-C during teardown must not leave half a cluster behind."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])

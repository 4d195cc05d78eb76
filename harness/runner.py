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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import kafka_versions
from core.errors import HarnessError
from core.topology import Node, Topology
from core.waiting import WaitTimeout, wait_until
from harness import console, preflight
from harness.progress import Progress
from harness.results import NO_FAULT_INJECTED, ResultsDir
from harness.run_options import RunOptions
from harness.run_options import to_json as run_options_json
from infra import engine, image
from infra.admin import Admin
from infra.backend import ClusterBackend
from infra.broker_views import BrokerViews, reports_voter_count
from infra.cluster import Cluster, new_run_id
from infra.host_processes import HostProcesses
from infra.recorder import ClientHistory, HistoryRecorder, client_tag
from infra.sampler import StateSampler
from nemesis import registry, targets
from nemesis.base import Nemesis, NemesisContext
from nemesis.schedule import NemesisSchedule, Step
from nemesis.wan import WanShaping
from workloads import java_workloads
from workloads import registry as workloads
from workloads.base import Workload

if TYPE_CHECKING:
    from infra.ssh_targets import SSHTargets


@dataclass
class RunOutcome:
    valid: bool | str
    results: Path
    result_json: dict[str, Any]
    history_counts: dict[tuple[str, str], int]
    check: Any = None  # the checkers.CheckResult behind result_json (harness.api renders its evidence)


def run_test(options: RunOptions, say: Callable[[str], None] | None = None,
             progress: Progress | None = None) -> RunOutcome:
    """Run one test. Messages go to `say` if given (then no live panel), else to the live progress display."""
    nemeses, ssh = _validate(options)
    options = with_workload_broker_config(options)
    progress = progress or Progress(quiet=say is not None)
    say = say or progress.say
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    client = engine.connect() if ssh is None else None  # --ssh: no Docker needed
    results = ResultsDir(options.results_root, options.name())
    run_id = new_run_id()
    say(f"run {run_id}: results in {results.path}")
    try:
        with progress:
            progress.phase("image")
            image_tag = "ssh" if ssh is not None else options.image or image.ensure_image(
                client, options.kafka_version, say)
            if options.image is not None:  # an image of ours says its release in a label; others are trusted
                labelled = image.labelled_version(client, options.image)
                if labelled is not None:
                    kafka_versions.check_mode(labelled, options.topology.mode, options.topology.kraft_voters)
            driver_libs = _java_driver_libs(options, say) if options.client == "java" else None
            _write_test_json(results, options, seed, run_id, image_tag)
            with HistoryRecorder(results.history) as history:
                progress.attach(history)
                run = _Run(options, nemeses, seed, client, image_tag, run_id, results, history, progress, say, ssh,
                           driver_libs)
                phases = run.execute()
            progress.phase("check")
        say("checking the history")
        outcome = _check(results, phases, history.counts)
        progress.summary(outcome.history_counts, outcome.result_json, outcome.results)
        return outcome
    finally:
        _write_report(results, say)


def with_workload_broker_config(options: RunOptions) -> RunOptions:
    """The node settings the workload's own options need (a KIP-848 group: the broker-side session timeout; a
    share group: the bounds of its group configs, which the controllers validate), under the topology's own: a
    setting the topology names is kept. Not on --ssh: that Kafka is the machines'."""
    topology = options.topology
    for kind in ("broker_config", "controller_config"):
        needs = getattr(options.workload_options, kind, None)
        wanted = needs() if callable(needs) and options.ssh is None else {}
        own = dict(getattr(topology, kind))
        extra = {k: v for k, v in wanted.items() if k not in own}
        if extra:
            topology = replace(topology, **{kind: tuple(sorted({**own, **extra}.items()))})
    return options if topology is options.topology else replace(options, topology=topology)


def _validate(options: RunOptions) -> tuple[list[Nemesis], SSHTargets | None]:
    """Every check on the user's options, before anything is created; the --ssh file is loaded here."""
    nemeses = registry.parse(options.nemesis)
    preflight.check(options, nemeses)  # numbers, names, versions, WAN pairs, nemeses that would inject nothing
    ssh = _ssh_targets(options.ssh, options.topology, nemeses + [s.nemesis for s in _timeline(options)]) \
        if options.ssh is not None else None
    chosen = workloads.for_topology(options.workload_name, options.topology.model)
    if options.topology.model == "active-active" and options.ssh is not None:
        raise HarnessError("--ssh runs one stretched cluster; active-active topologies run in containers")
    workloads.check_options(chosen, options.workload_options)
    fits = getattr(options.workload_options, "check_node_config", None)
    if callable(fits):  # the topology's own settings the workload's options must fit (they win over its needs)
        t = options.topology
        fits({"broker_config": dict(t.broker_config), "controller_config": dict(t.controller_config),
              **{f"{dc.name} broker_config": dict(dc.broker_config) for dc in t.dcs}})
    if options.time_limit <= 0 or options.nemesis_interval <= 0:
        raise HarnessError("--time-limit and --nemesis-interval must be positive")
    # Active-active: each cluster gets min(--replication, its brokers); one broker per DC means RF 1 there.
    if options.topology.model == "stretch" and options.workload.replication > len(options.topology.brokers):
        raise HarnessError(f"replication factor {options.workload.replication} needs at least that many brokers; "
                           f"the topology has {len(options.topology.brokers)}")
    image.check_version(options.kafka_version)
    if options.image is None and options.ssh is None:
        kafka_versions.check_mode(options.kafka_version, options.topology.mode, options.topology.kraft_voters)
    _validate_client(options, nemeses)
    _validate_durable(options, nemeses)
    return nemeses, ssh


def _needs_durable_fs(options: RunOptions, nemeses: list[Nemesis]) -> list[str]:
    """What asks for the durable filesystem under the brokers: --durable-fs, or the nemeses that need it."""
    timeline = [step.nemesis for step in _timeline(options)]
    return ((["--durable-fs"] if options.durable_fs else [])
            + [n.name for n in nemeses + timeline if n.requires.durable_fs])


def _validate_durable(options: RunOptions, nemeses: list[Nemesis]) -> None:
    wanted = _needs_durable_fs(options, nemeses)
    if wanted and options.ssh is not None:
        raise HarnessError(f"{wanted[0]} needs the harness's own filesystem under each broker's data dir, which it "
                           "mounts only in containers; on a real machine a power loss would be the machine's own",
                           hint="run it in containers (omit --ssh)")


def _timeline(options: RunOptions) -> list[Step]:
    """A scenario's exact steps, each with its nemesis."""
    return [Step(at, registry.parse(name)[0], hold) for at, name, hold in options.timeline]


CLIENTS = ("librdkafka", "java")


def check_client(options: RunOptions) -> None:
    """Whether the chosen client can run these options (a sweep's client axis asks before any run)."""
    _validate_client(options, registry.parse(options.nemesis))


def _validate_client(options: RunOptions, nemeses: list[Nemesis]) -> None:
    if options.client not in CLIENTS:
        raise HarnessError(f"unknown client {options.client!r}", hint="known: " + ", ".join(CLIENTS))
    if options.client != "java":
        if options.client_version is not None:
            raise HarnessError("--client-version is the Java driver's kafka-clients version", hint="add --client java")
        if getattr(options.workload_options, "process_time", 0):
            raise HarnessError("group: process_time is the Java driver's (librdkafka's members hold records and "
                               "keep polling: process_delay)", hint="add --client java, or use process_delay")
        return
    if options.topology.model == "active-active":
        raise HarnessError("--client java runs on one cluster, not on an active-active topology",
                           hint="the mirror workload runs on librdkafka (omit --client)")
    java_workloads.check(options.workload_name, options.workload_options)
    if options.ssh is not None:
        raise HarnessError("--client java runs its driver in a container on the cluster's Docker network",
                           hint="with --ssh, omit --client")
    cut_clients = [n.name for n in nemeses + [step.nemesis for step in _timeline(options)]
                   if n.requires.dc is not None]
    if cut_clients:
        raise HarnessError(f"{cut_clients[0]} cuts a DC off from the host's clients; the Java driver is not on "
                           "the host but in a container of its own, which it would not cut", hint="omit --client java")
    image.check_version(options.client_version or options.kafka_version, flag="--client-version")


def _java_driver_libs(options: RunOptions, say: Callable[[str], None]) -> Path:
    from infra import java_driver

    return java_driver.driver_libs(options.client_version or options.kafka_version, say)


def _ssh_targets(path: Path, topology: Topology, nemeses: list[Nemesis]) -> SSHTargets:
    """The --ssh file's machines. Nemeses that cannot act there are refused now, not mid-run; WAN shaping
    needs sch_netem on the machines, which only the run can find out (it fails with one line there)."""
    from infra import ssh_targets

    loaded = ssh_targets.load(path)
    if topology != loaded.topology or topology.nodes != loaded.topology.nodes:
        raise HarnessError(f"with --ssh the topology is the one {path} lists",
                           hint="build RunOptions with topology=ssh_targets.load(path).topology")
    proxied = [n.name for n in nemeses if n.requires.request_proxy]
    if proxied:
        raise HarnessError(f"{proxied[0]} holds Kafka requests in a proxy between the clients and the brokers; "
                           f"with --ssh the brokers' listeners are the operator's, so there is none",
                           hint="run request nemeses against containers (omit --ssh)")
    clocks = [n.name for n in nemeses if n.requires.clock_control]
    operated = [t.node.name for t in loaded.targets if t.service is not None]
    if clocks and operated:
        raise HarnessError(f"{clocks[0]} needs managed nodes, but the operator's commands run "
                           f"{', '.join(operated)} ({path})",
                           hint="clock nemeses start each JVM under libfaketime: set managed = true for every "
                                "node, or drop the clock nemeses")
    return loaded


@dataclass(frozen=True)
class Phases:
    """What the phases inside the history tell the check."""

    checker: str
    complete: bool  # healed with a full ISR, and every partition drained
    nemesis_errors: list[str]
    faults_selected: bool  # the run had nemeses to inject (not `none`, or a timeline)
    faults_injected: int  # faults that started and hit a target


@dataclass
class _Run:
    """The phases inside the history: cluster up, faults with load, heal, drain. Cleanup nests in `stack`."""

    options: RunOptions
    nemeses: list[Nemesis]
    seed: int
    client: Any
    image_tag: str
    run_id: str
    results: ResultsDir
    history: HistoryRecorder
    progress: Progress
    say: Callable[[str], None]
    ssh: SSHTargets | None = None  # the operator's machines instead of containers of ours
    driver_libs: Path | None = None  # --client java: the driver's jars

    def execute(self) -> Phases:
        options, say = self.options, self.say
        with ExitStack() as stack:
            stack.enter_context(_terminate_as_interrupt())
            self.progress.phase("cluster up")
            timeline = _timeline(options)
            every = self.nemeses + [s.nemesis for s in timeline]
            clock_control = any(n.requires.clock_control for n in every)
            cluster = self._cluster(clock_control, bool(_needs_durable_fs(options, self.nemeses)),
                                    any(n.requires.request_proxy for n in every))
            stack.callback(_teardown, cluster, self.results, say)  # registered before anything exists
            t0 = time.monotonic()
            say(f"starting {len(options.topology.brokers)} brokers and {len(options.topology.controllers)} "
                f"controllers in {len(options.topology.dcs)} DCs")
            cluster.start()
            bootstraps = cluster.bootstraps()
            admins = {name: Admin(bootstrap) for name, bootstrap in bootstraps.items()}
            for name, admin in admins.items():
                try:
                    admin.wait_brokers({b.node_id for b in _brokers_of(options.topology, name)}, timeout=180)
                except WaitTimeout as error:
                    raise WaitTimeout(f"{error}; nodes: {_node_report(cluster)}") from None
            self.progress.phase("warm-up")
            workload = (self._java_workload(cluster) if self.driver_libs is not None else
                        make_workload(options, cluster.client_bootstraps(), self.history, self.run_id))
            topic, partitions, replication, topic_config = workload.topic_spec()
            assignment = [list(r) for r in options.workload.replica_assignment] or None  # a scenario's placement
            replicas = {name: min(replication, len(_brokers_of(options.topology, name))) for name in admins}
            for name, admin in admins.items():
                config = dict(topic_config)
                if "min.insync.replicas" in config:  # a one-broker cluster of an active-active pair: RF 1
                    config["min.insync.replicas"] = str(min(int(config["min.insync.replicas"]), replicas[name]))
                admin.create_topic(topic, partitions, replicas[name], config, replica_assignment=assignment)
            for name, admin in admins.items():
                admin.wait_fully_replicated(topic, replicas[name], timeout=120)
            if len(admins) > 1:
                _wait_mirrored(admins, topic, say)
            admin = next(iter(admins.values()))
            say(f"cluster{'s' if len(admins) > 1 else ''} healthy in {time.monotonic() - t0:.1f} s; bootstrap "
                + "; ".join(f"{name}: {b}" if len(bootstraps) > 1 else b for name, b in bootstraps.items()))

            host = HostProcesses(self.run_id)
            stack.callback(host.stop_all)  # after the nemeses healed, before the cluster goes
            ctx = NemesisContext(options.topology, cluster.nodes, cluster.addresses, random.Random(self.seed),
                                 bootstrap_servers=cluster.bootstrap_servers, topic=topic, host=host,
                                 disks=cluster.disks, requests=cluster.request_proxy,
                                 share_group=getattr(workload, "share_group", ""))
            if cluster.request_proxy is not None:
                say("request proxy between the clients and the brokers: " + ", ".join(
                    f"{b} at {cluster.request_proxy.address(b)}" for b in sorted(cluster.request_proxy.ports)))
            self._shape_wan(ctx, stack)
            # The per-node views and the split-brain checks reason about one cluster's metadata; with one
            # cluster per DC they would see a "second controller" in every DC, so they stay off there.
            sampler: StateSampler | None = None
            if len(admins) == 1:
                # Asked of the JVM, not the version: an --image or --ssh cluster's release is not known here.
                voter_counts = options.topology.dynamic_quorum and cluster.jmx_port is not None and \
                    reports_voter_count(cluster.nodes[options.topology.controllers[0].name].remote, cluster.jmx_port)
                views = BrokerViews(options.topology, cluster.nodes, cluster.addresses, topic,
                                    jmx_port=cluster.jmx_port, voter_counts=voter_counts)
                views.start()
                stack.callback(views.stop)
                sampler = StateSampler(admin, topic, self.history, self.results.cluster_state,
                                       quorum_views=lambda: targets.quorum_views(ctx), views=views)
                sampler.start()
                stack.callback(sampler.stop)
            schedule = NemesisSchedule(self.nemeses, ctx, self.history, options.nemesis_interval,
                                       self.progress.nemesis, timeline=timeline)
            stack.callback(schedule.final_heal)  # heals even if the run is interrupted
            stack.callback(workload.stop, 5.0)

            say(f"workload {workload.name}: {options.workload.rate:g} sends/s for {options.time_limit:g} s; "
                f"nemesis: {options.nemesis} every {options.nemesis_interval:g} s (seed {self.seed})")
            self.progress.phase("faults", options.time_limit)
            _start(workload)
            if hasattr(workload, "client_info"):  # the version the Java driver reported, as it runs
                info = workload.client_info()
                self.results.update_json("test.json", "client", info)
                path = "a FIFO read from its container" if info["events"] == "fifo" else "docker exec (stdout)"
                say(f"client: java {info['version']} (JVM {info.get('jvm') or '?'}); its events come through {path}")
            schedule.start()
            time.sleep(options.time_limit)

            self.progress.phase("heal", timeout=options.heal_timeout)
            say("stopping clients and healing every fault")
            workload.stop()
            schedule.final_heal()
            healthy = all([_wait_healed(a, topic, replicas[name], options.heal_timeout, say)
                           for name, a in admins.items()])
            self.progress.phase("drain", timeout=options.drain_timeout)
            say("draining every partition to its high watermark")
            drained = workload.drain(options.drain_timeout, healed=healthy)
            if sampler is not None:
                sampler.stop()
        return Phases(workload.checker, healthy and drained, schedule.errors, bool(schedule.nemeses),
                      schedule.injected)


    def _java_workload(self, cluster: ClusterBackend) -> Workload:
        assert isinstance(cluster, Cluster) and self.driver_libs is not None
        machine = cluster.add_client("client-java")  # registered with the cluster: removed at its teardown
        o = self.options
        bootstrap = cluster.client_bootstraps()[o.topology.clusters[0]]
        return java_workloads.build(o.workload_name, o.workload, bootstrap, self.history,
                                    self.run_id, _client_logger(), machine, self.driver_libs,
                                    o.client_version or o.kafka_version, librdkafka_client(), o.workload_options)

    def _cluster(self, clock_control: bool, durable_fs: bool, request_proxy: bool) -> ClusterBackend:
        if self.ssh is not None:
            from infra.ssh_cluster import SSHCluster

            return SSHCluster(self.ssh, self.run_id, self.say, clock_control=clock_control)
        if durable_fs:
            self.say("every broker's data dir on the durable filesystem (infra/durable_fs)")
        return Cluster(self.client, self.options.topology, self.image_tag, self.run_id, self.say,
                       clock_control=clock_control, durable_fs=durable_fs, request_proxy=request_proxy)

    def _shape_wan(self, ctx: NemesisContext, stack: ExitStack) -> None:
        """The standing WAN between DCs, for the whole run; removed after the nemeses' final heal."""
        o = self.options
        pairs, jitters = dict(o.wan_pairs), {}
        if not (o.wan_latency_ms or o.wan_jitter_ms or o.wan_loss_pct or o.wan_pairs):  # no --wan-* flags
            from core.topology import wan_jitters_ms, wan_pairs_ms

            # the topology file's own WAN, when the flags give none
            pairs, jitters = wan_pairs_ms(o.topology), wan_jitters_ms(o.topology)
            if not pairs:
                return
        wan = WanShaping()

        def remove() -> None:
            for problem in wan.remove(ctx):
                self.say(f"[red]teardown problem:[/red] {problem}")

        stack.callback(remove)  # registered before apply: a half-applied WAN is removed too
        info = wan.apply(ctx, o.wan_latency_ms, o.wan_jitter_ms, o.wan_loss_pct, pairs=pairs or None,
                         pair_jitters=jitters or None)
        self.results.update_json("test.json", "wan", info)
        per_pair = ", ".join(f"{a}↔{b} {ms:g} ms" + (f" ± {jitters[(a, b)]:g} ms" if (a, b) in jitters else "")
                             for (a, b), ms in sorted(pairs.items()))
        self.say(f"WAN between DCs: {o.wan_latency_ms:g} ms ± {o.wan_jitter_ms:g} ms one way"
                 f"{f' ({per_pair})' if per_pair else ''}, {o.wan_loss_pct:g}% loss, via {info['mechanism']}")


def _start(workload: Workload) -> None:
    """Start the workload's clients, or end the run here: no fault is injected against a workload that did not
    start (the ExitStack then stops what it did start and tears the cluster down)."""
    try:
        workload.start()
    except HarnessError:
        raise
    except Exception as error:  # noqa: BLE001 - a client library's refusal, said in one line
        raise HarnessError(f"the {workload.name} workload did not start: {type(error).__name__}: {error}",
                           hint="the run stopped before any fault; see the broker logs in the results") from error


def _write_report(results: ResultsDir, say: Callable[[str], None]) -> None:
    """report.html, plots and junit.xml; also after a failed run (the history alone is enough)."""
    if not results.history.exists():
        return
    try:
        from harness.report import write_report

        write_report(results.path)
    except Exception as error:  # noqa: BLE001 - a report problem must not hide the verdict
        say(f"[yellow]warning:[/yellow] report not written: {error}")


def make_workload(options: RunOptions, bootstraps: dict[str, str], history: HistoryRecorder, run_id: str) -> Workload:
    """The workload the options name (workloads/registry.py), on the clusters it runs on; every op it records
    carries the client (librdkafka and its version)."""
    chosen = workloads.for_topology(options.workload_name, options.topology.model)
    return chosen.build(options.workload, bootstraps, ClientHistory(history, librdkafka_client()), run_id,
                        _client_logger(), options.workload_options)


def librdkafka_client() -> str:
    """The `client` of every op made through confluent-kafka."""
    import confluent_kafka

    return client_tag("librdkafka", confluent_kafka.libversion()[0])


def _wait_mirrored(admins: dict[str, Admin], topic: str, say: Callable[[str], None]) -> None:
    """Active-active: the load starts once MirrorMaker 2 replicates, i.e. it created every remote topic (the
    default replication policy's `<source>.<topic>`) in every cluster. Its JVM takes half a minute to start on a
    small host; a drill whose steady phase ran before that would measure nothing."""
    t0 = time.monotonic()
    for target, admin in admins.items():
        for source in admins:
            if source != target:
                wait_until(lambda a=admin, s=source: a.partitions(f"{s}.{topic}"), 240,  # type: ignore[misc]
                           f"MirrorMaker 2 to create {source}.{topic} in cluster {target}", interval=1.0)
    say(f"MirrorMaker 2 replicating between {', '.join(admins)} after {time.monotonic() - t0:.1f} s more")


def _node_report(cluster: ClusterBackend) -> str:
    """Each node's process state and its last error line: why a cluster never became healthy."""
    parts = []
    for name, node in cluster.nodes.items():
        try:
            state = node.status()
            last = node.remote.exec("grep -h -E 'ERROR|FATAL|Exception' /var/log/kafka/*.log 2>/dev/null | tail -n 1",
                                    check=False, timeout=10).stdout.strip()
        except Exception as error:  # noqa: BLE001 - a report, not a step that may fail the teardown
            state, last = "unknown", str(error)
        parts.append(f"{name} {state}" + (f" [{last[:200]}]" if last else ""))
    return "; ".join(parts)


def _brokers_of(topology: Topology, name: str) -> tuple[Node, ...]:
    return topology.brokers if name == "main" else topology.brokers_in(name)


def _wait_healed(admin: Admin, topic: str, replication: int, timeout: float, say: Callable[[str], None]) -> bool:
    try:
        admin.wait_fully_replicated(topic, replication, timeout)
        return True
    except WaitTimeout as error:
        say(f"[yellow]warning:[/yellow] {error}; draining anyway")
        return False


def _teardown(cluster: ClusterBackend, results: ResultsDir, say: Callable[[str], None]) -> None:
    with _shielded_from_interrupts():
        say(f"collecting logs and {cluster.teardown_action}")
        cluster.collect_logs(results.logs)
        for problem in cluster.teardown():
            say(f"[red]teardown problem:[/red] {problem} (`harness clean` retries)")


def _check(results: ResultsDir, phases: Phases, counts: dict[tuple[str, str], int]) -> RunOutcome:
    import checkers

    result = checkers.check_file(results.history, phases.checker)
    if results.cluster_state.exists():  # what each node believed: the split-brain checks
        from checkers.cluster import check_cluster_file, merge

        result = merge(result, check_cluster_file(results.cluster_state, results.history))
    data = checkers.result_to_json(result)
    data["run"] = {"complete_drain": phases.complete, "nemesis_errors": phases.nemesis_errors,
                   "faults_selected": phases.faults_selected, "faults_injected": phases.faults_injected}
    valid: bool | str = result.valid
    if phases.faults_selected and phases.faults_injected == 0 and valid is True:
        valid = data["valid"] = NO_FAULT_INJECTED  # a clean history under no fault proves nothing
    results.write_json("results.json", data)
    console.plain(checkers.render_text(result))
    if valid == NO_FAULT_INJECTED:
        console.plain("no selected fault took effect (see nemesis errors in results.json): this run tested nothing")
    return RunOutcome(valid, results.path, data, counts, result)


def _write_test_json(results: ResultsDir, options: RunOptions, seed: int, run_id: str, image_tag: str) -> None:
    import confluent_kafka

    from harness import __version__

    results.write_json("test.json", {
        "name": options.name(),
        "run_id": run_id,
        "seed": seed,
        "nemesis": options.nemesis,
        "timeline": [{"at": at, "nemesis": name, "hold": hold} for at, name, hold in options.timeline],
        "scenario": options.scenario,
        "nemesis_interval": options.nemesis_interval,
        "time_limit": options.time_limit,
        "heal_timeout": options.heal_timeout,
        "drain_timeout": options.drain_timeout,
        "kafka_version": options.kafka_version if options.image is None and options.ssh is None else None,
        "image": image_tag,
        "targets": {"kind": "ssh", "file": str(options.ssh)} if options.ssh is not None else {"kind": "docker"},
        "durable_fs": options.durable_fs or any(n.requires.durable_fs for n in registry.parse(options.nemesis)),
        "topology": options.topology.to_json(),
        "workload": {"name": options.workload_name, **options.workload.to_json()},
        "client": {"name": options.client, "version": options.client_version or options.kafka_version}
        if options.client == "java" else {"name": "librdkafka", "version": confluent_kafka.libversion()[0]},
        "versions": {"harness": __version__, "confluent_kafka": confluent_kafka.version()[0],
                     "librdkafka": confluent_kafka.libversion()[0]},
        "workload_options": asdict(options.workload_options) if options.workload_options is not None else None,
        "options": {k: str(v) for k, v in asdict(options).items()
                    if k not in ("topology", "workload", "workload_options")},
        "run_options": run_options_json(options),  # every option, exactly: `harness replay` reads it back
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

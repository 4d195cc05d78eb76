"""`harness run`: one full test, ending in a verdict line and the results path."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
import orjson

from core import topology
from core.errors import HarnessError
from core.units import parse_duration_ms, parse_percent
from harness import api, console
from harness.cli.options import cluster_options, cluster_version, given_flags, resolve_topology
from harness.cli.types import RATE, SECONDS, SHORT_SECONDS, SHORT_SECONDS_OR_ZERO, count
from harness.runner import RunOptions
from nemesis.wan_plan import parse_pair_latencies
from workloads.group import GroupOptions
from workloads.options import ClientOptions
from workloads.share import ShareOptions


@click.command(epilog="""\b
Examples:
  harness run                                    3 DCs, partition-dc every 10 s for 60 s
  harness run --nemesis kill,partition-dc --time-limit 120 --seed 7
  harness run --nemesis partition-leader --acks 1 --no-idempotence
  harness run --topology two-cities-three-dcs --wan-latency 20ms
  harness run --workload txn --nemesis kill-leader
  harness run --scenario zombie-leader --control  a scenario's safe variant
  harness run --ssh hosts.toml --nemesis kill    your own machines over SSH

\b
Exit codes: 0 valid, 1 anomalies found, 2 could not test.""")
@click.option("--scenario", help="Run an incident scenario by name (see `harness scenarios`) or TOML path; "
              "its topology, config, WAN and fault timeline replace the flags below.")
@click.option("--control", is_flag=True, help="With --scenario: run its safe control variant.")
@click.option("--workload", "workload_name", default="queue", show_default=True,
              help="What the clients do: queue (sends and polls), or another registered workload.")
@click.option("--client", type=click.Choice(["librdkafka", "java"]), default="librdkafka", show_default=True,
              help="The client library under test: librdkafka (confluent-kafka, in this process) or java (the Java "
                   "kafka-clients producer and consumer, in a container on the cluster's network; the queue, txn and "
                   "group workloads on one cluster: mirror and --ssh stay librdkafka's).")
@click.option("--client-version", help="--client java: the kafka-clients release to build the driver against "
              "(default: the cluster's --kafka-version).")
@click.option("--nemesis", default="partition-dc", show_default=True,
              help="Comma-separated nemeses (see `harness nemeses`), or `none`.")
@click.option("--durable-fs", is_flag=True, help="Put every broker's data dir on the harness's filesystem that "
              "drops un-fsynced writes at power loss (on by itself with the power-loss nemeses; containers only).")
@click.option("--nemesis-interval", type=SECONDS, default=10.0, show_default=True,
              help="Seconds between fault and heal (shorter than --time-limit).")
@click.option("--time-limit", type=SECONDS, default=60.0, show_default=True,
              help="Seconds of workload while faults run (at most a day).")
@click.option("--seed", type=int, help="Seed for the fault schedule (same seed, same faults).")
@cluster_options
@click.option("--ssh", "ssh_file", type=click.Path(dir_okay=False),
              help="TOML file of real machines (host, user, key, DC, how Kafka runs there): test that Kafka over "
                   "SSH instead of containers. The file is the topology.")
@click.option("--wan-latency", default="0ms", show_default=True,
              help="One-way delay added on every link between two DCs (inter-DC RTT grows by twice this).")
@click.option("--wan-jitter", default="0ms", show_default=True, help="Jitter of that delay.")
@click.option("--wan-loss", default="0%", show_default=True, help="Packet loss on every link between two DCs.")
@click.option("--wan-pairs", default="", help="Per-DC-pair one-way latency, e.g. dc1:dc2=1ms,dc1:dc3=30ms.")
@click.option("--acks", type=click.Choice(["all", "1", "0"]), default="all", show_default=True)
@click.option("--idempotence/--no-idempotence", default=None,
              help="Idempotent producer (default: on with --acks all, off otherwise).")
@click.option("--retries", type=count(0), help="Producer retries (default: retry until the delivery timeout).")
@click.option("--max-in-flight", type=count(1, 1_000_000), default=5, show_default=True,
              help="max.in.flight.requests.per.connection")
@click.option("--delivery-timeout", type=SHORT_SECONDS, default=10.0, show_default=True,
              help="Seconds until a send gives up.")
@click.option("--rate", type=RATE, default=100.0, show_default=True, help="Sends per second, all producers together.")
@click.option("--concurrency", type=count(1, 1000), default=6, show_default=True,
              help="Producer processes; producer k writes to partition k mod --partitions.")
@click.option("--consumers", type=count(0, 1000), default=2, show_default=True,
              help="Consumer processes reading during the test.")
@click.option("--partitions", type=count(1, 10_000), default=3, show_default=True, help="Partitions of the test topic.")
@click.option("--replication", type=count(1, 100), default=3, show_default=True,
              help="Replication factor of the test topic.")
@click.option("--min-insync", type=count(1, 100), default=2, show_default=True,
              help="min.insync.replicas of the test topic (1 to --replication).")
@click.option("--unclean/--no-unclean", default=False, help="unclean.leader.election.enable on the test topic.")
@click.option("--auto-commit", is_flag=True, help="--workload group: enable.auto.commit instead of committing "
              "what was processed.")
@click.option("--process-delay", type=SHORT_SECONDS_OR_ZERO, default=0.0, show_default=True,
              help="--workload group: seconds between poll() returning a record and the application finishing it.")
@click.option("--process-time", type=SHORT_SECONDS_OR_ZERO, default=0.0, show_default=True,
              help="--workload group, --client java: seconds the application spends on each batch poll() returned "
              "before it polls again (a plain poll loop).")
@click.option("--group-protocol", type=click.Choice(["classic", "consumer", "mixed"]), default="classic",
              show_default=True, help="--workload group: the group protocol of the members: classic, consumer "
              "(KIP-848, Kafka 4), or mixed (half the members on each, in one group).")
@click.option("--stall-member", type=SHORT_SECONDS_OR_ZERO, default=0.0, show_default=True,
              help="--workload group: on half the churn turns a member stops polling this many seconds (past "
              "max.poll.interval.ms, 8 s), then commits what it processed before it polls again.")
@click.option("--share-ack-mode", type=click.Choice(["explicit", "implicit"]), default="explicit", show_default=True,
              help="--workload share: explicit (each record accepted, released or rejected) or implicit (the "
              "client accepts what the last poll returned).")
@click.option("--share-mix", default="0.8,0.15,0.05", show_default=True,
              help="--workload share, explicit mode: weights of accept, release, reject.")
@click.option("--share-lock-duration", type=SHORT_SECONDS, default=10.0, show_default=True,
              help="--workload share: share.record.lock.duration.ms of the group, in seconds.")
@click.option("--share-delivery-limit", type=count(2, 10), default=5, show_default=True,
              help="--workload share: share.delivery.count.limit of the group.")
@click.option("--share-stall", type=SHORT_SECONDS_OR_ZERO, default=0.0, show_default=True,
              help="--workload share: on 5%% of its polls a member holds the records this many seconds before "
              "answering (past the lock duration: the group hands them to another member).")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--test-name", help="Name of the results folder (default: <workload>-<nemeses>): a plain name "
              "(letters, digits, . _ + -), not a path and not `latest`.")
@click.option("--json", "as_json", is_flag=True, help="Print the checker's JSON result on stdout.")
@click.option("--quiet", is_flag=True, help="Only warnings, the findings and the verdict line.")
def run(**flags: Any) -> int:
    """Run a workload against a fresh multi-DC cluster while nemeses inject faults, then check the history."""
    if flags["scenario"]:
        _refuse_what_the_scenario_fixes(click.get_current_context(), flags)
    result = api.run_from_flags(flags)
    if result.options.scenario is not None:
        from harness.scenario_summary import summarize

        for line in summarize(result.options.scenario, result.json, result.results_dir / "history.jsonl"):
            console.plain(line)
    if flags["as_json"]:
        click.echo(orjson.dumps(result.json).decode())
    console.verdict_line(result.verdict, str(result.results_dir))
    return result.exit_code


# What a user may still choose with --scenario: where results go, the seed, the Kafka build, the client under
# test (a scenario fixes the config and the faults, not the library: `harness explore` finds on either), the output.
SCENARIO_LEAVES = frozenset({"scenario", "control", "seed", "results_dir", "test_name", "kafka_version", "image_tag",
                             "client", "client_version", "as_json", "quiet"})


def _refuse_what_the_scenario_fixes(ctx: click.Context, flags: dict[str, Any]) -> None:
    """A flag the scenario would override is refused, not silently ignored: the run would not be what was asked."""
    fixed = given_flags(ctx, [name for name in flags if name not in SCENARIO_LEAVES])
    if fixed:
        raise HarnessError(f"{', '.join(fixed)} cannot be combined with --scenario: the scenario fixes its "
                           "topology, workload config, WAN and fault timeline",
                           hint="drop the flag, or copy the scenario's TOML file, edit it and pass its path")
    from harness.scenario import find

    scenario = find(flags["scenario"])
    client = given_flags(ctx, ["client", "client_version"])
    if client and scenario.unsafe.client is not None:
        raise HarnessError(f"{', '.join(client)} cannot be combined with --scenario {scenario.name}: it tests a "
                           f"client bug, so it pins the client ({scenario.unsafe.client}"
                           + (f", kafka-clients {scenario.unsafe.client_version}, control "
                              f"{scenario.control.client_version}" if scenario.unsafe.client_version else "") + ")",
                           hint="drop the flag, or copy the scenario's TOML file, edit it and pass its path")


SHARE_DEFAULTS = {"share_ack_mode": "explicit", "share_mix": "0.8,0.15,0.05", "share_lock_duration": 10.0,
                  "share_delivery_limit": 5, "share_stall": 0.0}


def _share_options(f: dict[str, Any]) -> ShareOptions:
    try:
        accept, release, reject = (float(w) for w in f["share_mix"].split(","))
    except ValueError:
        raise HarnessError(f"--share-mix {f['share_mix']!r} is not three weights", hint="e.g. 0.8,0.15,0.05") from None
    return ShareOptions(ack_mode=f["share_ack_mode"], accept=accept, release=release, reject=reject,
                        lock_duration_ms=int(f["share_lock_duration"] * 1000),
                        delivery_count_limit=f["share_delivery_limit"], stall=f["share_stall"], seed=f["seed"] or 0)


def options_from_flags(f: dict[str, Any]) -> RunOptions:
    if f["control"] and not f["scenario"]:
        raise HarnessError("--control needs --scenario NAME")
    if f["scenario"]:
        return scenario_options(f)
    if f["delivery_timeout"] <= 0:
        raise HarnessError("--delivery-timeout must be positive")
    delivery_ms = int(f["delivery_timeout"] * 1000)
    workload = ClientOptions(
        partitions=f["partitions"], replication=f["replication"], min_insync_replicas=f["min_insync"],
        unclean_leader_election=f["unclean"], acks=f["acks"], idempotence=f["idempotence"], retries=f["retries"],
        max_in_flight=f["max_in_flight"], delivery_timeout_ms=delivery_ms, request_timeout_ms=min(5000, delivery_ms),
        rate=f["rate"], concurrency=f["concurrency"], consumers=f["consumers"])
    group = None
    if f["workload_name"] == "group":
        group = GroupOptions(auto_commit=f["auto_commit"], process_delay=f["process_delay"],
                             process_time=f["process_time"],
                             group_protocol=f["group_protocol"], stall=f["stall_member"])
    elif f["workload_name"] == "share":
        group = _share_options(f)
    elif f["auto_commit"] or f["process_delay"] or f["process_time"]:
        raise HarnessError("--auto-commit, --process-delay and --process-time need --workload group")
    elif f["group_protocol"] != "classic" or f["stall_member"]:
        raise HarnessError("--group-protocol and --stall-member need --workload group")
    if f["workload_name"] != "share" and any(f.get(k, v) != v for k, v in SHARE_DEFAULTS.items()):
        raise HarnessError("--share-ack-mode, --share-mix, --share-lock-duration, --share-delivery-limit and "
                           "--share-stall need --workload share")
    topo = _topology(f)
    return RunOptions(
        topology=topo,
        workload=workload, workload_name=f["workload_name"], workload_options=group, nemesis=f["nemesis"],
        nemesis_interval=f["nemesis_interval"], time_limit=f["time_limit"], seed=f["seed"],
        kafka_version=cluster_version(f["kafka_version"], topo, f["image_tag"] or f["ssh_file"]),
        image=f["image_tag"], results_root=Path(f["results_dir"]),
        test_name=f["test_name"], wan_latency_ms=parse_duration_ms(f["wan_latency"]),
        wan_jitter_ms=parse_duration_ms(f["wan_jitter"]), wan_loss_pct=parse_percent(f["wan_loss"]),
        wan_pairs=tuple(sorted(parse_pair_latencies(f["wan_pairs"]).items())) if f["wan_pairs"] else (),
        ssh=Path(f["ssh_file"]) if f["ssh_file"] else None, client=f["client"], client_version=f["client_version"],
        durable_fs=f["durable_fs"])


def _topology(f: dict[str, Any]) -> topology.Topology:
    """From the flags, or with --ssh from the machines the file lists (the only place that choice is made)."""
    if not f["ssh_file"]:
        return resolve_topology(f["topology_file"], f["dcs"], f["brokers_per_dc"], f["controllers"], f["mode"])
    given = {"--topology": f["topology_file"], "--dcs": f["dcs"], "--brokers-per-dc": f["brokers_per_dc"],
             "--controllers": f["controllers"], "--mode": f["mode"], "--image": f["image_tag"],
             "--kafka-version": f["kafka_version"]}
    clashing = [flag for flag, value in given.items() if value is not None]
    if clashing:
        raise HarnessError(f"--ssh cannot be combined with {clashing[0]}",
                           hint="the --ssh file lists the nodes, and Kafka there is the machines' own")
    from infra import ssh_targets

    return ssh_targets.load(f["ssh_file"]).topology


def scenario_options(f: dict[str, Any]) -> RunOptions:
    """A scenario decides topology, config, WAN and faults; only where results go and the seed stay the user's."""
    from harness.scenario import find
    from harness.sweep import scenario_run_options

    scenario = find(f["scenario"])
    options = scenario_run_options(scenario, f["control"], Path(f["results_dir"]), f["seed"])
    version = f["kafka_version"] or options.kafka_version  # the flag, else the scenario's pin or the default
    # a client bug's scenario pins the client (and kafka-clients release) it tests: the flags cannot change it
    client = {} if scenario.unsafe.client else {"client": f["client"], "client_version": f["client_version"]}
    return dataclasses.replace(options, kafka_version=cluster_version(version, options.topology, f["image_tag"]),
                               image=f["image_tag"], test_name=f["test_name"] or options.test_name,
                               durable_fs=f["durable_fs"] or options.durable_fs, **client)


@click.command()
def scenarios() -> None:
    """List the incident scenarios with what each reproduces."""
    from harness.scenario import library

    for scenario in library():
        click.echo(f"{scenario.name:30} expects {', '.join(scenario.expect):24} {scenario.summary}")


@click.command()
def nemeses() -> None:
    """List every nemesis with a one-line description."""
    from nemesis import registry

    for name, description in registry.describe():
        click.echo(f"{name:20} {description}")


COMMANDS = [run, nemeses, scenarios]

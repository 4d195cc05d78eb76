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
from harness import console
from harness.cli.options import cluster_options, resolve_topology
from harness.progress import Progress
from harness.runner import RunOptions, run_test
from infra import image
from nemesis.wan_plan import parse_pair_latencies
from workloads.group import GroupOptions
from workloads.queue import QueueOptions


@click.command()
@click.option("--scenario", help="Run an incident scenario by name (see `harness scenarios`) or TOML path; "
              "its topology, config, WAN and fault timeline replace the flags below.")
@click.option("--control", is_flag=True, help="With --scenario: run its safe control variant.")
@click.option("--workload", "workload_name", default="queue", show_default=True,
              help="What the clients do: queue (sends and polls), or another registered workload.")
@click.option("--client", type=click.Choice(["librdkafka", "java"]), default="librdkafka", show_default=True,
              help="The client library under test: librdkafka (confluent-kafka, in this process) or java (the Java "
                   "kafka-clients producer and consumer, in a container on the cluster's network; queue workload).")
@click.option("--client-version", help="--client java: the kafka-clients release to build the driver against "
              "(default: the cluster's --kafka-version).")
@click.option("--nemesis", default="partition-dc", show_default=True,
              help="Comma-separated nemeses (see `harness nemeses`), or `none`.")
@click.option("--nemesis-interval", default=10.0, show_default=True, help="Seconds between fault and heal.")
@click.option("--time-limit", default=60.0, show_default=True, help="Seconds of workload while faults run.")
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
@click.option("--retries", type=int, help="Producer retries (default: retry until the delivery timeout).")
@click.option("--max-in-flight", default=5, show_default=True, help="max.in.flight.requests.per.connection")
@click.option("--delivery-timeout", default=10.0, show_default=True, help="Seconds until a send gives up.")
@click.option("--rate", default=100.0, show_default=True, help="Sends per second, all producers together.")
@click.option("--concurrency", default=6, show_default=True,
              help="Producer processes; producer k writes to partition k mod --partitions.")
@click.option("--consumers", default=2, show_default=True, help="Consumer processes reading during the test.")
@click.option("--partitions", default=3, show_default=True, help="Partitions of the test topic.")
@click.option("--replication", default=3, show_default=True, help="Replication factor of the test topic.")
@click.option("--min-insync", default=2, show_default=True, help="min.insync.replicas of the test topic.")
@click.option("--unclean/--no-unclean", default=False, help="unclean.leader.election.enable on the test topic.")
@click.option("--auto-commit", is_flag=True, help="--workload group: enable.auto.commit instead of committing "
              "what was processed.")
@click.option("--process-delay", type=float, default=0.0, show_default=True,
              help="--workload group: seconds between poll() returning a record and the application finishing it.")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--test-name", help="Name of the results folder (default: queue-<nemeses>).")
@click.option("--json", "as_json", is_flag=True, help="Print the checker's JSON result on stdout.")
@click.option("--quiet", is_flag=True, help="Only warnings, the findings and the verdict line.")
def run(**flags: Any) -> int:
    """Run a workload against a fresh multi-DC cluster while nemeses inject faults, then check the history."""
    options = options_from_flags(flags)
    outcome = run_test(options, progress=Progress(quiet=flags["quiet"]))
    if options.scenario is not None:
        from harness.scenario_summary import summarize

        for line in summarize(options.scenario, outcome.result_json, outcome.results / "history.jsonl"):
            console.plain(line)
    if flags["as_json"]:
        click.echo(orjson.dumps(outcome.result_json).decode())
    console.verdict_line(outcome.valid, str(outcome.results))
    return 0 if outcome.valid is True else 1 if outcome.valid is False else 2


def options_from_flags(f: dict[str, Any]) -> RunOptions:
    if f["control"] and not f["scenario"]:
        raise HarnessError("--control needs --scenario NAME")
    if f["scenario"]:
        return scenario_options(f)
    if f["delivery_timeout"] <= 0:
        raise HarnessError("--delivery-timeout must be positive")
    delivery_ms = int(f["delivery_timeout"] * 1000)
    workload = QueueOptions(
        partitions=f["partitions"], replication=f["replication"], min_insync_replicas=f["min_insync"],
        unclean_leader_election=f["unclean"], acks=f["acks"], idempotence=f["idempotence"], retries=f["retries"],
        max_in_flight=f["max_in_flight"], delivery_timeout_ms=delivery_ms, request_timeout_ms=min(5000, delivery_ms),
        rate=f["rate"], concurrency=f["concurrency"], consumers=f["consumers"])
    group = None
    if f["workload_name"] == "group":
        group = GroupOptions(auto_commit=f["auto_commit"], process_delay=f["process_delay"])
    elif f["auto_commit"] or f["process_delay"]:
        raise HarnessError("--auto-commit and --process-delay need --workload group")
    return RunOptions(
        topology=_topology(f),
        workload=workload, workload_name=f["workload_name"], group=group, nemesis=f["nemesis"],
        nemesis_interval=f["nemesis_interval"], time_limit=f["time_limit"], seed=f["seed"],
        kafka_version=f["kafka_version"], image=f["image_tag"], results_root=Path(f["results_dir"]),
        test_name=f["test_name"], wan_latency_ms=parse_duration_ms(f["wan_latency"]),
        wan_jitter_ms=parse_duration_ms(f["wan_jitter"]), wan_loss_pct=parse_percent(f["wan_loss"]),
        wan_pairs=tuple(sorted(parse_pair_latencies(f["wan_pairs"]).items())) if f["wan_pairs"] else (),
        ssh=Path(f["ssh_file"]) if f["ssh_file"] else None, client=f["client"], client_version=f["client_version"])


def _topology(f: dict[str, Any]) -> topology.Topology:
    """From the flags, or with --ssh from the machines the file lists (the only place that choice is made)."""
    if not f["ssh_file"]:
        return resolve_topology(f["topology_file"], f["dcs"], f["brokers_per_dc"], f["controllers"], f["mode"])
    given = {"--topology": f["topology_file"], "--dcs": f["dcs"], "--brokers-per-dc": f["brokers_per_dc"],
             "--controllers": f["controllers"], "--mode": f["mode"], "--image": f["image_tag"],
             "--kafka-version": None if f["kafka_version"] == image.DEFAULT_KAFKA_VERSION else f["kafka_version"]}
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

    options = scenario_run_options(find(f["scenario"]), f["control"], Path(f["results_dir"]), f["seed"])
    return dataclasses.replace(options, kafka_version=f["kafka_version"], image=f["image_tag"],
                               test_name=f["test_name"] or options.test_name, client=f["client"],
                               client_version=f["client_version"])


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

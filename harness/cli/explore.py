"""`harness explore`: random fault mixes on the safe config for a time budget, keeping every run that found one."""

from __future__ import annotations

import datetime
import random
from pathlib import Path

import click

from harness import console
from harness.cli.main import EXIT_ANOMALIES, EXIT_ERROR, EXIT_VALID
from harness.cli.types import SECONDS


@click.command(epilog="""\b
Examples:
  harness explore --budget 3600 --run-time 40
  harness explore --budget 300 --run-time 40 --seed 1
  harness explore --budget 7200 --run-time 60 --workload txn --client java --faults request,kill
  harness explore --budget 1800 --run-time 45 --kafka-version 3.9.1 --faults partition,clock

\b
Exit codes: 0 every run valid, 1 a finding, 2 interrupted or the harness could not test.""")
@click.option("--budget", type=SECONDS, required=True, help="Seconds for the whole explore: no run starts that "
              "would end past it (judged by the longest run so far).")
@click.option("--run-time", type=SECONDS, required=True,
              help="Seconds of workload per run, faults included (at least 10); a run takes about a minute more.")
@click.option("--seed", type=int, help="Seed of the whole explore: the same seed, the same runs' seeds and timelines "
              "(default: a random one, printed).")
@click.option("--kafka-version", metavar="X.Y.Z", help="Kafka release of every run (default: the harness's).")
@click.option("--client", type=click.Choice(["librdkafka", "java"]), default="librdkafka", show_default=True,
              help="The client library under test.")
@click.option("--workload", type=click.Choice(["queue", "txn", "group"]), default="queue", show_default=True,
              help="What the clients do; the request holds drawn are the workload's own requests.")
@click.option("--faults", default="request,pause,kill,partition,clock", show_default=True,
              help="Comma-separated fault kinds to draw from: request (request-level holds: delay, strand, drop, "
                   "duplicate), pause, kill, partition, clock.")
@click.option("--results-dir", type=click.Path(file_okay=False),
              help="Where explore.json, explore.md, the findings' scenario files and runs go (default: "
                   "results/explore/<timestamp>).")
def explore(budget: float, run_time: float, seed: int | None, kafka_version: str | None, client: str,
            workload: str, faults: str, results_dir: str | None) -> int:
    """Run random mixes of faults on the safe config (acks=all, idempotence, min.insync.replicas=2, no unclean
    election) for a time budget; keep every run that found an anomaly with its seed, timeline and a scenario file."""
    from core.topology import default_topology
    from harness import explore as exploring
    from harness.cli.options import cluster_version

    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    plan = exploring.Plan(
        budget=budget, run_time=run_time,
        seed=seed if seed is not None else random.SystemRandom().randrange(2**31),
        kafka_version=cluster_version(kafka_version, default_topology(), None), client=client, workload=workload,
        kinds=tuple(kind.strip() for kind in faults.split(",") if kind.strip()),
        root=Path(results_dir) if results_dir else Path("results") / "explore" / stamp)
    exploring.check(plan)
    console.say(f"exploring for {budget:g} s, {run_time:g} s runs, seed {plan.seed}: Kafka {plan.kafka_version}, "
                f"{client}, {workload} workload, faults {', '.join(plan.kinds)}; results in {plan.root}")
    summary = exploring.explore(plan, say=console.say)
    paths = exploring.paths(plan.root)  # written by the explore, after every run and at its end
    console.plain(paths[1].read_text())
    console.say(f"stopped ({summary.stopped}) after {len(summary.runs)} run(s), {len(summary.findings)} finding(s): "
                + ", ".join(str(p) for p in paths))
    if summary.findings:
        return EXIT_ANOMALIES
    if summary.stopped != "budget" or not any(run.verdict == exploring.VALID for run in summary.runs):
        return EXIT_ERROR
    return EXIT_VALID


COMMANDS = [explore]

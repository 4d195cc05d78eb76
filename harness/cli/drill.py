"""`harness drill`: a disaster-recovery drill (a DC lost, clients fail over and back) with RTO and RPO."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness import console
from harness.cli.options import resolve_topology
from harness.cli.types import RATE, SECONDS
from harness.drill import DrillPlan, drill_options, summary_lines, write_figures
from harness.progress import Progress
from harness.runner import RunOptions, run_test
from workloads.options import ClientOptions


@click.command(epilog="""\b
Examples:
  harness drill                                  active-active, dc1 cut off for 40 s
  harness drill --disaster --outage 60           dc1's brokers destroyed
  harness drill --topology stretch-3dc --fail dc2""")
@click.option("--topology", "topology_file", default="active-active", show_default=True,
              help="A preset name (`harness up --help` lists them) or TOML file.")
@click.option("--fail", "fail_dc", default="dc1", show_default=True, help="The DC that is lost.")
@click.option("--disaster", is_flag=True, help="Destroy the DC's brokers (disks wiped), not only cut it off.")
@click.option("--steady", type=SECONDS, default=20.0, show_default=True, help="Seconds of load before the failure.")
@click.option("--outage", type=SECONDS, default=40.0, show_default=True, help="Seconds the DC stays lost.")
@click.option("--after", type=SECONDS, default=25.0, show_default=True, help="Seconds of load after it returns.")
@click.option("--rate", type=RATE, default=60.0, show_default=True, help="Sends per second in each cluster.")
@click.option("--seed", type=int)
@click.option("--kafka-version", default=None, help="Kafka release of the image (default: the harness's).")
@click.option("--image", "image_tag", help="Use this local image instead of building one.")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
def drill(**f: Any) -> int:
    """Lose a DC under steady load, fail the clients over and back, and measure RTO, RPO, skips and re-reads."""
    topology = resolve_topology(f["topology_file"], None, None, None)
    plan = DrillPlan(f["fail_dc"], f["disaster"], f["steady"], f["outage"], f["after"])
    base = RunOptions(topology=topology, workload=ClientOptions(rate=f["rate"], concurrency=3, partitions=3),
                      seed=f["seed"], image=f["image_tag"], results_root=Path(f["results_dir"]),
                      **({"kafka_version": f["kafka_version"]} if f["kafka_version"] else {}))
    options = drill_options(plan, base)
    outcome = run_test(options, progress=Progress())
    figures = write_figures(outcome.results)
    for line in summary_lines(figures):
        console.plain(line)
    console.verdict_line(outcome.valid, str(outcome.results))
    return 0 if outcome.valid is True else 1 if outcome.valid is False else 2


COMMANDS = [drill]

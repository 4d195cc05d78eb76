"""`harness clean`: finish the teardown of runs that crashed (everything labelled harness.run-id)."""

from __future__ import annotations

import click

from harness import console
from infra import engine, host_processes
from infra.cluster import remove_by_label
from infra.durable_fs import disks


@click.command()
@click.option("--run-id", help="Only this run (default: every run's leftovers).")
def clean(run_id: str | None) -> None:
    """Remove containers and networks left behind by crashed or `up` runs."""
    runs = [run_id] if run_id else host_processes.recorded_runs()
    stopped = sum(host_processes.stop_run(r) for r in runs)
    containers, networks = remove_by_label(engine.connect(), run_id)
    for problem in [p for r in ([run_id] if run_id else disks.recorded_runs()) for p in disks.clean_run(r)]:
        console.say(f"could not clean up: {problem}")  # after the containers: nothing writes to the disks
    console.say(f"removed {containers} containers and {networks} networks; ended {stopped} host processes")


COMMANDS = [clean]

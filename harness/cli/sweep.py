"""`harness sweep`: detection figures for the scenario library, or the config-safety matrix of a grid."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import click

from core.errors import HarnessError
from harness import console
from harness.cli.options import given_flags, resolve_topology
from harness.cli.types import SECONDS, count


class _SweepCommand(click.Command):
    """`harness sweep merge DIR...` is a command of its own under the sweep's name; anything else is a sweep."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args[:1] == ["merge"]:
            ctx.meta[_MERGE_ARGS] = args[1:]
            return []
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        if _MERGE_ARGS in ctx.meta:
            args = list(ctx.meta.pop(_MERGE_ARGS))
            with merge.make_context(f"{ctx.info_name} merge", args, parent=ctx.parent) as sub:
                return merge.invoke(sub)
        return super().invoke(ctx)


_MERGE_ARGS = "harness.sweep.merge-args"


@click.command(cls=_SweepCommand, epilog="""\b
Examples:
  harness sweep --scenarios all --runs 3
  harness sweep --scenarios zombie-leader,unclean-election --runs 5
  harness sweep --grid acks=1,all min.insync.replicas=1,2 --nemesis partition-leader --runs 1
  harness sweep --scenarios all --runs 10 --shard 2/4 --results-dir shard-2   (on machine 2 of 4)
  harness sweep merge shard-1 shard-2 shard-3 shard-4 --out matrix           (one matrix of the 4)""")
@click.argument("axes", nargs=-1)
@click.option("--scenarios", "names", help="`all` or comma-separated scenario names: run each unsafe and control.")
@click.option("--grid", is_flag=True, help="Sweep a config grid instead: AXES are KEY=V1,V2 (acks, "
              "min.insync.replicas, unclean, idempotence, replication, max.in.flight, retries).")
@click.option("--nemesis", default="partition-leader,kill-dc", show_default=True,
              help="With --grid: comma-separated nemeses; each combination runs under each one separately.")
@click.option("--runs", type=count(1, 1000), default=3, show_default=True, help="Runs of each variant / combination.")
@click.option("--time-limit", type=SECONDS, default=60.0, show_default=True,
              help="With --grid: seconds of workload per run.")
@click.option("--nemesis-interval", type=SECONDS, default=15.0, show_default=True,
              help="With --grid: seconds between faults.")
@click.option("--kafka-versions", metavar="X.Y.Z,...", help="Run every case on each of these Kafka releases "
              "(e.g. 3.9.1,4.0.0,4.3.1); a release that cannot run a case (ZooKeeper mode on 4.x) leaves it not run. "
              "Default: each case on its own release (a ZooKeeper scenario's pin, else the default).")
@click.option("--clients", metavar="CLIENT,...", help="Run every case through each of these clients "
              "(librdkafka,java); a case a client cannot run (the Java driver runs the queue workload, and no "
              "nemesis that cuts the host's clients off) is left not run, with the reason. Default: librdkafka.")
@click.option("--results-dir", type=click.Path(file_okay=False),
              help="Where the matrix and every run go (default: results/sweeps/<kind>-<timestamp>).")
@click.option("--shard", metavar="I/N", help="Run only shard I of N: a fixed 1/N of the runs, the same on "
              "every machine given the same sweep; `harness sweep merge` joins the N results directories.")
def sweep(axes: tuple[str, ...], names: str | None, grid: bool, nemesis: str, runs: int, time_limit: float,
          nemesis_interval: float, kafka_versions: str | None, clients: str | None, results_dir: str | None,
          shard: str | None) -> int:
    """Run every scenario's unsafe and control variant N times (or a config grid under some nemeses) and write
    a matrix: detection rate, time to first anomaly, false alarms, availability lost (Markdown, HTML, JSON)."""
    from core import kafka_versions as versions
    from harness import sweep as sweeps
    from harness import sweep_axes, sweep_shards

    chosen_shard = sweep_shards.parse_shard(shard) if shard is not None else None
    if grid == bool(names):
        raise HarnessError("give either --scenarios NAMES or --grid KEY=V1,V2 ...",
                           hint="harness sweep --scenarios all --runs 3")
    if axes and not grid:
        raise HarnessError(f"unexpected argument {axes[0]!r}", hint="grid axes need --grid")
    if not grid:
        fixed = given_flags(click.get_current_context(), ("nemesis", "time_limit", "nemesis_interval"))
        if fixed:
            raise HarnessError(f"{fixed[0]} applies to --grid only: each scenario fixes its own faults and duration",
                               hint="drop it, or sweep a grid")
    run_axes = [sweep_axes.kafka_axis(versions.parse_list(kafka_versions) if kafka_versions is not None else ()),
                sweep_axes.client_axis(clients.split(",") if clients is not None else ())]
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    kind = "grid" if grid else "scenarios"
    root = Path(results_dir) if results_dir else Path("results") / "sweeps" / f"{kind}-{stamp}"
    if grid:
        parsed = sweeps.parse_grid(axes)
        from nemesis import registry

        chosen = [n.strip() for n in nemesis.split(",") if n.strip()]
        topology = resolve_topology(None, None, None, None, None)
        for name in chosen:  # an unknown nemesis, or one with nothing to act on, is refused before the first run
            registry.refuse_unmet(registry.parse(name), topology)
        if nemesis_interval >= time_limit:
            raise HarnessError(f"--nemesis-interval {nemesis_interval:g} s is not shorter than --time-limit "
                               f"{time_limit:g} s: no run would inject a fault")
        cases = sweeps.grid_cases(parsed, chosen, topology, root, time_limit, nemesis_interval)
        title = "Config-safety matrix"
        notes = [f"{runs} run(s) per cell, {time_limit:g} s of workload, a fault every {nemesis_interval:g} s; "
                 "other settings: harness defaults (RF 3, 3 DCs, one broker each)."]
    else:
        cases = sweeps.scenario_cases(_scenarios(names or ""), root)
        title = "Scenario detection matrix"
        notes = [f"{runs} run(s) per variant. Unsafe rows: runs that found an expected anomaly. Control rows: "
                 "runs with any failing anomaly (false alarms)."]

    plan = sweep_shards.Plan(kind, title, tuple(notes), tuple(sweep_axes.expand(cases, run_axes)), runs,
                             tuple(axis.name for axis in run_axes))
    paths = sweep_shards.execute(plan, root, console.say, chosen_shard)  # the matrix grows as runs finish
    console.plain(paths[0].read_text())
    console.say("matrix: " + ", ".join(str(p) for p in paths))
    return 0


@click.command(epilog="""\b
Examples:
  harness sweep merge shard-1 shard-2 --out results/sweeps/nightly
  harness sweep merge artifacts/sweep-shard-*""")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False),
              help="Where the merged matrix and the runs go (default: results/sweeps/<kind>-merged-<timestamp>).")
def merge(dirs: tuple[str, ...], out: str | None) -> int:
    """Join the results directories of every shard of one sweep (`harness sweep ... --shard I/N`) into the
    matrix an unsharded sweep would have written; refuses shards of different sweeps, or missing, repeated or
    unfinished shards."""
    from harness import sweep_shards

    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = Path(out) if out else Path("results") / "sweeps" / f"{sweep_shards.kind_of(Path(dirs[0]))}-merged-{stamp}"
    paths = sweep_shards.merge([Path(d) for d in dirs], target)
    console.plain(paths[0].read_text())
    console.say(f"merged {len(dirs)} shard(s); matrix: " + ", ".join(str(p) for p in paths))
    return 0


def _scenarios(names: str) -> list[Any]:
    from harness.scenario import find, library

    if names.strip() == "all":
        return library()
    return [find(name.strip()) for name in names.split(",") if name.strip()]


COMMANDS = [sweep]

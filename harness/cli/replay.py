"""`harness replay RESULTS_DIR` re-runs a run exactly; `harness shrink RESULTS_DIR` shrinks its fault timeline."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any

import click
import orjson

from core.errors import HarnessError
from harness import console
from harness.cli.types import count


@click.command(epilog="""\b
Examples:
  harness replay results/latest
  harness replay results/scenario-acks1-leader-failover-unsafe/20261202T050000 --results-dir replays""")
@click.argument("results", type=click.Path(file_okay=False))
@click.option("--results-dir", type=click.Path(file_okay=False),
              help="Where the replay's results go (default: the original run's results root).")
def replay(results: str, results_dir: str | None) -> int:
    """Run a run again from its results directory: the same options, fault timeline and seed (test.json)."""
    from harness import api
    from harness import replay as replays
    from harness.runner import run_test

    recorded = replays.read(Path(results))
    options = recorded.options if results_dir is None else dataclasses.replace(
        recorded.options, results_root=Path(results_dir))
    console.say(f"replaying {recorded.directory} (seed {options.seed}); it found: "
                f"{', '.join(recorded.failures) or 'no failing anomaly'}")
    result = api.RunResult.of_outcome(run_test(options), options)
    console.verdict_line(result.verdict, str(result.results_dir))
    return result.exit_code


@click.command(epilog="""\b
Examples:
  harness shrink results/latest --max-runs 12
  harness shrink results/scenario-acks1-leader-failover-unsafe/20261202T050000 --anomaly lost-write""")
@click.argument("results", type=click.Path(file_okay=False))
@click.option("--anomaly", help="The anomaly kind that must keep appearing (default: the run's expected one, "
              "else its first failing one).")
@click.option("--max-runs", type=count(1, 1000), default=10, show_default=True,
              help="Runs at most, the replay of the original timeline included.")
@click.option("--min-hold", type=float, default=1.0, show_default=True, help="Seconds: no fault is held shorter.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Where the shrunk scenario, shrink.json and every run go (default: results/shrink/<name>-<time>).")
def shrink(results: str, anomaly: str | None, max_runs: int, min_hold: float, out: str | None) -> int:
    """Delta-debug a failing run's fault timeline: replay it, remove faults, then shorten them, re-running while
    the same anomaly kind still appears; write the smallest timeline found as a scenario TOML, with how many
    runs each step took."""
    from core.anomalies import CATALOG
    from harness import replay as replays
    from harness import shrink as shrinking
    from harness.scenario import find

    recorded = replays.read(Path(results))
    options = recorded.options
    if not options.timeline or options.scenario is None:
        raise HarnessError(f"{results} is not a scenario run: shrink works on a fault timeline",
                           hint="shrink a `harness run --scenario NAME` run")
    kind = anomaly or _default_kind(recorded.failures, tuple(options.scenario.get("expect", ())), results)
    if kind not in CATALOG:
        raise HarnessError(f"unknown anomaly {kind!r}", hint="`harness check --help` and README list them")
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = Path(out) if out else Path("results") / "shrink" / f"{options.name()}-{stamp}"
    source = Path(str(options.scenario.get("source", "")))
    scenario = find(str(source) if source.suffix == ".toml" and source.is_file() else options.scenario["name"])
    console.say(f"shrinking {len(options.timeline)} fault(s) of {results} while {kind} appears "
                f"(seed {options.seed}, at most {max_runs} run(s)) into {target}")
    found = shrinking.shrink(options.timeline, _runner(options, kind, target / "runs"), max_runs, min_hold)
    target.mkdir(parents=True, exist_ok=True)
    (target / "shrink.json").write_bytes(orjson.dumps({"anomaly": kind, "seed": options.seed, "from": results,
                                                       **shrinking.to_json(found)}, option=orjson.OPT_INDENT_2))
    if not found.reproduced:
        raise HarnessError(f"the replay of {results} did not show {kind} again: nothing to shrink "
                           f"({target / 'shrink.json'})", hint="replay it a few times (`harness replay`)")
    toml = target / f"{scenario.name}-shrunk.toml"
    toml.write_text(shrinking.scenario_toml(Path(scenario.source).read_text(), f"{scenario.name}-shrunk", found, kind,
                                            Path(results), options.seed or 0))
    for phase in found.phases:
        console.say(f"{phase.name}: {phase.runs} run(s), {len(phase.before)} -> {len(phase.after)} fault(s)")
    console.say(f"smallest timeline after {found.runs} run(s)"
                f"{' (stopped at --max-runs)' if found.out_of_runs else ''}: {toml}")
    console.plain(toml.read_text())
    return 0


def _default_kind(failures: tuple[str, ...], expect: tuple[str, ...], results: str) -> str:
    if not failures:
        raise HarnessError(f"{results} found no failing anomaly: nothing to shrink",
                           hint="shrink a run whose verdict was INVALID, or name one with --anomaly")
    return next((name for name in failures if name in expect), failures[0])


def _runner(options: Any, kind: str, root: Path) -> Any:
    """One real run of a candidate timeline: (did `kind` appear, what the run found)."""
    from core.anomalies import fails
    from harness.runner import run_test

    def still_fails(timeline: tuple[tuple[float, str, float], ...]) -> tuple[bool, str]:
        steps = [{"at": at, "nemesis": nemesis, "hold": hold} for at, nemesis, hold in timeline]
        candidate = dataclasses.replace(options, timeline=timeline, results_root=root,
                                        scenario={**options.scenario, "timeline": steps})
        try:
            outcome = run_test(candidate, say=lambda message: None)
        except HarnessError as error:  # a run that could not finish shows no anomaly; the log says why
            return False, f"harness error: {error}"
        found = sorted(n for n, e in outcome.result_json.get("anomalies", {}).items() if e and fails(n))
        console.say(f"  {len(timeline)} fault(s), holds {[h for _, _, h in timeline]}: "
                    f"{', '.join(found) or 'valid'} ({outcome.results})")
        return kind in found, f"found {', '.join(found) or 'nothing'}; {outcome.results}"
    return still_fails


COMMANDS = [replay, shrink]

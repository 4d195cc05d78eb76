"""`harness report DIR` rebuilds a run's report; `harness runs` lists past runs with their verdicts."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from core.errors import HarnessError
from harness import console
from harness.cli.types import count
from harness.report import REPORT, write_report
from harness.report.runs import find_runs, results_problem


@click.command(epilog="""\b
Examples:
  harness report results/latest
  harness report results/queue-partition-dc/20261123T091502

\b
Exit codes: 0 written, 2 the run's results.json is unreadable (the report
and junit.xml are still written and say the verdict is unknown).""")
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report(results_dir: Path) -> None:
    """Write report.html, PNG plots and junit.xml into RESULTS_DIR (e.g. results/latest) from its files."""
    written = write_report(results_dir)  # also when results.json is broken: an old green junit.xml must go
    problem = results_problem(results_dir)
    if problem:
        raise HarnessError(f"{problem}: the report and junit.xml say the verdict is unknown",
                           hint=f"check the history again: harness check {results_dir / 'history.jsonl'}")
    console.say(f"wrote {', '.join(p.name for p in written)}")
    console.plain(f"report: {results_dir / REPORT}")


@click.command()
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="The results root that `harness run --results-dir` wrote to.")
@click.option("--limit", type=count(0), default=30, show_default=True, help="Show at most this many runs (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as one JSON array on stdout.")
def runs(results_dir: Path, limit: int, as_json: bool) -> None:
    """List past runs, newest first, with their verdicts and anomalies."""
    found = find_runs(results_dir)
    shown = found[:limit] if limit > 0 else found
    if as_json:
        click.echo(orjson.dumps([run.to_json() for run in shown]).decode())
    elif not found:
        console.say(f"no runs under {results_dir}")
    else:
        width = max(len(run.test) for run in shown)
        for run in shown:
            anomalies = ", ".join(f"{name} × {count}" for name, count in run.anomalies) or "-"
            console.plain(f"{run.stamp:18} {run.test:{width}} {run.verdict:11} {anomalies:30} {run.path}")
        if len(shown) < len(found):
            console.say(f"{len(found) - len(shown)} older runs not shown (--limit 0 shows all)")
    broken = [run for run in found if run.problem]
    if broken:  # listed, and the exit code says so: a CI step must not read a broken result as fine
        raise HarnessError(f"{len(broken)} run(s) with unreadable results: {broken[0].problem}",
                           hint="re-check with `harness check DIR/history.jsonl`, then `harness report DIR`")


COMMANDS = [report, runs]

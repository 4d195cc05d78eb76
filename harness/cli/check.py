"""`harness check HISTORY`: check any history in the shared format; JSON on stdout, explanation on stderr.
With cluster-state.jsonl next to the history (a run's results folder), the split-brain checks run too.

Exit 0 valid, 1 anomalies found, 2 could not check (unreadable or invalid input, or nothing to check).
"""

from __future__ import annotations

import click
import orjson

import checkers
from harness import api, console
from harness.cli.types import SHORT_SECONDS_OR_ZERO


@click.command(epilog="""\b
Examples:
  harness check results/latest/history.jsonl
  harness check my-client-history.jsonl --json > result.json
  harness check history.jsonl --workload txn

\b
Exit codes: 0 valid, 1 anomalies found, 2 could not check (the history is
unreadable or breaks the format: one line naming the line number).""")
@click.argument("history", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.option("--workload", type=click.Choice(list(checkers.WORKLOADS)), default="auto", show_default=True,
              help="Which anomaly families to check (auto: every family whose ops the history has).")
@click.option("--grace", type=SHORT_SECONDS_OR_ZERO, default=5.0, show_default=True,
              help="Seconds two nodes may both claim the controller or a partition (failover) before it is a "
                   "split brain; used when cluster-state.jsonl is next to the history.")
def check(history: str, as_json: bool, workload: str, grace: float) -> int:
    """Check a history.jsonl for anomalies (docs/history-format.md)."""
    result = api.check(history, workload, grace)
    if as_json:
        click.echo(orjson.dumps(result.json, option=orjson.OPT_INDENT_2).decode())
    console.plain(str(result))
    return result.exit_code


COMMANDS = [check]

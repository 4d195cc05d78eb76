"""The report of one results directory: report.html, PNG plots and junit.xml, written next to the history.

Reads only the files of the results directory (history.jsonl, results.json, test.json, cluster-state.jsonl), so
`harness report DIR` rebuilds it at any time, also for runs made elsewhere; only history.jsonl is required.
"""

from __future__ import annotations

from pathlib import Path

from harness.report.data import RunData, load_run
from harness.report.runs import results_problem

REPORT = "report.html"
JUNIT = "junit.xml"

__all__ = ["JUNIT", "REPORT", "RunData", "load_run", "write_report"]


def write_report(results_dir: Path) -> list[Path]:
    """Write the plots, junit.xml and report.html into `results_dir`; returns the files written."""
    from harness.report.html import write_html  # matplotlib loads only when a report is written
    from harness.report.junit import write_junit
    from harness.report.plots import write_plots

    data = load_run(results_dir)
    problem = results_problem(results_dir)
    if problem:  # a results.json that parses but is no checker result is as unreadable as one that does not
        data.results = None
        data.problems = [p for p in data.problems if not p.startswith("results.json")] + [problem]
    written = write_plots(data, results_dir)
    written.append(write_junit(data, results_dir / JUNIT))
    written.append(write_html(data, results_dir / REPORT))  # last: it embeds the plots and links the rest
    return written

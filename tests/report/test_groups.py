"""Consumer groups by protocol, side by side, in the report and the final summary."""

from __future__ import annotations

from rich.console import Console

from harness.progress import summary_table
from harness.report.data import group_rows

STATS = {"groups": {"g": {"protocols": {"classic": 2, "consumer": 3}, "rebalances": {"classic": 4, "consumer": 5},
                          "redelivered_by_protocol": {"classic": 10}, "zombie_reads": 1, "fenced_commits": 2}}}


def test_each_protocol_of_a_group_is_a_row_with_its_redeliveries_per_rebalance() -> None:
    assert group_rows(STATS) == [("g", "classic", 2, 4, 10, "2.5"), ("g", "consumer", 3, 5, 0, "0.0")]
    assert group_rows({"groups": {"g": {"commits": 1}}}) == [] and group_rows(None) == []


def test_the_summary_shows_the_protocols_side_by_side() -> None:
    console = Console(width=160, record=True)
    console.print(summary_table({}, {"valid": True, "anomalies": {}, "stats": STATS}, "r", ascii_only=True))
    text = console.export_text()
    assert "consumer groups by protocol" in text and "2.5" in text and "consumer" in text

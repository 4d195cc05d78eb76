from pathlib import Path

import orjson
from click.testing import CliRunner

from harness.cli.report import report, runs
from tests.report.conftest import make_results_dir


def test_report_command_regenerates_the_report(results_dir: Path) -> None:
    outcome = CliRunner().invoke(report, [str(results_dir)])
    assert outcome.exit_code == 0, outcome.output
    assert (results_dir / "report.html").is_file() and (results_dir / "junit.xml").is_file()
    assert f"report: {results_dir / 'report.html'}" in outcome.output


def test_report_command_refuses_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(report, [str(tmp_path / "nope")])
    assert outcome.exit_code == 2


def test_runs_lists_past_runs_newest_first_with_their_verdicts(tmp_path: Path) -> None:
    older = make_results_dir(tmp_path)
    newer = older.parent / "20260102T080000"
    newer.mkdir()
    (newer / "history.jsonl").write_bytes((older / "history.jsonl").read_bytes())
    (newer / "results.json").write_bytes(orjson.dumps({"valid": True, "anomalies": {}}))
    unchecked = older.parent.parent / "queue-kill" / "20260101T130000"
    unchecked.mkdir(parents=True)
    (unchecked / "history.jsonl").write_bytes(b"")
    (tmp_path / "results" / "latest").symlink_to(newer.relative_to(tmp_path / "results"))

    outcome = CliRunner().invoke(runs, ["--results-dir", str(tmp_path / "results"), "--json"])
    assert outcome.exit_code == 0, outcome.output
    listed = orjson.loads(outcome.stdout)
    assert [(r["stamp"], r["test"], r["verdict"]) for r in listed] == [
        ("20260102T080000", "queue-partition-dc", "valid"),
        ("20260101T130000", "queue-kill", "not checked"),
        ("20260101T120000", "queue-partition-dc", "invalid")]
    assert listed[2]["anomalies"] == {"lost-write": 1}

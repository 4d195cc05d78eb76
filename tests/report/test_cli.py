from pathlib import Path

import orjson
import pytest
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


# ---- corrupt results never look green (issue 14) ----------------------------------------------------------

CORRUPT = [b'{"valid": tru', b"\xff\xfe garbage", b"[]", b'{"valid": "yes"}', b'{"valid": true, "anomalies": []}']


def _junit_counts(path: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET

    return dict(ET.parse(path).getroot().attrib)


@pytest.mark.parametrize("content", CORRUPT)
def test_report_on_a_corrupt_results_json_fails_and_its_junit_is_red(results_dir: Path, content: bytes) -> None:
    (results_dir / "results.json").write_bytes(orjson.dumps({"valid": True, "anomalies": {}}))
    assert CliRunner().invoke(report, [str(results_dir)]).exit_code == 0
    assert _junit_counts(results_dir / "junit.xml")["errors"] == "0"  # a green junit.xml from a valid run
    (results_dir / "results.json").write_bytes(content)
    result = harness_subprocess("report", str(results_dir))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: ") and "Traceback" not in result.stderr
    assert "results.json" in lines[0] and "the verdict is unknown" in lines[0]
    counts = _junit_counts(results_dir / "junit.xml")  # rewritten: the old green one is gone
    assert counts["errors"] == "1" or int(counts["failures"]) > 0, counts
    junit = (results_dir / "junit.xml").read_text()
    assert "missing" not in junit and "<skipped" not in junit
    assert "UNREADABLE" in (results_dir / "report.html").read_text() or "UNKNOWN" in (
        results_dir / "report.html").read_text()


@pytest.mark.parametrize("content", CORRUPT)
def test_runs_lists_a_run_with_corrupt_results_as_unreadable_and_exits_2(tmp_path: Path, content: bytes) -> None:
    run = make_results_dir(tmp_path)
    (run / "results.json").write_bytes(content)
    result = harness_subprocess("runs", "--results-dir", str(tmp_path / "results"), "--json")
    assert result.returncode == 2, result.stderr
    (listed,) = orjson.loads(result.stdout)
    assert listed["verdict"] == "unreadable" and "results.json" in listed["problem"]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: 1 run(s) with unreadable results")
    text = harness_subprocess("runs", "--results-dir", str(tmp_path / "results"))
    assert "unreadable" in text.stderr and text.returncode == 2


def test_runs_shows_a_crashed_run_that_has_only_its_test_json(tmp_path: Path) -> None:
    crashed = tmp_path / "results" / "queue-kill" / "20260101T130000"
    crashed.mkdir(parents=True)
    (crashed / "test.json").write_bytes(b"{}")
    result = harness_subprocess("runs", "--results-dir", str(tmp_path / "results"), "--json")
    assert result.returncode == 0, result.stderr
    assert [r["verdict"] for r in orjson.loads(result.stdout)] == ["not checked"]


def test_runs_on_a_folder_that_does_not_exist_is_one_line_exit_2(tmp_path: Path) -> None:
    result = harness_subprocess("runs", "--results-dir", str(tmp_path / "nope"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"harness: error: no results folder {tmp_path / 'nope'} (no run wrote there yet; pass the --results-dir "
        "the runs used)"]
    (tmp_path / "file").write_text("")
    result = harness_subprocess("runs", "--results-dir", str(tmp_path / "file"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "is a file" in result.stderr


def harness_subprocess(*args: str):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}, timeout=120)

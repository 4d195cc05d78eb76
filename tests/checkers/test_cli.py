"""`harness check`: exit codes, JSON on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.checkers.notation import History

# The console entry point's one exit path (harness.cli.main.main).
RUN_CHECK = "import sys; from harness.cli.main import main; main(sys.argv[1:])"


def harness_check(*args):
    return subprocess.run([sys.executable, "-c", RUN_CHECK, "check", *map(str, args)], capture_output=True,
                          text=True, timeout=180)


def write(tmp_path, h: History, extra: str = ""):
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in h.events) + extra)
    return path


def valid_history():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.assign(1, 0)
    h.poll(1, (0, 0, 1))
    return h


def lost_write_history():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 1, 2))
    return h


def test_valid_history_exits_0_with_json_on_stdout(tmp_path):
    result = harness_check(write(tmp_path, valid_history()), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] is True and data["anomalies"] == {}
    assert result.stderr.startswith("VALID")


def test_anomalies_exit_1_and_explain_on_stderr(tmp_path):
    result = harness_check(write(tmp_path, lost_write_history()), "--json", "--workload", "queue")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False and data["anomalies"]["lost-write"][0]["ops"] == [0, 1, 7]
    assert result.stderr.splitlines()[0] == "INVALID: lost-write ×1"
    assert "ops 0, 1, 7: value 1 was acknowledged" in result.stderr


def test_without_json_stdout_stays_empty(tmp_path):
    result = harness_check(write(tmp_path, lost_write_history()))
    assert result.returncode == 1 and result.stdout == ""


@pytest.mark.parametrize("content, fragment", [
    ('{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "poll"}\n{"index": 1, oops\n',
     "line 2: invalid JSON"),
    ('{"index": 0, "time": 0, "process": 0, "type": "ok", "f": "poll"}\n', "line 1: ok poll by process 0"),
])
def test_corrupt_file_is_one_line_with_the_line_number_and_exit_2(tmp_path, content, fragment):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = harness_check(path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: ") and fragment in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_file_exits_2(tmp_path):
    result = harness_check(tmp_path / "nope.jsonl")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("harness: error: ") and "nope.jsonl" in result.stderr


def test_nothing_to_check_exits_2(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    result = harness_check(path, "--json")
    assert result.returncode == 2 and json.loads(result.stdout)["valid"] == "unknown"


def test_click_runner_returns_the_code(tmp_path):
    from click.testing import CliRunner

    from harness.cli.check import check

    outcome = CliRunner().invoke(check, [str(write(tmp_path, lost_write_history())), "--json"],
                                 standalone_mode=False)
    assert outcome.return_value == 1

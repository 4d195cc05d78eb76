"""harness.api: check() on hand-made histories, run()'s options are `harness run`'s flags, results render evidence."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from core.errors import HarnessError
from harness import api
from harness.cli import run as cli_run
from harness.cli.run import options_from_flags
from tests.checkers.notation import History
from tests.report.conftest import make_results_dir


def lost_write_history() -> History:
    h = History()
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.poll(1, (0, 1, 2))  # read offset 1, never offset 0: value 1 was lost
    return h


# ---- check -----------------------------------------------------------------------------------------------------

def test_check_names_the_lost_write_with_the_ops_that_prove_it() -> None:
    result = api.check(lost_write_history().events)
    assert result.verdict is False and result.valid is False
    assert result.failures == ("lost-write",)
    (finding,) = result.anomalies["lost-write"]
    assert finding == api.Finding("lost-write", True, (0, 1, 5), finding.explanation, finding.facts, ())
    assert finding.facts["value"] == 1 and finding.facts["offset"] == 0
    assert "value 1 was acknowledged at t/0 offset 0" in finding.explanation
    assert result.exit_code == 1


def test_repr_and_str_carry_the_evidence_as_the_checker_renders_it() -> None:
    result = api.check(lost_write_history().events)
    import checkers

    assert str(result) == checkers.render_text(checkers.check_events(lost_write_history().events, "auto"))
    assert repr(result).startswith("CheckResult(verdict=False, failures=('lost-write',)):\nINVALID: lost-write ×1")
    assert "ops 0, 1, 5: value 1 was acknowledged" in repr(result)


def test_nothing_to_check_is_not_valid_so_assert_valid_cannot_pass_on_it() -> None:
    h = History()
    h.send(0, 1, outcome="info")  # no acknowledged send, no read
    result = api.check(h.events)
    assert result.verdict == "unknown"
    assert result.valid is False  # a bare `"unknown"` would be truthy
    assert result.exit_code == 2


def test_a_reported_kind_is_a_finding_that_does_not_fail() -> None:
    h = History()
    h.send(0, 1, at=(0, 0))  # acknowledged, never read, nothing read past it: unseen
    h.poll(1)
    result = api.check(h.events)
    assert result.valid is True and result.failures == ()
    assert [(f.name, f.fails) for f in result.anomalies["unseen"]] == [("unseen", False)]


def test_a_file_is_checked_like_harness_check_does_including_the_split_brain_checks(tmp_path) -> None:
    run = make_results_dir(tmp_path)
    result = api.check(run / "history.jsonl")
    cli = subprocess.run([sys.executable, "-m", "harness.cli.main", "check", "--json", str(run / "history.jsonl")],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == result.exit_code == 1
    assert orjson.loads(cli.stdout) == orjson.loads(orjson.dumps(result.json))
    assert result.stats["cluster"]["samples"] == 6  # cluster-state.jsonl beside it was read
    (run / "cluster-state.jsonl").unlink()
    assert "cluster" not in api.check(run / "history.jsonl").stats


def test_a_recorder_is_checked_through_its_file(tmp_path) -> None:
    with api.Recorder(tmp_path / "h.jsonl") as history:
        with history.op("p", "send", {"topic": "t", "value": 1}) as op:
            op.ok({"partition": 0, "offset": 0})
        with history.op("c", "poll") as op:
            op.ok({"records": [{"topic": "t", "partition": 0, "offset": 0, "value": 1}]})
    assert api.check(history).valid


@pytest.mark.parametrize("history, fragment", [
    (42, "cannot check a int"),
    ({"index": 0}, "cannot check a dict"),
    ([{"index": 0, "time": 0, "process": 0, "type": "invoke"}], "history events: line 1: missing field 'f'"),
    ([["not", "an", "event"]], "history events: line 1: expected a JSON object"),
])
def test_bad_history_input_is_one_clear_error(history, fragment) -> None:
    with pytest.raises(HarnessError) as raised:
        api.check(history)
    assert fragment in str(raised.value)


def test_an_invalid_file_names_the_file_and_line(tmp_path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "poll", "value": null}\n{oops\n')
    with pytest.raises(HarnessError, match=rf"^{path}: line 2: invalid JSON"):
        api.check(path)
    with pytest.raises(HarnessError, match="cannot read"):
        api.check(tmp_path / "missing.jsonl")


def test_check_options_are_checked_with_a_hint() -> None:
    with pytest.raises(HarnessError, match=r"unknown workload 'qeue' \(did you mean queue\?\)"):
        api.check([], workload="qeue")
    with pytest.raises(HarnessError, match="grace must be"):
        api.check([], grace=-1)


def test_the_pytest_plugin_sees_every_result_inside_observing() -> None:
    seen: list[api.CheckResult] = []
    with api.observing(seen.append):
        api.check(lost_write_history().events)
    api.check(lost_write_history().events)  # after the block: not seen
    assert [r.failures for r in seen] == [("lost-write",)]


# ---- run's options are harness run's flags ----------------------------------------------------------------------

def cli_flags(monkeypatch, argv: list[str]) -> dict:
    """The flags dict `harness run ARGV` hands to the API (the run itself is stopped there)."""
    seen: dict = {}

    def capture(flags):
        seen.update(flags)
        raise SystemExit(0)

    monkeypatch.setattr(api, "run_from_flags", capture)
    with pytest.raises(SystemExit):
        cli_run.run.main(argv, standalone_mode=False)
    return seen


@pytest.mark.parametrize("argv, options", [
    ([], {}),
    (["--nemesis", "partition-leader", "--time-limit", "30", "--acks", "1", "--no-idempotence"],
     {"nemesis": "partition-leader", "time_limit": 30, "acks": "1", "idempotence": False}),
    (["--topology", "stretch-3dc", "--wan-latency", "40ms", "--seed", "7", "--unclean", "--quiet"],
     {"topology": "stretch-3dc", "wan_latency": "40ms", "seed": 7, "unclean": True, "quiet": True}),
    (["--workload", "group", "--auto-commit", "--process-delay", "0.5", "--image", "x:1", "--results-dir", "r"],
     {"workload": "group", "auto_commit": True, "process_delay": 0.5, "image": "x:1", "results_dir": "r"}),
    (["--scenario", "zombie-leader", "--control"], {"scenario": "zombie-leader", "control": True}),
])
def test_run_options_mean_what_the_flags_mean(monkeypatch, argv, options) -> None:
    from_cli = cli_flags(monkeypatch, argv)
    assert api.run_flags(**options) == from_cli
    assert options_from_flags(api.run_flags(**options)) == options_from_flags(from_cli)


def test_every_flag_of_harness_run_is_an_option_but_json() -> None:
    names = {api._flag_name(p) for p in cli_run.run.params}
    assert "time_limit" in names and "idempotence" in names and "workload" in names
    for name in names - {"json"}:
        api.run_flags(**{name: None})  # None: the flag's default; a name run() did not know would raise


@pytest.mark.parametrize("options, message", [
    ({"time_limt": 30}, "run() has no option 'time_limt' (did you mean time_limit?)"),
    ({"nemesis_intervall": 5}, "did you mean nemesis_interval?"),
    ({"workload_name": "queue"}, "did you mean workload"),
    ({"json": True}, "the result's .json holds what --json prints"),
    ({"acks": "2"}, "Invalid value for acks: '2' is not one of 'all', '1', '0'"),
    ({"time_limit": "soon"}, "Invalid value for time_limit: 'soon' is not a number of seconds"),
    ({"quiet": "yes"}, "quiet is on or off: pass True or False"),
    ({"seed": True}, "seed takes a value, not True"),
])
def test_a_bad_option_is_a_harness_error_with_a_hint(options, message) -> None:
    with pytest.raises(HarnessError) as raised:
        api.run_flags(**options)
    assert message in str(raised.value)


def test_run_refuses_bad_options_before_touching_docker(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(HarnessError, match="unknown nemesis 'explode'"):
        api.run(nemesis="partition-dc,explode", results_dir=tmp_path)
    with pytest.raises(HarnessError, match="--idempotence needs --acks all"):
        api.run(acks="1", idempotence=True, results_dir=tmp_path)
    with pytest.raises(HarnessError, match="needs at least that many brokers"):
        api.run(replication=5, results_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []

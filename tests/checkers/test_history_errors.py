"""Unreadable or invalid input: HistoryError, one line, with the line number."""

from __future__ import annotations

import pytest

import checkers
from tests.checkers.notation import History


def write(tmp_path, lines):
    path = tmp_path / "history.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def good_lines():
    import json

    h = History()
    h.send(0, 1, at=(0, 0))
    return [json.dumps(e) for e in h.events]


def test_corrupt_json_names_the_line(tmp_path):
    path = write(tmp_path, [*good_lines(), '{"index": 2, "time": '])
    with pytest.raises(checkers.HistoryError, match=r"^line 3: invalid JSON"):
        checkers.check_file(path)


def test_a_line_that_is_not_an_object(tmp_path):
    with pytest.raises(checkers.HistoryError, match=r"^line 1: expected a JSON object"):
        checkers.check_file(write(tmp_path, ["[1, 2]"]))


def test_missing_field(tmp_path):
    with pytest.raises(checkers.HistoryError, match=r"^line 1: missing field 'f'"):
        checkers.check_file(write(tmp_path, ['{"index": 0, "time": 0, "process": 0, "type": "invoke"}']))


def test_missing_file_is_a_history_error():
    with pytest.raises(checkers.HistoryError, match="cannot read /nonexistent/h.jsonl"):
        checkers.check_file("/nonexistent/h.jsonl")


def test_blank_lines_are_skipped(tmp_path):
    assert checkers.check_file(write(tmp_path, [*good_lines(), "", "  "])).valid is True


@pytest.mark.parametrize("events, message", [
    ([{"index": 0, "time": 0, "process": 0, "type": "ok", "f": "send", "value": {}}],
     "line 1: ok send by process 0 without a matching invoke"),
    ([{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "poll"},
      {"index": 1, "time": 1, "process": 0, "type": "invoke", "f": "poll"}],
     "line 2: process 0 invoked poll while its op 0 was outstanding"),
    ([{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "poll"},
      {"index": 1, "time": 1, "process": 0, "type": "ok", "f": "poll", "value": {"records": [{"topic": "t"}]}}],
     "line 2: a poll ok has no field `value.records[0].partition`"),
    ([{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "send", "value": {"topic": "t", "value": 1}},
      {"index": 1, "time": 1, "process": 0, "type": "ok", "f": "send", "value": {"topic": "t", "partition": 0}}],
     "line 2: a send ok has no field `value.offset`"),
    ([{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "send", "value": {"topic": "t", "value": 1}},
      {"index": 1, "time": 1, "process": 0, "type": "info", "f": "send"},
      {"index": 2, "time": 2, "process": 1, "type": "invoke", "f": "send", "value": {"topic": "t", "value": 1}}],
     "line 3: value 1 sent to t a second time"),
    ([{"index": 0, "time": 0, "process": 0, "type": "maybe", "f": "poll"}], "line 1: unknown type 'maybe'"),
    ([{"index": "0", "time": 0, "process": 0, "type": "invoke", "f": "poll"}], "line 1: index and time must be"),
])
def test_contract_violations(events, message):
    with pytest.raises(checkers.HistoryError) as error:
        checkers.check_events(events)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_unknown_workload():
    with pytest.raises(ValueError, match="unknown workload 'kv'"):
        checkers.check_events([], "kv")


@pytest.mark.parametrize("enabled", [True, False])
def test_the_check_leaves_the_callers_cycle_collector_as_it_found_it_also_on_bad_input(tmp_path, enabled):
    import gc

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        checkers.check_file(write(tmp_path, good_lines()))
        assert gc.isenabled() is enabled
        with pytest.raises(checkers.HistoryError):
            checkers.check_file(write(tmp_path, [*good_lines(), "{"]))
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


# ---- what a user's recorder gets wrong (issue 14): one line naming the line and the field -----------------

def ev(index, process, type_, f, value=None, time=None):
    event = {"index": index, "time": index if time is None else time, "process": process, "type": type_, "f": f}
    if value is not None:
        event["value"] = value
    return event


SEND = {"topic": "t", "value": 1, "producer": "p"}
ACK = {**SEND, "partition": 0, "offset": 0}


@pytest.mark.parametrize("events, message", [
    ([ev(0, 0, "invoke", "Send", SEND)],
     "line 1: unknown op f 'Send' by process 0 (did you mean 'send'?); client ops are assign, commit, drain, "
     "mirror-drain, mirror-poll, poll, rebalance, seek, send, share-ack, share-drain, share-poll, share-subscribe, "
     'subscribe, txn, and nemesis ops have process "nemesis"'),
    ([ev(0, 0, "invoke", "read")], "line 1: unknown op f 'read' by process 0; client ops are"),
    ([ev(0, 0, "invoke", "send", SEND), ev(0, 0, "ok", "send", ACK)],
     "line 2: index 0 repeats the previous op's: every op has its own index, increasing line by line"),
    ([ev(5, 0, "invoke", "send", SEND), ev(3, 0, "ok", "send", ACK)],
     "line 2: index 3 comes after index 5: every op has its own index, increasing line by line"),
    ([ev(0, "nemesis", "invoke", "start-kill"), ev(0, "nemesis", "info", "start-kill")], "line 2: index 0 repeats"),
    ([ev(-1, 0, "invoke", "poll")], "line 1: index -1 is negative: indexes count ops from 0"),
    ([ev(0, 0, "invoke", "send", [1, 2])], "line 1: field `value` of a send invoke must be an object, got a list"),
    ([ev(0, 0, "invoke", "send", {"value": 1})], "line 1: a send invoke has no field `value.topic`"),
    ([ev(0, 0, "invoke", "send", {"topic": "t"})], "line 1: a send invoke has no field `value.value`"),
    ([ev(0, 0, "invoke", "send", SEND), ev(1, 0, "ok", "send", "done")],
     "line 2: field `value` of a send ok must be an object, got a string"),
    ([ev(0, 0, "invoke", "send", SEND), ev(1, 0, "ok", "send", {**ACK, "offset": "0"})],
     "line 2: field `value.offset` of a send ok must be an integer, got a string '0'"),
    ([ev(0, 0, "invoke", "send", SEND), ev(1, 0, "ok", "send", {**ACK, "partition": True})],
     "line 2: field `value.partition` of a send ok must be an integer, got a boolean True"),
    ([ev(0, 1, "invoke", "poll"), ev(1, 1, "ok", "poll", {"records": {"topic": "t"}})],
     "line 2: field `value.records` of a poll ok must be a list, got an object"),
    ([ev(0, 1, "invoke", "poll"), ev(1, 1, "ok", "poll", {"records": [[0, 1]]})],
     "line 2: field `value.records[0]` of a poll ok must be an object, got a list"),
    ([ev(0, 1, "invoke", "poll"), ev(1, 1, "ok", "poll", [1])],
     "line 2: field `value` of a poll ok must be an object or null, got a list"),
    ([ev(0, 2, "invoke", "txn", {"ops": [{"f": "write", "topic": "t", "value": 1}]})],
     "line 1: field `value.ops[0].f` of a txn invoke is 'write'; a transaction holds send, poll and commit"),
    ([ev(0, 2, "invoke", "txn", {"ops": "send"})],
     "line 1: field `value.ops` of a txn invoke must be a list, got a string"),
    ([ev(0, 3, "invoke", "commit", {"group": "g", "offsets": [{"topic": "t", "partition": 0}]})],
     "line 1: a commit invoke has no field `value.offsets[0].offset`"),
    ([ev(0, 4, "invoke", "drain", {"topic": "t", "partition": 0}),
      ev(1, 4, "ok", "drain", {"topic": "t", "partition": 0, "high_watermark": 1.5})],
     "line 2: field `value.high_watermark` of a drain ok must be an integer, got a number 1.5"),
    ([ev(0, "nemesis", "invoke", "start-kill", {"fault": [1]})],
     "line 1: field `value.fault` of a nemesis op must be a string or a number, got [1]"),
    ([ev(0, "nemesis", "maybe", "start-kill")], "line 1: unknown type 'maybe'"),
])
def test_a_recorders_mistakes_are_named_by_line_and_field(events, message):
    with pytest.raises(checkers.HistoryError) as error:
        checkers.check_events(events)
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value) and "KeyError" not in str(error.value)


def test_a_typo_in_f_is_an_error_not_a_false_unexpected_value():
    # Before: the "Send" was ignored, so the poll that read its value reported unexpected-value.
    events = [ev(0, 0, "invoke", "Send", SEND), ev(1, 0, "ok", "Send", ACK), ev(2, 1, "invoke", "poll"),
              ev(3, 1, "ok", "poll", {"records": [{"topic": "t", "partition": 0, "offset": 0, "value": 1}]})]
    with pytest.raises(checkers.HistoryError, match="^line 1: unknown op f 'Send'"):
        checkers.check_events(events)


def test_gaps_in_the_indexes_and_any_nemesis_f_stay_valid():
    events = [ev(0, "nemesis", "invoke", "failover-clients", {"from": "dc1"}),
              ev(1, "nemesis", "info", "failover-clients"), ev(4, 0, "invoke", "send", SEND),
              ev(7, 0, "ok", "send", ACK), ev(9, 1, "invoke", "poll"),
              ev(10, 1, "ok", "poll", {"records": [{"topic": "t", "partition": 0, "offset": 0, "value": 1}]})]
    assert checkers.check_events(events).valid is True


def test_the_cli_names_the_file_and_the_line(tmp_path):
    import json
    import subprocess
    import sys

    path = write(tmp_path, [json.dumps(e) for e in [ev(0, 0, "invoke", "send", SEND), ev(1, 0, "ok", "send", "x")]])
    result = subprocess.run([sys.executable, "-m", "harness.cli.main", "check", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"harness: error: {path}: line 2: field `value` of a send ok must be an object, got a string"]

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
     "line 2: malformed poll ok value"),
    ([{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "send", "value": {"topic": "t", "value": 1}},
      {"index": 1, "time": 1, "process": 0, "type": "ok", "f": "send", "value": {"topic": "t", "partition": 0}}],
     "line 2: malformed send ok value"),
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

from pathlib import Path

import orjson
import pytest

from core.errors import HarnessError, HistoryError
from harness.report.data import Thinned, evidence_indexes, load_run
from tests.report.sample_run import LOST_SEND, LOST_SEND_INVOKE, READ_PAST_IT


def test_a_fault_window_runs_from_the_start_invoke_to_the_stop_completion(results_dir: Path) -> None:
    (window,) = load_run(results_dir).faults
    assert (window.nemesis, window.fault, window.start, window.end) == ("partition-dc", "0", 3.0, 6.5)
    assert window.targets == ("dc1-broker1", "dc2-broker1")
    assert window.detail == "dc1-broker1 | dc2-broker1"


def test_heal_all_closes_a_fault_that_never_saw_its_stop(tmp_path: Path) -> None:
    lines = [{"index": 0, "time": 1_000_000_000, "process": "nemesis", "type": "invoke", "f": "start-kill",
              "value": {"nemesis": "kill", "fault": 3}},
             {"index": 1, "time": 2_000_000_000, "process": "nemesis", "type": "info", "f": "start-kill",
              "value": {"nemesis": "kill", "fault": 3, "targets": ["dc1-broker1"]}},
             {"index": 2, "time": 5_000_000_000, "process": "nemesis", "type": "invoke", "f": "heal-all", "value": {}},
             {"index": 3, "time": 6_000_000_000, "process": "nemesis", "type": "info", "f": "heal-all", "value": {}}]
    (tmp_path / "history.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in lines))
    (window,) = load_run(tmp_path).faults
    assert (window.nemesis, window.start, window.end) == ("kill", 1.0, 6.0)


def test_a_fault_still_open_when_the_history_ends_has_no_end(tmp_path: Path) -> None:
    line = {"index": 0, "time": 1_000_000_000, "process": "nemesis", "type": "invoke", "f": "start-pause",
            "value": {"nemesis": "pause", "fault": 0}}
    (tmp_path / "history.jsonl").write_bytes(orjson.dumps(line) + b"\n")
    (window,) = load_run(tmp_path).faults
    assert window.end is None


def test_ops_are_counted_by_type_and_outcome_without_nemesis_events(results_dir: Path) -> None:
    data = load_run(results_dir)
    assert data.op_counts[("send", "invoke")] == 6
    assert (data.op_counts[("send", "ok")], data.op_counts[("send", "fail")], data.op_counts[("send", "info")]) == \
        (4, 1, 1)
    assert not any(f.startswith(("start-", "stop-", "heal")) for f, _ in data.op_counts)
    assert data.client_fs[:2] == ["send", "poll"]


def test_latency_is_completion_time_minus_invoke_time_of_the_same_process(results_dir: Path) -> None:
    data = load_run(results_dir)
    ((time, latency),) = data.latencies[("send", "info")].points
    assert time == 8.5
    assert latency == pytest.approx(5000.0)


def test_cited_ops_are_kept_verbatim_with_the_invoke_of_a_cited_completion(results_dir: Path) -> None:
    cited = load_run(results_dir).cited
    assert set(cited) >= {LOST_SEND, LOST_SEND_INVOKE, READ_PAST_IT}
    assert orjson.loads(cited[LOST_SEND])["value"]["offset"] == 2


def test_missing_optional_files_are_named_and_history_alone_is_enough(history_only: Path) -> None:
    data = load_run(history_only)
    assert sorted(data.missing) == ["cluster-state.jsonl", "results.json", "test.json"]
    assert data.results is None and data.lines == 24


def test_a_directory_without_a_history_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="no history.jsonl"):
        load_run(tmp_path)


def test_an_unreadable_history_line_is_the_checkers_one_line_error_naming_file_and_line(tmp_path: Path) -> None:
    # One reader, one policy (core/history.py): a report never quietly skips what it could not read.
    (tmp_path / "history.jsonl").write_bytes(b'{"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "poll"}\n'
                                             b"{not json\n")
    with pytest.raises(HistoryError, match=r"history\.jsonl: line 2: invalid JSON"):
        load_run(tmp_path)


def test_an_unreadable_cluster_state_line_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "history.jsonl").write_bytes(b'{"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "poll"}\n')
    (tmp_path / "cluster-state.jsonl").write_bytes(b'{"time": 1}\n[1]\n')
    with pytest.raises(HistoryError, match=r"cluster-state\.jsonl: line 2: expected a JSON object"):
        load_run(tmp_path)


def test_evidence_indexes_come_from_op_and_index_keys_but_not_from_topic_or_offset() -> None:
    evidence = {"ops": [4, 9], "send_index": 2, "read-ops": [{"index": 11}], "topic": 7, "offset": 5,
                "op": 9, "nemesis": [{"start": 1, "stop": 3}], "explanation": "x"}
    assert evidence_indexes(evidence) == [4, 9, 2, 11]


def test_thinning_keeps_a_bounded_evenly_spread_sample() -> None:
    series = Thinned(cap=100)
    for i in range(10_000):
        series.add(float(i), 1.0)
    xs = [x for x, _ in series.points]
    assert len(xs) <= 100 and series.seen == 10_000
    assert xs[0] == 0.0 and xs[-1] >= 9_000
    assert len({b - a for a, b in zip(xs, xs[1:], strict=False)}) == 1  # evenly spaced

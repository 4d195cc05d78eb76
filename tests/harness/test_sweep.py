"""The sweep's pure parts: the grid parser, the combinations, and how trials aggregate into matrix rows."""

import json

import pytest

from core.errors import HarnessError
from harness import sweep
from harness.sweep import Case, Trial
from workloads.options import ClientOptions


def trial(key, variant, run, valid, failures=(), first=None, gap=0.0):
    return Trial(key, variant, run, valid, tuple(failures), first, gap)


def test_grid_axes_keep_their_order_and_values():
    axes = sweep.parse_grid(["acks=1,all", "min.insync.replicas=1,2", "unclean=true,false"])
    assert [(a.name, a.values) for a in axes] == [("acks", ("1", "all")), ("min.insync.replicas", ("1", "2")),
                                                  ("unclean", ("true", "false"))]
    assert len(sweep.combinations(axes)) == 8


def test_grid_accepts_kafka_spellings_of_keys():
    axes = sweep.parse_grid(["enable.idempotence=true,false", "unclean.leader.election.enable=false"])
    assert [a.name for a in axes] == ["idempotence", "unclean"]


@pytest.mark.parametrize("items, said", [
    ([], "at least one"), (["acks"], "is not KEY=V1,V2"), (["acks="], "is not KEY=V1,V2"),
    (["colour=red"], "unknown grid key 'colour'"), (["acks=2"], "bad value '2'"),
    (["min.insync.replicas=two"], "bad value 'two'"), (["unclean=yes"], "bad value 'yes'"),
    (["acks=1", "acks=all"], "given twice"),
])
def test_grid_mistakes_are_one_line(items, said):
    with pytest.raises(HarnessError, match=said) as caught:
        sweep.parse_grid(items)
    assert "\n" not in str(caught.value)


def test_a_combination_becomes_queue_options():
    options = sweep.combination_options(ClientOptions(), (("acks", "1"), ("min.insync.replicas", "1"),
                                                         ("unclean", "true"), ("idempotence", "false")))
    assert (options.acks, options.min_insync_replicas, options.unclean_leader_election, options.idempotent) == (
        "1", 1, True, False)


def test_a_combination_the_client_refuses_is_skipped_not_run(tmp_path):
    from core import topology

    axes = sweep.parse_grid(["acks=1,all", "idempotence=true"])
    cases = sweep.grid_cases(axes, ["kill-dc"], topology.default_topology(), tmp_path, 30, 10)
    skipped = [c for c in cases if c.options is None]
    assert [c.key for c in skipped] == ["acks=1 idempotence=true"]
    assert "idempotence" in skipped[0].skipped
    table = sweep.grid_table(sweep.grid_rows([], cases))
    assert table[1][-1].startswith("not run:")


def test_unsafe_rows_count_expected_anomalies_and_controls_count_any_failure():
    cases = [Case("s", "unsafe", None, expect=("lost-write",)), Case("s", "control", None, expect=("lost-write",))]
    trials = [
        trial("s", "unsafe", 1, False, ["lost-write"], first=12.0, gap=3),
        trial("s", "unsafe", 2, False, ["duplicate"], first=5.0, gap=5),  # failed, but not what was expected
        trial("s", "unsafe", 3, False, ["lost-write", "duplicate"], first=20.0, gap=7),
        trial("s", "control", 1, True, gap=10),
        trial("s", "control", 2, False, ["nonmonotonic-send"], first=30.0, gap=12),
        trial("s", "control", 3, "error"),
    ]
    unsafe, control = sweep.scenario_rows(trials, cases)
    assert (unsafe.runs, unsafe.hits, unsafe.rate(), unsafe.first_anomaly_s, unsafe.unavailable_s) == (
        3, 2, "2/3", 16.0, 5)
    assert unsafe.anomalies == ("duplicate", "lost-write")
    assert (control.runs, control.hits, control.errors, control.rate(), control.unavailable_s) == (
        3, 1, 1, "1/2", 11.0)


def test_a_regression_scenario_counts_any_failure_in_both_variants():
    cases = [Case("r", "unsafe", None, expect=())]
    [row] = sweep.scenario_rows([trial("r", "unsafe", 1, False, ["split-brain-controller"])], cases)
    assert row.hits == 1


def test_grid_rows_split_loss_from_reordering():
    cases = [Case("acks=1", "kill-dc", None)]
    trials = [trial("acks=1", "kill-dc", 1, False, ["lost-write"]), trial("acks=1", "kill-dc", 2, False,
              ["duplicate"]), trial("acks=1", "kill-dc", 3, True)]
    [row] = sweep.grid_rows(trials, cases)
    assert (row.loss, row.reorder, row.hits, row.runs) == (1, 1, 2, 3)


def test_unavailable_seconds_count_whole_seconds_without_an_ack():
    assert sweep.unavailable_seconds([0.1, 0.5, 1.2, 4.9], 0.0, 5.5) == 2.0  # seconds 2 and 3 had none
    assert sweep.unavailable_seconds([], None, None) == 0.0


def test_the_matrix_is_written_in_three_formats(tmp_path):
    cases = [Case("s", "unsafe", None, expect=("lost-write",))]
    trials = [trial("s", "unsafe", 1, False, ["lost-write"], first=1.5)]
    rows = sweep.scenario_rows(trials, cases)
    md, page, data = sweep.write_matrix(tmp_path, "T", sweep.scenario_table(rows), rows, trials, ["3 runs"])
    assert "| s | unsafe | 1 | 1/1 | 1.5 |" in md.read_text()
    assert "<td>1/1</td>" in page.read_text()
    assert json.loads(data.read_text())["rows"][0]["hits"] == 1


def test_a_trial_is_read_back_from_a_run_directory(tmp_path):
    history = [
        {"index": 0, "time": 10_000_000_000, "process": 0, "type": "invoke", "f": "send", "value": {}},
        {"index": 1, "time": 10_500_000_000, "process": 0, "type": "ok", "f": "send", "value": {}},
        {"index": 2, "time": 14_000_000_000, "process": 0, "type": "invoke", "f": "send", "value": {}},
        {"index": 3, "time": 14_200_000_000, "process": 0, "type": "ok", "f": "send", "value": {}},
    ]
    (tmp_path / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in history))
    (tmp_path / "results.json").write_text(json.dumps({"valid": False, "anomalies": {
        "lost-write": [{"ops": [2, 3]}], "unseen": [{"ops": [0]}], "duplicate": []}}))
    t = sweep.trial_from_results(Case("s", "unsafe", None), 1, tmp_path)
    assert t.failures == ("lost-write",)  # unseen is informational, an empty list is no finding
    assert t.first_anomaly_s == 4.0 and t.unavailable_s == 3.0  # seconds 1, 2, 3 of 0..4 had no ack

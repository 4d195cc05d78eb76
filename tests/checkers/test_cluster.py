"""The split-brain checker on hand-made cluster-state samples.

Timelines are one character per second for each node:
  controllers: `A` claims to be the active controller, `.` answers and does not, `?` did not answer;
  leaders: a digit is the leader epoch at which the node claims the partition, `.` answers without claiming it,
  `?` did not answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from checkers import INFORMATIONAL, check_events
from checkers.cluster import NS, check_cluster, check_cluster_file, merge, nemesis_timeline
from core.history import number_events

IDS = {"b1": 1, "b2": 2, "b3": 3}


def controller_samples(timelines: dict[str, str], mode: str = "zookeeper") -> list[dict[str, Any]]:
    length = max(len(t) for t in timelines.values())
    samples = []
    for second in range(length):
        views = {}
        for node, line in timelines.items():
            mark = line[second]
            if mark == "?":
                views[node] = {"id": IDS[node], "role": "broker", "reachable": False, "jmx": "stale"}
            else:
                views[node] = {"id": IDS[node], "role": "broker", "reachable": True, "partitions": [],
                               "jmx": "ok", "active_controller_count": 1 if mark == "A" else 0}
        samples.append({"time": second * NS, "mode": mode, "views": views})
    return samples


def leader_samples(timelines: dict[str, str], partition: int = 0) -> list[dict[str, Any]]:
    length = max(len(t) for t in timelines.values())
    samples = []
    for second in range(length):
        views = {}
        for node, line in timelines.items():
            mark = line[second]
            if mark == "?":
                views[node] = {"id": IDS[node], "role": "broker", "reachable": False}
                continue
            parts = [{"partition": partition, "leader": IDS[node], "epoch": int(mark), "isr": [], "replicas": []}] \
                if mark.isdigit() else []
            views[node] = {"id": IDS[node], "role": "broker", "reachable": True, "partitions": parts}
        samples.append({"time": second * NS, "mode": "kraft", "views": views})
    return samples


def nemesis_ops(start_s: float, stop_s: float, name: str = "partition-controller") -> list[dict[str, Any]]:
    def op(index: int, t: float, type_: str, f: str) -> dict[str, Any]:
        return {"index": index, "time": int(t * NS), "process": "nemesis", "type": type_, "f": f,
                "value": {"fault": 0, "targets": ["b1"]}}

    return [op(0, start_s, "invoke", f"start-{name}"), op(1, start_s + 0.1, "ok", f"start-{name}"),
            op(2, stop_s, "invoke", f"stop-{name}"), op(3, stop_s + 0.1, "ok", f"stop-{name}")]


def test_two_active_controllers_beyond_the_grace_window_is_a_split_brain_naming_window_nodes_and_fault():
    samples = controller_samples({"b1": "AAAAAAAAAAAAAAAAAAAA....",
                                  "b2": "..........AAAAAAAAAAAAAA"})
    result = check_cluster(samples, nemesis_timeline(number_events(nemesis_ops(2.0, 21.0))), grace_s=5)
    assert result.valid is False
    (found,) = result.anomalies["split-brain-controller"]
    assert found.facts["nodes"] == ["b1", "b2"]
    assert found.facts["window_s"] == [10.0, 19.0]
    assert found.facts["duration_s"] == 9.0
    assert [f.nemesis for f in found.nemesis] == ["partition-controller"]
    assert "b1 and b2 both reported being the active controller from t=10.0 s to t=19.0 s" in found.explanation


def test_a_clean_handover_is_no_split_brain():
    samples = controller_samples({"b1": "AAAAAAAAAA..........",
                                  "b2": "..........AAAAAAAAAA"})
    result = check_cluster(samples, grace_s=0)
    assert result.valid is True
    assert result.anomalies == {}


def test_an_overlap_within_the_grace_window_is_tolerated_and_found_once_the_window_is_smaller():
    samples = controller_samples({"b1": "AAAAAAAAAAAA........",
                                  "b2": "........AAAAAAAAAAAA"})  # both claim over t=8..11: 3 s
    assert check_cluster(samples, grace_s=5).valid is True
    assert check_cluster(samples, grace_s=3).valid is True  # longer than grace is required
    narrow = check_cluster(samples, grace_s=2.5)
    assert narrow.valid is False
    assert narrow.anomalies["split-brain-controller"][0].facts["window_s"] == [8.0, 11.0]


def test_unreachable_samples_break_a_claim_so_gaps_never_make_an_overlap():
    samples = controller_samples({"b1": "AAAAAA??????AAAAAA",
                                  "b2": "......AAAAAA......"})
    assert check_cluster(samples, grace_s=0).valid is True


def test_an_unreachable_gap_does_not_hide_an_overlap_seen_on_both_sides_of_it():
    samples = controller_samples({"b1": "AAAAAAAAAA??AAAAAAAAAA",
                                  "b2": "..AAAAAAAAAAAAAAAAAAAA"})
    result = check_cluster(samples, grace_s=5)
    windows = [a.facts["window_s"] for a in result.anomalies["split-brain-controller"]]
    assert windows == [[2.0, 9.0], [12.0, 21.0]]


def test_zookeeper_mode_falls_back_to_the_metadata_controller_when_jmx_is_missing():
    samples = []
    for second in range(12):
        views = {"b1": {"id": 1, "reachable": True, "controller": 1, "partitions": []},
                 "b2": {"id": 2, "reachable": True, "controller": 2 if second >= 3 else 1, "partitions": []}}
        samples.append({"time": second * NS, "mode": "zookeeper", "views": views})
    result = check_cluster(samples, grace_s=5)
    assert result.anomalies["split-brain-controller"][0].facts["window_s"] == [3.0, 11.0]
    assert result.stats["controller_views"] == ["metadata"]


def test_a_kraft_brokers_metadata_controller_is_not_a_claim():
    samples = [{"time": s * NS, "mode": "kraft",
                "views": {"b1": {"id": 1, "reachable": True, "controller": 1, "partitions": []},
                          "b2": {"id": 2, "reachable": True, "controller": 2, "partitions": []}}} for s in range(12)]
    assert check_cluster(samples, grace_s=1).anomalies == {}


def test_two_kraft_controllers_in_leader_state_are_a_split_brain():
    def view(node_id: int, state: str) -> dict[str, Any]:
        return {"id": node_id, "role": "controller", "jmx": "ok", "raft_state": state, "raft_leader": node_id}

    samples = [{"time": s * NS, "mode": "kraft",
                "views": {"c1": view(101, "leader"), "c2": view(102, "leader" if s >= 4 else "follower")}}
               for s in range(15)]
    (found,) = check_cluster(samples, grace_s=5).anomalies["split-brain-controller"]
    assert found.facts["nodes"] == ["c1", "c2"] and found.facts["window_s"] == [4.0, 14.0]


def test_two_leaders_at_the_same_epoch_are_a_split_brain_leader():
    samples = leader_samples({"b1": "3333333333", "b2": "..33333333"})
    result = check_cluster(samples, grace_s=2)
    assert result.valid is False
    (found,) = result.anomalies["split-brain-leader"]
    assert found.facts["partition"] == 0 and found.facts["epochs"] == [3, 3]
    assert found.facts["window_s"] == [2.0, 9.0]


def test_a_zombie_leader_at_an_older_epoch_is_reported_as_stale_not_failed():
    samples = leader_samples({"b1": "00000000000000....", "b2": "....22222222222222"})
    result = check_cluster(samples, grace_s=5)
    assert result.valid is True
    assert "stale-leader" in INFORMATIONAL
    (found,) = result.anomalies["stale-leader"]
    assert found.facts["nodes"] == ["b1", "b2"] and found.facts["epochs"] == [0, 2]
    assert found.facts["window_s"] == [4.0, 13.0]
    assert "b1 still reported leading partition 0 at epoch 0 while b2 led it at epoch 2" in found.explanation


def test_a_node_whose_view_of_the_leader_epoch_goes_backwards_is_an_epoch_regression():
    samples = leader_samples({"b1": "1122221111"})
    result = check_cluster(samples, grace_s=5)
    (found,) = result.anomalies["leader-epoch-regression"]
    assert result.valid is False
    assert (found.facts["node"], found.facts["from_epoch"], found.facts["to_epoch"]) == ("b1", 2, 1)
    assert found.facts["window_s"] == [5.0, 6.0]  # last seen at epoch 2, first seen back at 1


def test_epochs_seen_across_an_unreachable_gap_still_must_not_go_backwards():
    assert "leader-epoch-regression" not in check_cluster(leader_samples({"b1": "11??22??33"})).anomalies
    assert "leader-epoch-regression" in check_cluster(leader_samples({"b1": "22??11"})).anomalies


def test_availability_counts_leaderless_and_under_replicated_seconds_from_the_admin_view():
    def sample(second: int, leader: int, isr: list[int]) -> dict[str, Any]:
        return {"time": second * NS, "partitions": [{"partition": 0, "leader": leader, "isr": isr,
                                                      "replicas": [1, 2, 3]}]}

    samples = [sample(0, 1, [1, 2, 3]), sample(1, -1, [1]), sample(2, -1, [1]), sample(3, 2, [2]),
               sample(4, 2, [1, 2, 3]), {"time": 5 * NS, "error": "timed out"}, sample(7, 2, [1, 2, 3])]
    stats = check_cluster(samples).stats
    assert stats["partitions"]["0"] == {"leaderless_s": 2.0, "under_replicated_s": 3.0}
    assert stats["unknown_s"] == 2.0
    assert stats["observed_s"] == 7.0


def test_without_any_per_node_view_the_verdict_is_unknown():
    assert check_cluster([{"time": 0, "partitions": []}]).valid == "unknown"


def test_merge_fails_the_run_on_a_failing_cluster_finding_and_keeps_both_results():
    history = check_events([])
    cluster = check_cluster(controller_samples({"b1": "AAAAAAAAAA", "b2": "AAAAAAAAAA"}), grace_s=1)
    merged = merge(history, cluster)
    assert merged.valid is False
    assert "split-brain-controller" in merged.anomalies
    assert merged.stats["cluster"]["anomaly_counts"] == {"split-brain-controller": 1}
    assert merge(history, check_cluster(controller_samples({"b1": "AAAA"}))).valid == history.valid


def test_the_file_reader_joins_the_state_file_with_the_histories_nemesis_ops(tmp_path: Path):
    state = tmp_path / "cluster-state.jsonl"
    state.write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in controller_samples(
        {"b1": "AAAAAAAAAAAAAAAAAAAA", "b2": "......AAAAAAAAAAAAAA"})))
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in nemesis_ops(1.0, 30.0)))
    (found,) = check_cluster_file(state, history, grace_s=5).anomalies["split-brain-controller"]
    assert found.nemesis[0].nemesis == "partition-controller" and found.nemesis[0].start == 0


def test_harness_check_runs_the_split_brain_checks_when_the_state_file_sits_next_to_the_history(tmp_path: Path):
    from tests.checkers.test_cli import harness_check

    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in nemesis_ops(1.0, 30.0)))
    (tmp_path / "cluster-state.jsonl").write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in controller_samples(
        {"b1": "AAAAAAAAAAAAAAAAAAAA", "b2": "......AAAAAAAAAAAAAA"})))
    found = harness_check(history, "--json")
    assert found.returncode == 1
    assert json.loads(found.stdout)["anomalies"]["split-brain-controller"][0]["nodes"] == ["b1", "b2"]
    assert "split-brain-controller" in found.stderr
    assert harness_check(history, "--json", "--grace", "30").returncode != 1


def partition_ops(start_s: float, stop_s: float, components: list[list[str]]) -> list[dict[str, Any]]:
    ops = nemesis_ops(start_s, stop_s, "partition-p0-leader")
    for op in ops:
        op["value"] = {"fault": 0, "targets": sorted(n for side in components for n in side),
                       "isolated": components[0][0], "components": components}
    return ops


def test_a_controller_cut_off_from_every_other_node_is_an_isolated_belief_not_a_split_brain():
    samples = controller_samples({"b1": "AAAAAAAAAAAAAAAAAAAA....",
                                  "b2": "..........AAAAAAAAAAAAAA"})
    alone = nemesis_timeline(number_events(partition_ops(2.0, 21.0, [["b1"], ["b2", "z1"]])))
    result = check_cluster(samples, alone, grace_s=5)
    assert result.valid is True
    assert "split-brain-controller" not in result.anomalies and "isolated-controller" in INFORMATIONAL
    (found,) = result.anomalies["isolated-controller"]
    assert found.facts["isolated"] == "b1" and found.facts["window_s"] == [10.0, 19.0]


def test_a_controller_cut_from_zookeeper_but_not_from_the_brokers_is_a_split_brain():
    samples = controller_samples({"b1": "AAAAAAAAAAAAAAAAAAAA....", "b2": "..........AAAAAAAAAAAAAA",
                                  "b3": "........................"})
    from_zookeeper = nemesis_timeline(number_events(partition_ops(2.0, 21.0, [["b1"], ["z1", "z2", "z3"]])))
    assert check_cluster(samples, from_zookeeper, grace_s=5).anomalies["split-brain-controller"]


def test_a_cut_that_healed_before_the_overlap_ended_does_not_excuse_it():
    samples = controller_samples({"b1": "AAAAAAAAAAAAAAAAAAAA....", "b2": "..........AAAAAAAAAAAAAA"})
    healed_early = nemesis_timeline(number_events(partition_ops(2.0, 15.0, [["b1"], ["b2"]])))
    assert check_cluster(samples, healed_early, grace_s=5).anomalies["split-brain-controller"]

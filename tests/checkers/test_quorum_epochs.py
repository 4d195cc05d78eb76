"""One leader per KRaft epoch (`kraft-epoch-two-leaders`), judged from the controllers' quorum-state views in
cluster-state.jsonl: hand-made samples, property-based elections (never flagged) and mutated ones (always flagged)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.cluster import NS, check_cluster, check_cluster_file, nemesis_timeline
from core.anomalies import CATALOG
from core.history import number_events

CONTROLLERS = ("dc1-controller1", "dc1-controller2", "dc2-controller1", "dc3-controller1")


def samples(rows: list[dict[str, tuple[int, int]]]) -> list[dict[str, Any]]:
    """One sample a second; each row maps a controller to the (leader, epoch) its quorum-state file holds."""
    return [{"time": second * NS, "controllers": {node: {"leader": leader, "epoch": epoch}
                                                  for node, (leader, epoch) in row.items()}}
            for second, row in enumerate(rows)]


def test_two_leaders_named_for_one_epoch_fail_the_verdict_with_who_named_whom_and_when():
    result = check_cluster(samples([
        {"dc1-controller1": (104, 3), "dc2-controller1": (104, 3)},
        {"dc1-controller1": (104, 3), "dc2-controller1": (101, 3)},  # a second leader for epoch 3
    ]))
    assert result.valid is False
    (found,) = result.anomalies["kraft-epoch-two-leaders"]
    assert found.facts["epoch"] == 3 and found.facts["leaders"] == [101, 104]
    assert found.facts["seen"] == [{"leader": 104, "node": "dc1-controller1", "t_s": 0.0},
                                   {"leader": 101, "node": "dc2-controller1", "t_s": 1.0}]
    assert "KRaft epoch 3 had 2 leaders" in found.explanation
    assert CATALOG["kraft-epoch-two-leaders"].fails


def test_a_handover_to_a_new_epoch_with_candidates_in_between_is_no_finding():
    result = check_cluster(samples([
        {"dc1-controller1": (104, 1), "dc2-controller1": (104, 1), "dc3-controller1": (104, 1)},
        {"dc1-controller1": (-1, 2), "dc2-controller1": (104, 1), "dc3-controller1": (-1, 2)},  # voting in 2
        {"dc1-controller1": (101, 2), "dc2-controller1": (101, 2), "dc3-controller1": (101, 2)},
        {"dc1-controller1": (101, 2), "dc2-controller1": (101, 2), "dc3-controller1": (103, 4)},  # ahead is fine
    ]))
    assert "kraft-epoch-two-leaders" not in result.anomalies
    assert result.stats["kraft_epochs"] == 3 and result.stats["quorum_samples"] == 4


def test_the_same_node_changing_its_mind_about_one_epochs_leader_is_flagged_too():
    result = check_cluster(samples([{"dc1-controller1": (102, 7)}, {"dc1-controller1": (103, 7)}]))
    (found,) = result.anomalies["kraft-epoch-two-leaders"]
    assert [s["node"] for s in found.facts["seen"]] == ["dc1-controller1", "dc1-controller1"]


def test_the_file_reader_finds_it_in_a_state_file(tmp_path: Path):
    state = tmp_path / "cluster-state.jsonl"
    state.write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in samples([
        {"dc1-controller1": (101, 5)}, {"dc2-controller1": (102, 5)}])))
    assert "kraft-epoch-two-leaders" in check_cluster_file(state).anomalies


@st.composite
def elections(draw: st.DrawFn) -> list[dict[str, tuple[int, int]]]:
    """A legal run: epochs only grow, each has one leader (or none, a failed election), and every controller
    lags behind, skips epochs, is a candidate (-1) or does not answer, in any mix."""
    epochs = draw(st.lists(st.sampled_from([101, 102, 103, 104, -1]), min_size=1, max_size=12))
    rows = []
    position = {node: 0 for node in CONTROLLERS}
    for _ in range(draw(st.integers(1, 30))):
        row = {}
        for node in CONTROLLERS:
            position[node] = min(len(epochs) - 1, position[node] + draw(st.integers(0, 2)))
            if draw(st.booleans()):  # answered this second
                epoch = position[node]
                leader = epochs[epoch] if draw(st.integers(0, 3)) else -1  # sometimes still voting
                row[node] = (leader, epoch)
        rows.append(row)
    return rows


@settings(max_examples=200, deadline=None)
@given(elections())
def test_a_legal_election_history_is_never_flagged(rows):
    assert "kraft-epoch-two-leaders" not in check_cluster(samples(rows)).anomalies


@settings(max_examples=200, deadline=None)
@given(elections(), st.data())
def test_a_second_leader_written_into_any_seen_epoch_is_always_flagged(rows, data):
    seen = [(i, node, leader, epoch) for i, row in enumerate(rows) for node, (leader, epoch) in row.items()
            if leader >= 0]
    if not seen:
        return
    _, _, leader, epoch = data.draw(st.sampled_from(seen))
    at = data.draw(st.integers(0, len(rows)))
    node = data.draw(st.sampled_from(CONTROLLERS))
    other = data.draw(st.sampled_from([n for n in (101, 102, 103, 104) if n != leader]))
    mutated = [*rows[:at], {node: (other, epoch)}, *rows[at:]]  # one more sample: nothing seen is taken away
    found = check_cluster(samples(mutated)).anomalies["kraft-epoch-two-leaders"]
    assert any(f.facts["epoch"] == epoch and other in f.facts["leaders"] for f in found)


# ---- voter-count-divergence ------------------------------------------------------------------------------

def voter_samples(timelines: dict[str, str]) -> list[dict[str, Any]]:
    """One character per second and node: a digit is the voter count it reports, `?` a stale JMX watch."""
    length = max(len(line) for line in timelines.values())
    return [{"time": second * NS, "mode": "kraft", "views": {
        node: ({"jmx": "stale"} if line[second] == "?" else {"jmx": "ok", "raft_voters": int(line[second])})
        for node, line in timelines.items()}} for second in range(length)]


def partition(start_s: float, stop_s: float, components: list[list[str]]) -> list[dict[str, Any]]:
    value = {"fault": 0, "targets": [n for side in components for n in side], "components": components}
    return [{"index": i, "time": int(t * NS), "process": "nemesis", "type": type_, "f": f"{verb}-partition-dc",
             "value": value}
            for i, (t, type_, verb) in enumerate([(start_s, "invoke", "start"), (start_s + 0.1, "ok", "start"),
                                                  (stop_s, "invoke", "stop"), (stop_s + 0.1, "ok", "stop")])]


def test_a_voter_change_every_node_learns_within_grace_is_no_finding():
    result = check_cluster(voter_samples({"c1": "3334444444", "c2": "3333444444", "b1": "3333344444"}))
    assert "voter-count-divergence" not in result.anomalies
    assert result.stats["voter_count_samples"] == 10


def test_a_node_stuck_on_the_old_count_beyond_grace_fails_with_the_counts_at_the_end():
    result = check_cluster(voter_samples({"c1": "3344444444", "c2": "3344444444", "b1": "3333333333"}))
    assert result.valid is False
    (found,) = result.anomalies["voter-count-divergence"]
    assert found.facts["counts"] == {"b1": 3, "c1": 4, "c2": 4}
    assert found.facts["window_s"] == [2.0, 9.0]
    assert "b1: 3; c1, c2: 4" in found.explanation


def test_stale_watches_and_a_node_cut_off_by_a_partition_are_left_out():
    quiet = voter_samples({"c1": "3344444444", "c2": "3344444444", "b1": "33??????44"})
    assert "voter-count-divergence" not in check_cluster(quiet).anomalies
    cut = voter_samples({"c1": "3344444444", "c2": "3344444444", "b1": "3333333344"})
    timeline = nemesis_timeline(number_events(partition(1.0, 7.5, [["b1"], ["c1", "c2"]])))
    assert "voter-count-divergence" not in check_cluster(cut, timeline).anomalies
    longer = voter_samples({"c1": "3344444444444444", "c2": "3344444444444444", "b1": "3333333333333333"})
    (found,) = check_cluster(longer, timeline).anomalies["voter-count-divergence"]  # still behind 7 s after the heal
    assert found.facts["window_s"] == [8.0, 15.0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(3, 5), min_size=1, max_size=6), st.data())
def test_changes_each_node_learns_within_grace_are_never_flagged(changes, data):
    """Every node follows the same sequence of counts, each node at most 3 s behind the first; a count holds at
    least 6 s, so the grace window (5 s) always covers the lag."""
    nodes = ("c1", "c2", "c3", "b1")
    lags = {node: data.draw(st.integers(0, 3)) for node in nodes}
    timeline = "".join(str(count) * 6 for count in changes)
    lines = {node: timeline[0] * lag + timeline[:len(timeline) - lag] for node, lag in lags.items()}
    assert "voter-count-divergence" not in check_cluster(voter_samples(lines)).anomalies


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 5), st.integers(7, 20), st.sampled_from(("c1", "c2", "b1")))
def test_one_node_held_on_another_count_past_grace_is_always_flagged(count, length, stuck):
    lines = {node: str(count) * length for node in ("c1", "c2", "b1")}
    lines[stuck] = str(count + 1) * length
    (found,) = check_cluster(voter_samples(lines)).anomalies["voter-count-divergence"]
    assert found.facts["counts"][stuck] == count + 1

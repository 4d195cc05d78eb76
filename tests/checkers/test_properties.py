"""Properties: histories from a correct log model are valid; one injected fault of each kind is always found."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import checkers
from tests.checkers.conftest import names
from tests.checkers.models import group_history, mirror_history, queue_history, txn_history

# Health checks on generation speed misfire on a loaded CI machine; the model is cheap, so they add nothing.
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
seeds = st.integers(min_value=0, max_value=2**32)
CYCLES = {"G0", "G1c", "G1c-ww", "G-single", "G2"}


def check(events: list[dict[str, Any]], workload: str = "auto") -> checkers.CheckResult:
    return checkers.check_events(events, workload)


def reindex(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, e in enumerate(events):
        e["index"], e["time"] = i, (i + 1) * 1_000_000
    return events


def polls(events):
    return [e for e in events if e["f"] == "poll" and e["type"] == "ok" and e["value"]["records"]]


def acked(events):
    return {e["value"]["value"]: e for e in events if e["f"] == "send" and e["type"] == "ok"}


def append_reader(events, *batches):
    """A fresh consumer that assigns and then polls each batch of records."""
    process = "injected"
    tail = [{"process": process, "type": t, "f": "assign", "value": {"topic": "t", "partitions": [0, 1]}}
            for t in ("invoke", "ok")]
    for batch in batches:
        tail += [{"process": process, "type": "invoke", "f": "poll", "value": None},
                 {"process": process, "type": "ok", "f": "poll", "value": {"records": batch}}]
    return reindex(events + tail)


# ---- correct models ----------------------------------------------------------------------------------------

@FAST
@given(seeds, st.integers(1, 3))
def test_queue_histories_from_a_correct_log_are_valid(seed, partitions):
    result = check(queue_history(seed, partitions=partitions).events, "queue")
    assert result.valid is True, checkers.render_text(result)
    assert names(result) == set()  # the drain reads everything: nothing is even unseen


@FAST
@given(seeds)
def test_serial_transactions_are_valid_and_acyclic(seed):
    result = check(txn_history(seed).events, "txn")
    assert result.valid is True, checkers.render_text(result)
    assert not (CYCLES | {"G1a", "G1b"}) & names(result), checkers.render_text(result)


# ---- one injected fault ------------------------------------------------------------------------------------

def records_of(events):
    return [(e, r) for e in polls(events) for r in e["value"]["records"]]


@FAST
@given(seeds)
def test_a_record_no_read_saw_is_found_lost(seed):
    events = queue_history(seed).events
    sends = acked(events)
    read = [r for _, r in records_of(events) if r["value"] in sends]
    assume(read)
    victim = read[seed % len(read)]["value"]
    for e in polls(events):
        e["value"]["records"] = [r for r in e["value"]["records"] if r["value"] != victim]
    lost = check(events).anomalies.get("lost-write", ())
    assert [a.facts["value"] for a in lost] == [victim]


@FAST
@given(seeds)
def test_a_value_read_at_a_second_offset_is_found_duplicated(seed):
    events = queue_history(seed).events
    read = records_of(events)
    assume(read)
    _, r = read[seed % len(read)]
    events = append_reader(events, [{**r, "offset": r["offset"] + 1000}])
    assert r["value"] in [a.facts["value"] for a in check(events).anomalies.get("duplicate", ())]


@FAST
@given(seeds)
def test_a_second_value_at_one_offset_is_found_inconsistent(seed):
    events = queue_history(seed).events
    read = [r for _, r in records_of(events)]
    assume(len({r["value"] for r in read}) >= 2)
    a = read[seed % len(read)]
    b = next(r for r in read if r["value"] != a["value"])
    events = append_reader(events, [{**a, "value": b["value"]}])
    found = check(events).anomalies.get("inconsistent-offsets", ())
    assert (a["partition"], a["offset"]) in [(x.facts["partition"], x.facts["offset"]) for x in found]


@FAST
@given(seeds)
def test_a_read_of_a_failed_send_is_found(seed):
    events = queue_history(seed).events
    sends = acked(events)
    read = [r["value"] for _, r in records_of(events) if r["value"] in sends]
    assume(read)
    victim = read[seed % len(read)]
    done = sends[victim]
    done["type"] = "fail"
    done["value"] = {k: v for k, v in done["value"].items() if k not in ("partition", "offset")}
    assert [a.facts["value"] for a in check(events).anomalies.get("aborted-read", ())] == [victim]


@FAST
@given(seeds)
def test_a_value_nobody_sent_is_found(seed):
    events = queue_history(seed).events
    read = records_of(events)
    assume(read)
    _, r = read[seed % len(read)]
    r["value"] = 10**9
    assert [a.facts["value"] for a in check(events).anomalies.get("unexpected-value", ())] == [10**9]


def two_in_one_partition(events, seed):
    read = [r for _, r in records_of(events)]
    pairs = [(a, b) for a in read for b in read
             if a["partition"] == b["partition"] and a["offset"] < b["offset"] and a["value"] != b["value"]]
    assume(pairs)
    return pairs[seed % len(pairs)]


@FAST
@given(seeds)
def test_a_consumer_going_backwards_is_found(seed):
    events = queue_history(seed).events
    low, high = two_in_one_partition(events, seed)
    found = check(append_reader(events, [high], [low])).anomalies.get("nonmonotonic-poll", ())
    assert [(a.facts["from"]["offset"], a.facts["to"]["offset"]) for a in found] == [(high["offset"], low["offset"])]


@FAST
@given(seeds)
def test_a_consumer_jumping_over_a_record_is_found(seed):
    events = queue_history(seed).events
    low, high = two_in_one_partition(events, seed)
    assume(any(r["partition"] == low["partition"] and low["offset"] < r["offset"] < high["offset"]
               for _, r in records_of(events)))
    found = check(append_reader(events, [low], [high])).anomalies.get("poll-skip", ())
    assert [(a.facts["from"]["offset"], a.facts["to"]["offset"]) for a in found] == [(low["offset"], high["offset"])]


@FAST
@given(seeds)
def test_a_producer_whose_sends_were_reordered_is_found(seed):
    events = queue_history(seed).events
    by_key: dict[Any, list[dict[str, Any]]] = {}
    for e in events:
        if e["f"] == "send" and e["type"] == "ok":
            by_key.setdefault((e["value"]["producer"], e["value"]["partition"]), []).append(e)
    pairs = [sends[:2] for sends in by_key.values() if len(sends) >= 2]
    assume(pairs)
    a, b = pairs[seed % len(pairs)]
    a["value"]["offset"], b["value"]["offset"] = b["value"]["offset"], a["value"]["offset"]
    found = check(events).anomalies.get("nonmonotonic-send", ())
    assert [a["value"]["value"], b["value"]["value"]] in [x.facts["values"] for x in found]


@FAST
@given(seeds)
def test_a_read_of_an_aborted_transaction_is_found_G1a(seed):
    events = txn_history(seed).events
    writers = {m["value"]: e for e in events if e["f"] == "txn" and e["type"] == "ok"
               for m in e["value"]["ops"] if m["f"] == "send"}
    readers = [(e, r) for e in events if e["f"] == "txn" and e["type"] == "ok"
               for m in e["value"]["ops"] if m["f"] == "poll" for r in m["records"]
               if r["value"] in writers and writers[r["value"]] is not e]
    assume(readers)
    reader, record = readers[seed % len(readers)]
    writer = writers[record["value"]]
    writer["type"] = "fail"
    writer["value"] = {"ops": [{k: v for k, v in m.items() if k not in ("partition", "offset", "records")}
                               for m in writer["value"]["ops"]]}
    found = check(events).anomalies.get("G1a", ())
    assert (writer["index"], reader["index"]) in [(a.facts["writer"], a.facts["reader"]) for a in found]


@FAST
@given(seeds)
def test_a_read_missing_the_middle_of_a_transaction_is_found_G1b(seed):
    events = copy.deepcopy(txn_history(seed, txns=30, partitions=1).events)
    writer_of = {m["value"]: e["index"] for e in events if e["f"] == "txn" and e["type"] == "ok"
                 for m in e["value"]["ops"] if m["f"] == "send"}
    candidates = []
    for e in events:
        if e["f"] != "txn" or e["type"] != "ok":
            continue
        for m in e["value"]["ops"]:
            rs = m.get("records", [])
            for i in range(1, len(rs) - 1):
                w = writer_of.get(rs[i]["value"])
                if w is not None and any(writer_of.get(r["value"]) == w for j, r in enumerate(rs) if j != i):
                    candidates.append((e, m, i, w))
    assume(candidates)
    reader, micro, i, writer = candidates[seed % len(candidates)]
    del micro["records"][i]
    found = check(events).anomalies.get("G1b", ())
    assert (writer, reader["index"]) in [(a.facts["writer"], a.facts["reader"]) for a in found]


def one_poll_with_two_in_a_partition(events, seed):
    found = []
    for e in polls(events):
        rs = e["value"]["records"]
        for i, a in enumerate(rs):
            for j in range(i + 1, len(rs)):
                if rs[j]["partition"] == a["partition"]:
                    found.append((e, i, j))
    assume(found)
    return found[seed % len(found)]


@FAST
@given(seeds)
def test_records_swapped_within_one_poll_are_found_internal_nonmonotonic(seed):
    events = queue_history(seed, steps=60).events
    e, i, j = one_poll_with_two_in_a_partition(events, seed)
    rs = e["value"]["records"]
    rs[i], rs[j] = rs[j], rs[i]
    found = check(events).anomalies.get("int-nonmonotonic-poll", ())
    assert e["index"] in [a.ops[0] for a in found]


@FAST
@given(seeds)
def test_a_record_dropped_inside_one_poll_is_found_internal_skip(seed):
    events = queue_history(seed, steps=60).events
    e, i, j = one_poll_with_two_in_a_partition(events, seed)
    rs = e["value"]["records"]
    assume(j == i + 1 and j + 1 < len(rs) and rs[j + 1]["partition"] == rs[i]["partition"])
    assume(rs[j]["value"] in acked(events))  # else nothing proves the dropped record exists
    dropped = rs.pop(j)
    found = check(events).anomalies.get("int-poll-skip", ())
    assert [dropped["offset"]] in [a.facts["skipped_offsets"] for a in found if a.ops == (e["index"],)]


# ---- consumer groups ---------------------------------------------------------------------------------------

@FAST
@given(seeds)
def test_a_group_that_commits_only_processed_records_never_skips(seed):
    history, skipped = group_history(seed, auto_commit=False)
    assert skipped == 0
    result = check(history.events, "group")
    assert result.valid is True, checkers.render_text(result)


@FAST
@given(seeds)
def test_auto_commit_before_processing_then_a_crash_is_always_reported(seed):
    history, skipped = group_history(seed, auto_commit=True)
    result = check(history.events, "group")
    if skipped:
        assert "commit-past-unconsumed" in names(result), checkers.render_text(result)
        assert result.valid is False
        assert sum(a.facts["skipped"] for a in result.anomalies["commit-past-unconsumed"]) == skipped
    else:
        assert result.valid is True, checkers.render_text(result)


# ---- MirrorMaker 2 between active-active clusters ----------------------------------------------------------

def mirror_polls(events, source, target):
    return [e for e in events if e["f"] == "mirror-poll" and e["type"] == "ok"
            and e["value"]["source_cluster"] == source and e["value"]["cluster"] == target]


def acked_in(events, cluster):
    return {v for v, e in acked(events).items() if e["value"].get("cluster") == cluster}


def a_flow(seed):
    return [("dc1", "dc2"), ("dc2", "dc1")][seed % 2]


@FAST
@given(seeds, st.integers(1, 3), st.booleans())
def test_active_active_histories_from_a_correct_mirror_are_valid(seed, partitions, restarts):
    history, twice = mirror_history(seed, partitions=partitions, restarts=restarts)
    result = check(history.events)
    assert result.valid is True, checkers.render_text(result)
    assert names(result) <= {"mirror-duplicate"}, checkers.render_text(result)
    flows = result.stats["mirror"]["flows"]
    assert {name: flow["duplicates"] for name, flow in flows.items()} == twice
    assert all(flow["lost"] == flow["unmirrored"] == 0 for flow in flows.values())


@FAST
@given(seeds)
def test_a_mirrored_record_dropped_before_the_drain_is_found_lost_in_the_mirror(seed):
    events = mirror_history(seed)[0].events
    source, target = a_flow(seed)
    copies = [r["value"] for e in mirror_polls(events, source, target) for r in e["value"]["records"]]
    candidates = sorted(acked_in(events, source) & set(copies))
    assume(candidates)
    victim = candidates[seed % len(candidates)]
    for e in mirror_polls(events, source, target):
        e["value"]["records"] = [r for r in e["value"]["records"] if r["value"] != victim]
    lost = check(events).anomalies.get("lost-in-mirror", ())
    assert [(a.facts["value"], a.facts["target"]) for a in lost] == [(victim, target)]


@FAST
@given(seeds)
def test_two_mirrored_records_swapped_are_found_reordered(seed):
    events = mirror_history(seed, restarts=seed % 3 == 0)[0].events
    source, target = a_flow(seed)
    firsts: dict[tuple[int, Any], dict[str, Any]] = {}  # (partition, value) -> the record of its first copy
    for e in mirror_polls(events, source, target):
        for r in e["value"]["records"]:
            first = firsts.get((r["partition"], r["value"]))
            if first is None or r["offset"] < first["offset"]:
                firsts[(r["partition"], r["value"])] = r
    pairs = [(a, b) for a in firsts.values() for b in firsts.values()
             if a["partition"] == b["partition"] and a["offset"] < b["offset"]]
    assume(pairs)
    a, b = pairs[seed % len(pairs)]
    moved = b["value"]
    a["value"], b["value"] = b["value"], a["value"]
    found = check(events).anomalies.get("mirror-reorder", ())
    assert any(x.facts["target"] == target and x.facts["partition"] == a["partition"] and x.facts["values"][1] == moved
               for x in found), [x.explanation for x in found]


@FAST
@given(seeds)
def test_a_record_mirrored_back_to_its_origin_is_found_a_cycle(seed):
    events = mirror_history(seed)[0].events
    source, target = a_flow(seed)
    polls = mirror_polls(events, source, target)
    home = sorted(acked_in(events, target))
    assume(polls and home)
    value = home[seed % len(home)]
    polls[seed % len(polls)]["value"]["records"].append(
        {"topic": f"{source}.t", "partition": 0, "offset": 10**6, "value": value})
    result = check(events)
    assert any(a.facts["target"] == target and value in a.facts["values"]
               for a in result.anomalies.get("mirror-cycle", ())), checkers.render_text(result)
    assert value not in [a.facts["value"] for a in result.anomalies.get("unexpected-value", ())]

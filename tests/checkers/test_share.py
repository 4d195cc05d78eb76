"""Share groups (KIP-932): hand-made histories pin each rule down, a correct model's histories are valid, and
each mutation of one of them is found."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import checkers
from core.errors import HistoryError
from tests.checkers.models import share_history
from tests.checkers.notation import History

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(min_value=0, max_value=2**32)


def check(h: History | list[dict[str, Any]]) -> checkers.CheckResult:
    return checkers.check_events(h.events if isinstance(h, History) else h, "auto")


def found(result: checkers.CheckResult) -> dict[str, list[tuple[int, ...]]]:
    return {name: [a.ops for a in anomalies] for name, anomalies in result.anomalies.items()
            if name.startswith("share-")}


def two_members(limit: int = 5) -> History:
    h = History()
    h.send(0, 1, at=(0, 0))  # ops 0, 1
    h.share_subscribe(1, limit=limit)  # 2, 3
    h.share_subscribe(2, limit=limit)  # 4, 5
    return h


# ---- redelivery is counted, not failed ------------------------------------------------------------------------

def test_a_redelivery_after_a_lock_expired_is_counted_not_failed() -> None:
    h = two_members()
    h.share_poll(1, (0, 0, 1, 1))
    h.share_poll(2, (0, 0, 1, 2))  # member 1's lock ran out; member 2 has it now
    h.share_ack(1, (0, 0, "accept"), refused=(0,))  # the broker refuses the late holder
    h.share_ack(2, (0, 0, "accept"))
    h.share_drain(3)
    result = check(h)
    assert result.valid is True and found(result) == {}
    assert result.stats["share"]["redelivered"] == 1 and result.stats["share"]["acks_refused"] == 1
    assert result.stats["share"]["accepted"] == 1 and result.stats["workload"] == "share"


def test_a_release_is_delivered_again_and_counted_as_such() -> None:
    h = two_members()
    h.share_poll(1, (0, 0, 1, 1))
    h.share_ack(1, (0, 0, "release"))
    h.share_poll(2, (0, 0, 1, 2))
    h.share_ack(2, (0, 0, "accept"))
    h.share_drain(3)
    result = check(h)
    assert result.valid is True and found(result) == {}
    assert result.stats["share"]["redelivered_after_release"] == 1


# ---- share-double-lock ----------------------------------------------------------------------------------------

def test_a_second_acquisition_while_the_first_holder_acks_successfully_is_a_double_lock() -> None:
    h = two_members()
    a = h.share_poll(1, (0, 0, 1, 1))
    b = h.share_poll(2, (0, 0, 1, 2))
    k = h.share_ack(1, (0, 0, "accept"))  # applied: the broker still took member 1 as the holder
    h.share_drain(3)
    result = check(h)
    assert result.valid is False
    assert found(result) == {"share-double-lock": [(*a, *b, *k)]}
    (anomaly,) = result.anomalies["share-double-lock"]
    assert anomaly.facts["holders"] == [1, 2] and anomaly.facts["offset"] == 0


def test_a_concurrent_poll_is_no_double_lock() -> None:
    # Member 2's poll was invoked before member 1's poll completed: it may have acquired the record first.
    h = two_members()
    h.invoke(2, "share-poll", {"group": "sg"})
    h.share_poll(1, (0, 0, 1, 1))
    h.complete(2, "ok", "share-poll", {"group": "sg", "records": [
        {"topic": "t", "partition": 0, "offset": 0, "value": 1, "delivery_count": 2}]})
    h.share_ack(1, (0, 0, "accept"))
    assert "share-double-lock" not in found(check(h))


def test_a_refused_or_unknown_ack_is_no_double_lock() -> None:
    for outcome, refused in (("ok", (0,)), ("info", ())):
        h = two_members()
        h.share_poll(1, (0, 0, 1, 1))
        h.share_poll(2, (0, 0, 1, 2))
        h.share_ack(1, (0, 0, "accept"), outcome=outcome, refused=refused)
        assert "share-double-lock" not in found(check(h)), outcome


# ---- share-redelivered-after-ack ------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["accept", "reject"])
def test_a_record_settled_and_then_delivered_again_is_found(answer: str) -> None:
    h = two_members()
    h.share_poll(1, (0, 0, 1, 1))
    k = h.share_ack(1, (0, 0, answer))
    again = h.share_poll(2, (0, 0, 1, 2))
    h.share_poll(2, (0, 0, 1, 3))  # once per record
    result = check(h)
    assert found(result) == {"share-redelivered-after-ack": [(*k, *again)]}
    assert result.anomalies["share-redelivered-after-ack"][0].facts["ack"] == answer


def test_a_delivery_invoked_before_the_ack_completed_is_allowed() -> None:
    h = two_members()
    h.share_poll(1, (0, 0, 1, 1))
    h.invoke(1, "share-ack", {"group": "sg", "acks": [{"topic": "t", "partition": 0, "offset": 0, "type": "accept"}]})
    h.share_poll(2, (0, 0, 1, 2))
    h.complete(1, "ok", "share-ack", {"group": "sg", "acks": [
        {"topic": "t", "partition": 0, "offset": 0, "type": "accept"}]})
    assert "share-redelivered-after-ack" not in found(check(h))


# ---- delivery counts ------------------------------------------------------------------------------------------

def test_a_delivery_count_that_goes_down_is_a_regression() -> None:
    h = two_members()
    first = h.share_poll(1, (0, 0, 1, 3))
    h.share_ack(1, (0, 0, "release"))
    later = h.share_poll(2, (0, 0, 1, 2))
    result = check(h)
    assert found(result) == {"share-delivery-count-regression": [(first[0], *later)],
                             "share-unsettled": [(0, 1, *later)]}
    facts = result.anomalies["share-delivery-count-regression"][0].facts
    assert (facts["earlier_count"], facts["later_count"]) == (3, 2)


def test_a_lower_count_from_a_concurrent_poll_is_no_regression() -> None:
    h = two_members()
    h.invoke(2, "share-poll", {"group": "sg"})
    h.share_poll(1, (0, 0, 1, 3))
    h.complete(2, "ok", "share-poll", {"group": "sg", "records": [
        {"topic": "t", "partition": 0, "offset": 0, "value": 1, "delivery_count": 2}]})
    assert "share-delivery-count-regression" not in found(check(h))


def test_a_count_above_the_groups_limit_is_found() -> None:
    h = two_members(limit=3)
    over = h.share_poll(1, (0, 0, 1, 4))
    assert found(check(h)) == {"share-delivery-limit-exceeded": [over]}
    h = two_members(limit=3)
    h.share_poll(1, (0, 0, 1, 3))
    assert "share-delivery-limit-exceeded" not in found(check(h))


# ---- share-lost and share-unsettled ---------------------------------------------------------------------------

def test_an_acknowledged_send_the_group_never_settled_before_the_drain_is_lost() -> None:
    h = two_members()
    h.send(0, 2, at=(0, 1))  # 6, 7
    a = h.share_poll(1, (0, 0, 1, 1), (0, 1, 2, 1))
    h.share_ack(1, (0, 0, "accept"), (0, 1, "release"))
    drain = h.share_drain(3)
    result = check(h)
    assert result.valid is False
    assert found(result) == {"share-lost": [(6, 7, *a, drain[0])]}
    assert result.anomalies["share-lost"][0].facts["value"] == 2
    assert result.stats["share"]["lost"] == 1


def test_without_a_drain_an_unsettled_record_is_only_reported() -> None:
    h = two_members()
    h.share_poll(1, (0, 0, 1, 1))
    result = check(h)
    assert result.valid is True and found(result) == {"share-unsettled": [(0, 1, 6, 7)]}


def test_an_unknown_accept_or_a_delivery_at_the_limit_settles_a_record() -> None:
    h = two_members(limit=2)
    h.send(0, 2, at=(0, 1))
    h.share_poll(1, (0, 0, 1, 1), (0, 1, 2, 2))
    h.share_ack(1, (0, 0, "accept"), (0, 1, "release"), outcome="info")  # 0 may be accepted; 1 is archived
    h.share_drain(3)
    result = check(h)
    assert result.valid is True and found(result) == {}
    assert result.stats["share"]["archived"] == 1 and result.stats["share"]["acks_unknown"] == 2


def test_an_ack_entry_that_timed_out_may_have_landed() -> None:
    # 4.3.1 answered some acks with request-timed-out or transport while a broker was killed: not a refusal.
    h = two_members()
    h.share_poll(1, (0, 0, 1, 1))
    h.invoke(1, "share-ack", {"group": "sg", "acks": [{"topic": "t", "partition": 0, "offset": 0, "type": "accept"}]})
    h.complete(1, "ok", "share-ack", {"group": "sg", "acks": [
        {"topic": "t", "partition": 0, "offset": 0, "type": "accept", "error": "request-timed-out"}]})
    h.share_drain(3)
    result = check(h)
    assert result.valid is True and found(result) == {}
    assert result.stats["share"]["acks_unknown"] == 1 and result.stats["share"]["acks_refused"] == 0


def test_a_send_acknowledged_after_the_drain_began_is_not_owed() -> None:
    h = two_members()
    h.invoke(0, "send", {"topic": "t", "value": 2, "producer": "p0"})
    h.share_poll(1, (0, 0, 1, 1))
    h.share_ack(1, (0, 0, "accept"))
    h.share_drain(3)
    h.complete(0, "ok", "send", {"topic": "t", "value": 2, "producer": "p0", "partition": 0, "offset": 1})
    assert found(check(h)) == {"share-unsettled": [(6, 13)]}


# ---- the format -----------------------------------------------------------------------------------------------

def test_an_ack_of_an_unknown_kind_is_refused_by_line() -> None:
    h = two_members()
    h.share_poll(1, (0, 0, 1, 1))
    h.share_ack(1, (0, 0, "acept"))
    with pytest.raises(HistoryError, match="line 9"):
        check(h)


# ---- properties: the correct model is valid; every mutation is found ------------------------------------------

@FAST
@given(seeds)
def test_histories_of_a_correct_share_group_are_valid(seed: int) -> None:
    result = check(share_history(seed))
    assert result.valid is True, checkers.render_text(result)
    assert found(result) == {}
    assert result.stats["share"]["lost"] == 0


def _events(seed: int) -> list[dict[str, Any]]:
    return copy.deepcopy(share_history(seed).events)


def _ok(events: list[dict[str, Any]], f: str) -> list[dict[str, Any]]:
    return [e for e in events if e["f"] == f and e["type"] == "ok"]


def _reindex(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, e in enumerate(events):
        e["index"], e["time"] = i, (i + 1) * 1_000_000
    return events


@FAST
@given(seeds)
def test_dropping_the_acks_that_settled_a_record_is_found_lost(seed: int) -> None:
    events = _events(seed)
    polls = _ok(events, "share-poll")
    archived = {r["offset"] for e in polls for r in e["value"]["records"] if r["delivery_count"] >= 3}
    settled = [a for e in _ok(events, "share-ack") for a in e["value"]["acks"]
               if "error" not in a and a["type"] != "release" and a["offset"] not in archived]
    if not settled:
        return
    victim = settled[0]["offset"]
    for e in _ok(events, "share-ack"):
        for a in e["value"]["acks"]:
            if a["offset"] == victim:
                a["error"] = "invalid-record-state"
    assert victim in {a.facts["offset"] for a in check(events).anomalies["share-lost"]}


@FAST
@given(seeds)
def test_a_settled_record_delivered_again_is_found(seed: int) -> None:
    events = _events(seed)
    settled = [a for e in _ok(events, "share-ack") for a in e["value"]["acks"] if "error" not in a
               and a["type"] != "release"]
    if not settled:
        return
    r = settled[0]
    drain = next(i for i, e in enumerate(events) if e["f"] == "share-drain")
    record = {"topic": "t", "partition": 0, "offset": r["offset"], "value": r["offset"] + 1000, "delivery_count": 1}
    extra = [{"process": 99, "type": "invoke", "f": "share-poll", "value": {"group": "sg"}},
             {"process": 99, "type": "ok", "f": "share-poll", "value": {"group": "sg", "records": [record]}}]
    result = check(_reindex(events[:drain] + extra + events[drain:]))
    assert "share-redelivered-after-ack" in found(result)


@FAST
@given(seeds)
def test_a_second_holder_before_an_applied_ack_is_found(seed: int) -> None:
    events = _events(seed)
    # An applied ack right after its own poll: insert another member's acquisition of the same record between.
    for i in range(len(events) - 1):
        ack = events[i]
        before = events[i - 1]
        if ack["f"] == "share-ack" and ack["type"] == "invoke" and before["f"] == "share-poll" \
                and before["type"] == "ok" and before["process"] == ack["process"]:
            done = next(e for e in events[i + 1:] if e["process"] == ack["process"])
            applied = [a for a in done["value"]["acks"] if "error" not in a]
            if applied:
                break
    else:
        return
    held = next(r for r in events[i - 1]["value"]["records"] if r["offset"] == applied[0]["offset"])
    extra = [{"process": 99, "type": "invoke", "f": "share-poll", "value": {"group": "sg"}},
             {"process": 99, "type": "ok", "f": "share-poll", "value": {"group": "sg", "records": [dict(held)]}}]
    result = check(_reindex(events[:i] + extra + events[i:]))
    assert "share-double-lock" in found(result)


@FAST
@given(seeds)
def test_a_lowered_or_excessive_delivery_count_is_found(seed: int) -> None:
    events = _events(seed)
    deliveries = [(e, r) for e in _ok(events, "share-poll") for r in e["value"]["records"]]
    later = [(e, r) for e, r in deliveries if r["delivery_count"] >= 2]
    if not later:
        return
    lowered = copy.deepcopy(events)
    target = next(r for e in _ok(lowered, "share-poll") for r in e["value"]["records"]
                  if (r["offset"], r["delivery_count"]) == (later[0][1]["offset"], later[0][1]["delivery_count"]))
    target["delivery_count"] = 0
    assert "share-delivery-count-regression" in found(check(lowered))
    later[0][1]["delivery_count"] = 4  # the model's limit is 3
    assert "share-delivery-limit-exceeded" in found(check(events))

"""Queue anomalies: each rule, a history that breaks it, and a near-identical one that must pass."""

from __future__ import annotations

import pytest

from tests.checkers.conftest import check, names, only
from tests.checkers.notation import History


def two_sends_then_read_only_second(first_outcome: str = "ok") -> History:
    h = History()
    h.send(0, 1, at=(0, 0) if first_outcome == "ok" else None, outcome=first_outcome)  # ops 0, 1
    h.send(0, 2, at=(0, 1))  # ops 2, 3
    h.assign(1, 0)  # ops 4, 5
    h.poll(1, (0, 1, 2))  # ops 6, 7
    return h


def test_acknowledged_write_nobody_read_while_a_later_offset_was_read_is_lost():
    result = check(two_sends_then_read_only_second())
    lost = only(result, "lost-write")
    assert lost.ops == (0, 1, 7)
    assert lost.facts["value"] == 1 and lost.facts["offset"] == 0 and lost.facts["partition"] == 0
    assert lost.facts["read_beyond"] == {"op": 7, "offset": 1}
    assert "no read ever saw it" in lost.explanation
    assert result.valid is False


def test_indeterminate_send_that_nobody_read_is_not_lost():
    result = check(two_sends_then_read_only_second("info"))
    assert names(result) == set()
    assert result.valid is True


def test_failed_send_that_nobody_read_is_not_lost():
    assert check(two_sends_then_read_only_second("fail")).valid is True


def test_acknowledged_write_no_read_reached_is_unseen_and_does_not_fail():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 0, 1))
    result = check(h)
    unseen = only(result, "unseen")
    assert unseen.ops == (2, 3) and unseen.facts["value"] == 2
    assert result.valid is True
    assert result.stats["sends"]["unseen_over_time"][-1]["unseen"] == 1


def test_drain_past_an_unread_acknowledged_write_makes_it_lost():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.drain(1, 0, 1)  # ops 2, 3
    lost = only(check(h), "lost-write")
    assert lost.ops == (0, 1, 3)
    assert lost.facts["drain"] == {"op": 3, "high_watermark": 1}


def test_drain_that_did_not_finish_proves_nothing():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.drain(1, 0, 1, outcome="info")
    assert names(check(h)) == {"unseen"}


def test_acknowledged_offset_at_or_beyond_the_final_drains_high_watermark_is_lost():
    # The log was truncated below an acknowledged offset (acks=1 leader failover): the final drain, taken
    # after healing, ends before it, so the write is gone even though no read ever passed it.
    h = History()
    h.send(0, 1, at=(0, 3))
    h.drain(1, 0, 3)  # ops 2, 3
    lost = only(check(h), "lost-write")
    assert lost.ops == (0, 1, 3)
    assert lost.facts["drain"] == {"op": 3, "high_watermark": 3}
    assert "the log ends below it" in lost.explanation


def test_drain_that_completed_before_the_ack_proves_nothing_about_it():
    h = History()
    h.drain(1, 0, 3)
    h.send(0, 1, at=(0, 3))
    assert names(check(h)) == {"unseen"}


def test_value_at_two_offsets_is_a_duplicate():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.assign(1, 0)
    h.poll(1, (0, 0, 1), (0, 1, 1))  # op 5
    dup = only(check(h), "duplicate")
    assert dup.ops == (0, 1, 5)
    assert dup.facts["places"] == [{"partition": 0, "offset": 0, "op": 1}, {"partition": 0, "offset": 1, "op": 5}]


def test_value_read_twice_at_the_same_offset_is_no_duplicate():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.assign(1, 0)
    h.poll(1, (0, 0, 1))
    h.assign(2, 0)
    h.poll(2, (0, 0, 1))
    assert check(h).valid is True


def test_one_offset_with_two_values_is_inconsistent():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.send(2, 2, outcome="info")
    h.assign(1, 0)
    h.poll(1, (0, 0, 2))  # op 7
    bad = only(check(h), "inconsistent-offsets")
    assert bad.ops == (1, 7)
    assert bad.facts["values"] == [{"value": 1, "op": 1}, {"value": 2, "op": 7}]
    assert bad.facts["offset"] == 0


def test_producer_sends_stored_out_of_the_order_it_took_them():
    h = History()
    h.invoke(0, "send", {"topic": "t", "value": 1, "producer": "p"})  # 0
    h.invoke(1, "send", {"topic": "t", "value": 2, "producer": "p"})  # 1
    h.complete(1, "ok", "send", {"topic": "t", "value": 2, "producer": "p", "partition": 0, "offset": 0})  # 2
    h.complete(0, "ok", "send", {"topic": "t", "value": 1, "producer": "p", "partition": 0, "offset": 1})  # 3
    bad = only(check(h), "nonmonotonic-send")
    assert bad.ops == (0, 1, 2, 3)
    assert bad.facts["values"] == [1, 2] and bad.facts["offsets"] == [1, 0]


def test_pipelined_sends_completing_out_of_order_but_stored_in_order_are_fine():
    h = History()
    h.invoke(0, "send", {"topic": "t", "value": 1, "producer": "p"})
    h.invoke(1, "send", {"topic": "t", "value": 2, "producer": "p"})
    h.complete(1, "ok", "send", {"topic": "t", "value": 2, "producer": "p", "partition": 0, "offset": 1})
    h.complete(0, "ok", "send", {"topic": "t", "value": 1, "producer": "p", "partition": 0, "offset": 0})
    assert "nonmonotonic-send" not in names(check(h))


def test_an_indeterminate_send_retried_later_may_land_anywhere():
    h = History()
    h.send(0, 1, outcome="info", producer="p")
    h.send(1, 2, at=(0, 0), producer="p")
    h.assign(2, 0)
    h.poll(2, (0, 0, 2), (0, 1, 1))
    assert check(h).valid is True


def test_consumer_going_backwards_between_polls():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 0, 1), (0, 1, 2))  # 7
    h.poll(1, (0, 0, 1))  # 9
    bad = only(check(h), "nonmonotonic-poll")
    assert bad.ops == (7, 9)
    assert bad.facts["from"] == {"offset": 1, "value": 2, "op": 7}
    assert bad.facts["to"] == {"offset": 0, "value": 1, "op": 9}


@pytest.mark.parametrize("reset", [
    lambda h: h.seek(1, 0, 0), lambda h: h.rebalance(1, [0]), lambda h: h.assign(1, 0),
    lambda h: h.subscribe(1, "g")], ids=["seek", "rebalance", "assign", "subscribe"])
def test_going_backwards_after_a_seek_or_rebalance_or_assign_is_fine(reset):
    h = History()
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 0, 1), (0, 1, 2))
    reset(h)
    h.poll(1, (0, 0, 1))
    assert check(h, "queue").valid is True


def test_a_failed_seek_does_not_reset_the_position():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 0, 1), (0, 1, 2))
    h.op(1, "seek", {"topic": "t", "partition": 0, "offset": 0}, "fail")
    h.poll(1, (0, 0, 1))
    assert "nonmonotonic-poll" in names(check(h))


def test_backwards_within_one_poll_is_the_internal_form():
    h = History()
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 1, 2), (0, 0, 1))  # 7
    bad = only(check(h), "int-nonmonotonic-poll")
    assert bad.ops == (7,)
    assert "nonmonotonic-poll" not in names(check(h))


def three_sends() -> History:
    h = History()
    for value in range(3):
        h.send(0, value, at=(0, value))  # ops 0..5
    h.assign(1, 0)  # 6, 7
    return h


def test_consumer_jumping_over_an_existing_record_between_polls():
    h = three_sends()
    h.poll(1, (0, 0, 0))  # 9
    h.poll(1, (0, 2, 2))  # 11
    skip = only(check(h), "poll-skip")
    assert skip.ops == (9, 11)
    assert skip.facts["skipped_offsets"] == [1] and skip.facts["skipped_values"] == [1]


def test_jumping_over_an_offset_where_no_record_is_known_is_fine():
    # Offset 1 may be a transaction marker or an aborted record: nothing says a record exists there.
    h = History()
    h.send(0, 0, at=(0, 0))
    h.send(0, 2, at=(0, 2))
    h.assign(1, 0)
    h.poll(1, (0, 0, 0))
    h.poll(1, (0, 2, 2))
    assert check(h).valid is True


def test_jumping_over_a_record_whose_send_failed_is_fine():
    h = History()
    h.send(0, 0, at=(0, 0))
    h.send(0, 1, outcome="fail")
    h.send(0, 2, at=(0, 2))
    h.assign(1, 0)
    h.poll(1, (0, 0, 0), (0, 2, 2))
    assert check(h).valid is True


def test_jumping_forward_after_a_seek_is_fine():
    h = three_sends()
    h.poll(1, (0, 0, 0), (0, 1, 1))
    h.seek(1, 0, 2)
    h.poll(1, (0, 2, 2))
    h.assign(2, 0)
    h.poll(2, (0, 2, 2))
    assert check(h).valid is True


def test_skip_within_one_poll_is_the_internal_form():
    h = three_sends()
    h.poll(1, (0, 0, 0), (0, 2, 2))  # 9
    skip = only(check(h), "int-poll-skip")
    assert skip.ops == (9,) and skip.facts["skipped_offsets"] == [1]
    assert "poll-skip" not in names(check(h))


def test_reading_a_value_nobody_sent():
    h = History()
    h.assign(1, 0)
    h.poll(1, (0, 0, 99))  # 3
    bad = only(check(h), "unexpected-value")
    assert bad.ops == (3,) and bad.facts["value"] == 99


def test_reading_a_value_whose_send_certainly_failed():
    h = History()
    h.send(0, 5, outcome="fail")
    h.assign(1, 0)
    h.poll(1, (0, 0, 5))  # 5
    bad = only(check(h), "aborted-read")
    assert bad.ops == (0, 1, 5)
    assert "certainly failed" in bad.explanation


def test_reading_an_indeterminate_send_is_fine():
    h = History()
    h.send(0, 5, outcome="info")
    h.assign(1, 0)
    h.poll(1, (0, 0, 5))
    assert check(h).valid is True


def test_reading_a_send_that_never_completed_is_fine():
    h = History()
    h.invoke(0, "send", {"topic": "t", "value": 5})
    h.assign(1, 0)
    h.poll(1, (0, 0, 5))
    result = check(h)
    assert result.valid is True
    assert result.stats["ops"]["send"] == {"pending": 1}


def test_empty_history_is_unknown():
    result = check(History())
    assert result.valid == "unknown"


def test_string_and_structured_values_are_checked_like_integers():
    h = History()
    h.send(0, "a", at=(0, 0))
    h.send(0, {"k": [1]}, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 1, {"k": [1]}))
    assert only(check(h), "lost-write").facts["value"] == "a"


def test_stats_count_ops_by_outcome_and_ack_to_read_lag():
    h = History()
    h.send(0, 1, at=(0, 0))  # ok at op 1, t = 2 ms
    h.send(0, 2, outcome="fail")
    h.assign(1, 0)
    h.poll(1, (0, 0, 1))  # op 7 at t = 8 ms
    stats = check(h).stats
    assert stats["ops"]["send"] == {"ok": 1, "fail": 1}
    assert stats["sends"]["lag"]["worst_ms"] == 6.0
    assert stats["sends"]["lag"]["worst"] == {"value": 1, "ack_op": 1, "first_read_op": 7}

"""Transactional anomalies: dirty reads, torn reads and dependency cycles, each with its near-miss."""

from __future__ import annotations

import checkers
from tests.checkers.conftest import check, names, only
from tests.checkers.notation import History, poll, send


def test_reading_a_write_of_an_aborted_transaction_is_G1a():
    h = History()
    h.txn(0, [send(7)], outcome="fail")  # ops 0, 1
    h.assign(1, 0)
    h.txn(1, [poll((0, 0, 7))])  # ops 4, 5
    result = check(h)
    g1a = only(result, "G1a")
    assert g1a.ops == (0, 1, 4, 5)
    assert g1a.facts["writer"] == 1 and g1a.facts["reader"] == 5 and g1a.facts["value"] == 7
    assert "aborted" in g1a.explanation
    assert only(result, "aborted-read").facts["reader"] == 5
    assert result.valid is False


def test_an_aborted_transaction_nobody_read_is_fine():
    h = History()
    h.txn(0, [send(7)], outcome="fail")
    h.txn(0, [send(8, at=(0, 1))])
    h.assign(1, 0)
    h.txn(1, [poll((0, 1, 8))])
    assert check(h).valid is True


def test_an_indeterminate_transaction_that_was_read_committed():
    h = History()
    h.txn(0, [send(7)], outcome="info")
    h.assign(1, 0)
    h.txn(1, [poll((0, 0, 7))])
    assert check(h).valid is True


def torn(skip: bool) -> History:
    h = History()
    h.txn(0, [send(1, at=(0, 0)), send(2, at=(0, 1)), send(3, at=(0, 2))])  # ops 0, 1
    h.assign(1, 0)
    read = [(0, 0, 1), (0, 2, 3)] if skip else [(0, 0, 1), (0, 1, 2), (0, 2, 3)]
    h.txn(1, [poll(*read)])  # ops 4, 5
    return h


def test_seeing_part_of_a_committed_transaction_it_read_past_is_G1b():
    result = check(torn(skip=True))
    g1b = only(result, "G1b")
    assert g1b.ops == (0, 1, 5)
    assert g1b.facts["seen"] == [{"offset": 0, "value": 1}, {"offset": 2, "value": 3}]
    assert g1b.facts["missed"] == [{"offset": 1, "value": 2}]
    assert names(result) == {"G1b", "lost-write"}  # the more specific name accounts for the skip


def test_seeing_all_of_a_committed_transaction_is_fine():
    assert check(torn(skip=False)).valid is True


def test_checked_as_a_queue_the_torn_read_is_an_internal_skip():
    result = check(torn(skip=True), "queue")
    assert names(result) == {"int-poll-skip", "lost-write"}  # nobody else read offset 1 either


def test_a_poll_ending_inside_a_transaction_is_no_torn_read():
    # Polls return chunks: stopping after offset 0 of a 3-record transaction reads past nothing.
    h = torn(skip=False)
    h.events = h.events[:4]
    h.txn(1, [poll((0, 0, 1))])
    assert check(h).valid is True


def test_a_transaction_whose_sends_were_split_by_another_write_is_int_send_skip():
    h = History()
    h.invoke(0, "txn", {"ops": [send(1), send(3)]})  # 0
    h.send(1, 2, at=(0, 1))  # 1, 2
    h.complete(0, "ok", "txn", {"ops": [send(1, at=(0, 0)), send(3, at=(0, 2))]})  # 3
    h.assign(2, 0)
    h.poll(2, (0, 0, 1), (0, 1, 2), (0, 2, 3))
    result = check(h)
    skip = only(result, "int-send-skip")
    assert skip.ops == (0, 3) and skip.facts["offsets"] == [0, 2] and skip.facts["between"] == [1]
    assert result.valid is True  # Kafka does not promise contiguous transactions


def test_contiguous_transaction_sends_are_no_skip():
    h = History()
    h.txn(0, [send(1, at=(0, 0)), send(3, at=(0, 2))])  # offset 1: a marker, nothing known there
    assert "int-send-skip" not in names(check(h))


def test_two_transactions_interleaving_writes_in_two_partitions_is_G0():
    h = History()
    h.txn(0, [send(1, at=(0, 0)), send(2, at=(1, 1))])  # T1 = op 1
    h.txn(1, [send(3, at=(0, 1)), send(4, at=(1, 0))])  # T2 = op 3
    result = check(h)
    g0 = only(result, "G0")
    assert g0.facts["txns"] == [1, 3]
    assert [(s["from"], s["to"], s["type"]) for s in g0.facts["cycle"]] == [(1, 3, "ww"), (3, 1, "ww")]
    assert g0.facts["cycle"][0]["offsets"] == [0, 1] and g0.facts["cycle"][0]["partition"] == 0
    assert "1. T1 < T2 (ww)" in g0.explanation and "2. T2 < T1 (ww)" in g0.explanation
    assert "T1 = txn op 1 (process 0)" in g0.explanation
    assert result.valid is True  # reported, but Kafka never isolates concurrent writers (a fault-free run shows it)


def test_two_transactions_writing_in_the_same_order_everywhere_is_fine():
    h = History()
    h.txn(0, [send(1, at=(0, 0)), send(2, at=(1, 0))])
    h.txn(1, [send(3, at=(0, 1)), send(4, at=(1, 1))])
    assert check(h).valid is True


def test_a_read_and_a_write_order_that_contradict_is_G1c_ww_and_allowed():
    h = History()
    h.invoke(0, "txn", {"ops": [send(1), send(4)]})  # T1
    h.invoke(1, "txn", {"ops": [{"f": "poll"}, send(3)]})  # T2
    h.complete(1, "ok", "txn", {"ops": [poll((0, 0, 1)), send(3, at=(1, 0))]})  # T2 read T1's 1; wrote p1 first
    h.complete(0, "ok", "txn", {"ops": [send(1, at=(0, 0)), send(4, at=(1, 1))]})  # T1 wrote p1 after T2
    result = check(h)
    g1c = only(result, "G1c-ww")
    steps = [(s["from"], s["to"], s["type"]) for s in g1c.facts["cycle"]]
    assert steps == [(3, 2, "wr"), (2, 3, "ww")]
    assert "read 1 at t/0 offset 0" in g1c.explanation
    assert not {"G0", "G1c"} & names(result)
    assert result.valid is True  # a ww (log) order may run against a wr order without write isolation


def test_two_transactions_each_reading_the_others_write_is_G1c():
    # Circular information flow: under read committed each would have to commit before the other.
    h = History()
    h.invoke(0, "txn", {"ops": [send(1), {"f": "poll"}]})  # T1
    h.invoke(1, "txn", {"ops": [send(2), {"f": "poll"}]})  # T2
    h.complete(0, "ok", "txn", {"ops": [send(1, at=(0, 0)), poll((1, 0, 2))]})
    h.complete(1, "ok", "txn", {"ops": [send(2, at=(1, 0)), poll((0, 0, 1))]})
    result = check(h)
    g1c = only(result, "G1c")
    assert {(s["from"], s["to"], s["type"]) for s in g1c.facts["cycle"]} == {(2, 3, "wr"), (3, 2, "wr")}
    assert "G1c-ww" not in names(result)
    assert result.valid is False


def write_skew() -> History:
    h = History()
    h.send(9, 100, at=(0, 0))  # a plain record at t/0 offset 0
    h.send(9, 200, at=(1, 0))
    h.invoke(0, "txn", {"ops": [{"f": "poll"}, send(1)]})  # T1
    h.invoke(1, "txn", {"ops": [{"f": "poll"}, send(2)]})  # T2
    h.complete(0, "ok", "txn", {"ops": [poll((0, 0, 100)), send(1, at=(1, 1))]})  # T1 read t/0 to 0; wrote t/1 @1
    h.complete(1, "ok", "txn", {"ops": [poll((1, 0, 200)), send(2, at=(0, 1))]})  # T2 read t/1 to 0; wrote t/0 @1
    return h


def read_skew(sees_both: bool) -> History:
    h = History()
    h.send(9, 100, at=(0, 0))
    h.send(9, 200, at=(1, 0))
    h.txn(1, [send(2, at=(0, 1)), send(3, at=(1, 1))])  # T2: op 5
    t0 = [(0, 0, 100), (0, 1, 2)] if sees_both else [(0, 0, 100)]
    h.txn(0, [poll(*t0, (1, 0, 200), (1, 1, 3))])  # T1: op 7, sees T2's write to t/1 but not (or too) to t/0
    return h


def test_one_anti_dependency_in_a_cycle_is_G_single():
    result = check(read_skew(sees_both=False))
    g = only(result, "G-single")
    assert [(s["from"], s["to"], s["type"]) for s in g.facts["cycle"]] == [(7, 5, "rw"), (5, 7, "wr")]
    assert "T1 read t/0 only up to offset 0, so it did not see T2's 2 at offset 1" in g.explanation
    assert result.valid is True  # allowed under read committed, reported only
    assert "G-single" in checkers.INFORMATIONAL


def test_seeing_both_writes_of_a_transaction_is_no_read_skew():
    assert names(check(read_skew(sees_both=True))) == set()


def test_two_anti_dependencies_in_a_cycle_is_G2():
    result = check(write_skew())
    g2 = only(result, "G2")
    assert sorted(s["type"] for s in g2.facts["cycle"]) == ["rw", "rw"]
    assert g2.facts["cycle"][0]["read_up_to"] == 0 and g2.facts["cycle"][0]["next_write"]["offset"] == 1


def test_serial_transactions_have_no_cycle():
    h = History()
    h.send(9, 100, at=(0, 0))
    h.txn(0, [poll((0, 0, 100)), send(1, at=(1, 0))])
    h.txn(1, [poll((1, 0, 1)), send(2, at=(0, 1))])
    result = check(h)
    assert result.valid is True and result.failures == ()
    assert not {"G0", "G1c", "G1c-ww", "G-single", "G2"} & names(result)


def test_txn_stats_count_edges():
    stats = check(write_skew()).stats["txn"]
    assert stats["txns"] == 2 and stats["rw_edges"] == 2

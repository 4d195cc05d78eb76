"""Active-active clusters joined by MirrorMaker 2: each rule, a history that breaks it, and one that must pass.

Clusters are "dc1" and "dc2"; the remote topic "dc1.t" in dc2 is MirrorMaker 2's copy of dc1's topic "t".
"""

from __future__ import annotations

import pytest

import checkers
from tests.checkers.conftest import check, names, only
from tests.checkers.notation import History


def both_ways() -> History:
    """dc1 and dc2 each acknowledge two records; each is read locally and through the other cluster's mirror."""
    h = History()
    h.send(0, 1, at=(0, 0), cluster="dc1")  # 0, 1
    h.send(0, 2, at=(0, 1), cluster="dc1")  # 2, 3
    h.send(1, 3, at=(0, 0), cluster="dc2")  # 4, 5
    h.send(1, 4, at=(0, 1), cluster="dc2")  # 6, 7
    h.poll(2, (0, 0, 1), (0, 1, 2), cluster="dc1")  # 8, 9
    h.poll(3, (0, 0, 3), (0, 1, 4), cluster="dc2")  # 10, 11
    h.mirror_poll(4, "dc2", "dc1", (0, 0, 1), (0, 1, 2))  # 12, 13
    h.mirror_poll(5, "dc1", "dc2", (0, 0, 3), (0, 1, 4))  # 14, 15
    return h


def one_way(*mirrored: tuple[int, int, int], drain: int | None = None) -> History:
    """dc1 acknowledges 1 at t/0 offset 0 and 2 at offset 1 (ops 0-3); dc2 reads `mirrored` from dc1.t (ops 4, 5),
    then drains dc1.t/0 to `drain` (ops 6, 7); last, a consumer in dc1 reads both records."""
    h = History()
    h.send(0, 1, at=(0, 0), cluster="dc1")
    h.send(0, 2, at=(0, 1), cluster="dc1")
    h.mirror_poll(4, "dc2", "dc1", *mirrored)
    if drain is not None:
        h.mirror_drain(4, "dc2", "dc1", 0, drain)
    h.poll(3, (0, 0, 1), (0, 1, 2), cluster="dc1")
    return h


def test_records_read_through_the_mirror_in_both_directions_are_valid():
    result = check(both_ways())
    assert result.valid is True, checkers.render_text(result)
    assert names(result) == set()
    assert result.stats["workload"] == "mirror"
    flows = result.stats["mirror"]["flows"]
    assert sorted(flows) == ["dc1→dc2", "dc2→dc1"]
    assert flows["dc1→dc2"] | {"lag": None, "lag_over_time": None} == {
        "source": "dc1", "target": "dc2", "remote_topics": ["dc1.t"], "acknowledged": 2, "mirrored": 2, "lost": 0,
        "unmirrored": 0, "duplicates": 0, "extra_copies": 0, "lag": None, "lag_over_time": None}


# ---- lost-in-mirror, unmirrored ---------------------------------------------------------------------------

def test_an_acknowledged_record_a_later_mirror_drain_did_not_bring_is_lost_in_the_mirror():
    result = check(one_way((0, 0, 2), drain=1))  # the copy of 2 landed at offset 0: 1 never came
    lost = only(result, "lost-in-mirror")
    assert lost.ops == (0, 1, 7)
    assert lost.facts == {"value": 1, "source": "dc1", "target": "dc2", "topic": "t", "remote_topic": "dc1.t",
                          "partition": 0, "offset": 0, "drain": {"op": 7, "high_watermark": 1}}
    assert lost.explanation == ("value 1 was acknowledged at dc1:t/0 offset 0 (send op 0→1) but never reached dc2: "
                                "the final mirror drain (op 7) read dc2:dc1.t/0 to its high watermark 1 without it.")
    assert result.valid is False
    assert result.stats["mirror"]["flows"]["dc1→dc2"]["lost"] == 1


def test_without_a_mirror_drain_a_record_not_yet_mirrored_is_only_unmirrored():
    result = check(one_way((0, 0, 2)))
    unmirrored = only(result, "unmirrored")
    assert unmirrored.ops == (0, 1) and unmirrored.facts["value"] == 1
    assert result.valid is True
    assert result.stats["mirror"]["flows"]["dc1→dc2"]["unmirrored"] == 1


def test_a_mirror_drain_that_completed_before_the_acknowledgement_proves_nothing():
    h = History()
    h.invoke(0, "send", {"topic": "t", "value": 1, "producer": "p", "cluster": "dc1"})  # 0
    h.mirror_drain(4, "dc2", "dc1", 0, 0)  # 1, 2
    h.complete(0, "ok", "send", {"topic": "t", "value": 1, "producer": "p", "cluster": "dc1", "partition": 0,
                                 "offset": 0})  # 3
    assert "lost-in-mirror" not in names(check(h))
    assert only(check(h), "unmirrored").ops == (0, 3)


def test_a_mirror_drain_that_ended_in_info_proves_nothing():
    h = one_way((0, 0, 2))
    h.mirror_drain(4, "dc2", "dc1", 0, 1, outcome="info")
    assert names(check(h)) == {"unmirrored"}


def test_a_mirror_drain_of_another_partition_proves_nothing():
    h = one_way((0, 0, 2))
    h.mirror_drain(4, "dc2", "dc1", 1, 5)
    assert names(check(h)) == {"unmirrored"}


def test_an_indeterminate_send_is_owed_to_no_mirror():
    h = History()
    h.send(0, 1, outcome="info", cluster="dc1")
    h.mirror_drain(4, "dc2", "dc1", 0, 0)
    assert check(h, "mirror").anomalies == {}


# ---- order, partitions, duplicates ------------------------------------------------------------------------

def test_records_mirrored_in_another_order_than_their_source_offsets_are_reordered():
    result = check(one_way((0, 0, 2), (0, 1, 1), drain=2))
    bad = only(result, "mirror-reorder")
    assert bad.ops == (0, 1, 2, 3, 5)
    assert bad.facts == {"source": "dc1", "target": "dc2", "topic": "t", "remote_topic": "dc1.t", "partition": 0,
                         "values": [1, 2], "source_offsets": [0, 1], "mirrored_offsets": [1, 0], "reads": [5, 5]}
    assert bad.explanation == ("dc1:t/0 stored value 1 at offset 0 before 2 at offset 1 (send op 0→1; send op 2→3), "
                               "but dc2:dc1.t/0 first holds them at offsets 1 (op 5) and 0 (op 5): MirrorMaker 2 "
                               "copied them out of order.")
    assert result.valid is False


def test_order_is_decided_by_mirrored_offsets_not_by_the_order_of_reads():
    h = one_way((0, 1, 2))
    h.mirror_poll(5, "dc2", "dc1", (0, 0, 1))  # another reader saw the lower offset later
    assert names(check(h)) == set()


def test_copies_again_after_a_restart_are_duplicates_counted_but_allowed():
    h = one_way((0, 0, 1), (0, 1, 2), (0, 2, 1), (0, 3, 2), drain=4)  # MirrorMaker 2 restarted from offset 0
    result = check(h)
    dup = result.anomalies["mirror-duplicate"][0]
    assert dup.ops == (0, 5)
    assert dup.facts["value"] == 1 and dup.facts["places"] == [
        {"partition": 0, "offset": 0, "op": 5}, {"partition": 0, "offset": 2, "op": 5}]
    assert len(result.anomalies["mirror-duplicate"]) == 2
    assert result.valid is True
    flow = result.stats["mirror"]["flows"]["dc1→dc2"]
    assert (flow["duplicates"], flow["extra_copies"], flow["mirrored"]) == (2, 2, 2)


def test_only_first_occurrences_must_follow_the_source_order():
    h = one_way((0, 0, 2), (0, 1, 1), (0, 2, 2))  # a duplicate of 2 after 1 does not repair 2 coming first
    assert "mirror-reorder" in names(check(h))
    fine = one_way((0, 0, 1), (0, 1, 2), (0, 2, 1))  # a late duplicate of 1 is no reordering
    assert "mirror-reorder" not in names(check(fine))


def test_a_record_mirrored_into_another_partition_than_its_own_is_misplaced():
    result = check(one_way((0, 0, 1), (1, 0, 2)))
    bad = only(result, "mirror-wrong-partition")
    assert bad.ops == (2, 3, 5)
    assert bad.facts["value"] == 2 and bad.facts["partition"] == 0 and bad.facts["offset"] == 1
    assert bad.facts["mirrored"] == {"partition": 1, "offset": 0, "op": 5}
    assert "it belongs in partition 0" in bad.explanation
    assert result.valid is False


# ---- cycles -----------------------------------------------------------------------------------------------

def test_a_record_read_through_a_mirror_in_the_cluster_it_was_sent_in_is_a_cycle():
    h = both_ways()
    h.mirror_poll(5, "dc1", "dc2", (0, 2, 1))  # 16, 17: dc1's own value 1, back from dc2's copy
    result = check(h)
    cycle = only(result, "mirror-cycle")
    assert cycle.ops == (0, 1, 17)
    assert cycle.facts == {"target": "dc1", "remote_topic": "dc2.t", "path": ["dc2", "dc1"], "cyclic_path": False,
                           "returned": 1, "values": [1]}
    assert "unexpected-value" not in names(result)
    assert result.valid is False


@pytest.mark.parametrize("target, source, remote_topic, source_topic", [
    ("dc2", "dc1", "dc1.dc2.dc1.t", "dc2.dc1.t"),  # one cluster twice in the name
    ("dc2", "dc2", "dc2.x", "x"),  # the target's own prefix
    ("dc2", "dc1", "dc1.dc2.t", "dc2.t"),  # copied from dc2 through dc1 back into dc2
])
def test_a_remote_topic_whose_name_passes_a_cluster_twice_or_the_target_is_a_cycle(target, source, remote_topic,
                                                                                     source_topic):
    h = both_ways()
    h.mirror_poll(6, target, source, topic=source_topic, remote_topic=remote_topic)  # 16, 17
    cycle = only(check(h), "mirror-cycle")
    assert cycle.ops == (17,)
    assert cycle.facts["cyclic_path"] is True and cycle.facts["remote_topic"] == remote_topic
    assert "a replication path back into a cluster it already passed" in cycle.explanation


def test_a_remote_topic_copied_on_through_a_third_cluster_is_no_cycle():
    h = both_ways()
    h.mirror_poll(6, "dc3", "dc2", (0, 0, 1), topic="dc1.t")  # dc1 -> dc2 -> dc3 as "dc2.dc1.t"
    result = check(h)
    assert result.valid is True, checkers.render_text(result)
    assert result.stats["mirror"]["flows"]["dc1→dc2→dc3"]["mirrored"] == 1


# ---- values that do not belong ----------------------------------------------------------------------------

def test_a_mirrored_value_no_send_carried_is_unexpected():
    result = check(one_way((0, 0, 99)))
    bad = only(result, "unexpected-value")
    assert bad.ops == (5,)
    assert bad.facts == {"value": 99, "topic": "dc2:dc1.t", "partition": 0, "offset": 0, "source": "dc1:t"}
    assert bad.explanation == ("op 5 read value 99 at dc2:dc1.t/0 offset 0, a mirror of dc1:t, but no send in dc1 "
                               "ever carried it.")


def test_a_value_sent_in_a_third_cluster_is_unexpected_in_another_clusters_mirror():
    h = History()
    h.send(0, 7, at=(0, 0), cluster="dc3")  # 0, 1
    h.mirror_poll(4, "dc2", "dc1", (0, 0, 7))  # 2, 3
    bad = only(check(h), "unexpected-value")
    assert bad.ops == (0, 3)
    assert "it was sent to dc3:t (send op 0→1)" in bad.explanation


def test_a_mirrored_record_whose_send_certainly_failed_is_an_aborted_read():
    h = History()
    h.send(0, 1, outcome="fail", cluster="dc1")  # 0, 1
    h.mirror_poll(4, "dc2", "dc1", (0, 0, 1))  # 2, 3
    bad = only(check(h), "aborted-read")
    assert bad.ops == (0, 1, 3)
    assert bad.facts["topic"] == "dc2:dc1.t" and bad.facts["writer"] == 0 and bad.facts["reader"] == 3


def test_two_values_at_one_mirrored_offset_are_inconsistent():
    h = one_way((0, 0, 1), (0, 1, 2))
    h.mirror_poll(5, "dc2", "dc1", (0, 1, 1))  # 8, 9
    bad = only(check(h), "inconsistent-offsets")
    assert bad.ops == (5, 9)
    assert bad.facts == {"topic": "dc2:dc1.t", "partition": 0, "offset": 1,
                         "values": [{"value": 2, "op": 5}, {"value": 1, "op": 9}]}


# ---- wiring -----------------------------------------------------------------------------------------------

def test_the_single_cluster_checks_ignore_mirror_ops():
    h = one_way((0, 0, 99), (0, 1, 1), drain=5)
    result = check(h, "queue")
    assert names(result) == set()
    assert "mirror" not in result.stats
    assert result.stats["ops"]["mirror-poll"] == {"ok": 1}


def test_auto_checks_mirrors_only_when_the_history_has_mirror_ops():
    assert "mirror" not in check(History(), "auto").stats
    assert check(one_way(), "auto").stats["mirror"]["remote_topics"] == 1
    assert check(one_way(), "mirror").stats["checked_as"] == "mirror"


def test_mirror_lag_runs_from_the_acknowledgement_to_the_first_mirror_read_that_saw_it():
    flow = check(one_way((0, 0, 1), (0, 1, 2)), "mirror").stats["mirror"]["flows"]["dc1→dc2"]
    # acknowledged at ops 1 and 3 (2 and 4 ms), first read at op 5 (6 ms)
    assert flow["lag"] == {"count": 2, "p50_ms": 4.0, "p95_ms": 4.0, "max_ms": 4.0,
                           "worst": {"value": 1, "ack_op": 1, "first_read_op": 5, "lag_ms": 4.0}}
    series = flow["lag_over_time"]
    assert len(series) == 20
    assert sum(b["acknowledged"] for b in series) == 2 and max(b["max_lag_ms"] or 0 for b in series) == 4.0


@pytest.mark.parametrize("value", [
    {"cluster": "dc2", "topic": "dc1.t", "source_cluster": "dc1"},  # no source_topic
    {"cluster": "dc2", "topic": "dc1.t", "source_cluster": "dc1", "source_topic": 5},
])
def test_a_mirror_poll_without_its_source_is_malformed(value):
    h = History()
    h.op(1, "mirror-poll", value, done={**value, "records": []})
    with pytest.raises(checkers.HistoryError, match="line 2: malformed mirror-poll ok value"):
        check(h)


def test_a_mirror_record_of_another_topic_is_malformed():
    h = History()
    where = {"cluster": "dc2", "topic": "dc1.t", "source_cluster": "dc1", "source_topic": "t"}
    h.op(1, "mirror-poll", where, done={**where, "records": [{"topic": "x", "partition": 0, "offset": 0,
                                                               "value": 1}]})
    with pytest.raises(checkers.HistoryError, match="a record of topic 'x' in a mirror-poll of 'dc1.t'"):
        check(h)

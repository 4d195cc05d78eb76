"""Several clusters in one history: an op's `"cluster"` makes its topics (and groups) that cluster's own, so the
single-cluster checks keep each cluster's partitions apart and name them `dc1:t/0`."""

from __future__ import annotations

import checkers
from tests.checkers.conftest import check, names
from tests.checkers.notation import History


def test_the_same_topic_in_two_clusters_is_two_partitions():
    h = History()
    h.send(0, 1, at=(0, 0), cluster="dc1")
    h.send(1, 2, at=(0, 0), cluster="dc2")
    h.poll(2, (0, 0, 1), cluster="dc1")
    h.poll(3, (0, 0, 2), cluster="dc2")
    result = check(h)
    assert names(result) == set() and result.valid is True
    assert result.stats["partitions"] == 2


def test_explanations_name_the_cluster_of_a_partition():
    h = History()
    h.send(0, 1, at=(0, 0), cluster="dc1")
    h.send(0, 2, at=(0, 1), cluster="dc1")
    h.drain(1, 0, 2, cluster="dc1")
    h.drain(1, 0, 0, cluster="dc2")  # another cluster's partition 0 proves nothing about dc1's
    lost = check(h).anomalies["lost-write"]
    assert [a.facts["value"] for a in lost] == [1, 2]
    assert lost[0].facts["topic"] == "dc1:t"
    assert lost[0].explanation.startswith("value 1 was acknowledged at dc1:t/0 offset 0")


def test_a_record_may_name_its_own_cluster():
    h = History()
    h.send(0, 1, at=(0, 0), cluster="dc2")
    h.invoke(1, "poll")
    h.complete(1, "ok", "poll", {"cluster": "dc1", "records": [
        {"topic": "t", "partition": 0, "offset": 0, "value": 1, "cluster": "dc2"}]})
    assert names(check(h)) == set()


def test_a_consumer_reading_two_clusters_keeps_one_position_in_each():
    h = History()
    for offset in range(3):
        h.send(0, offset, at=(0, offset), cluster="dc1")
        h.send(0, 10 + offset, at=(0, offset), cluster="dc2")
    h.poll(1, (0, 0, 0), (0, 1, 1), cluster="dc1")
    h.poll(1, (0, 0, 10), cluster="dc2")  # offset 0 after offset 1: another partition, no step back
    h.poll(1, (0, 2, 2), cluster="dc1")
    h.poll(1, (0, 1, 11), (0, 2, 12), cluster="dc2")
    assert names(check(h)) == set()


def test_a_seek_in_one_cluster_resets_that_clusters_partition():
    h = History()
    for offset in range(3):
        h.send(0, offset, at=(0, offset), cluster="dc1")
    h.subscribe(1, "g", cluster="dc1")
    h.poll(1, (0, 0, 0), cluster="dc1")
    h.commit(1, "g", {0: 1}, cluster="dc1")
    h.subscribe(2, "g", cluster="dc1")
    h.seek(2, 0, 2, cluster="dc1")
    h.poll(2, (0, 2, 2), cluster="dc1")
    result = check(h, "group")
    assert "group-skip" not in names(result), checkers.render_text(result)


def test_one_group_name_in_two_clusters_is_two_groups():
    h = History()
    h.subscribe(1, "g", cluster="dc1")
    h.commit(1, "g", {0: 5}, cluster="dc1")
    h.subscribe(2, "g", cluster="dc2")
    h.commit(2, "g", {0: 3}, cluster="dc2")
    result = check(h, "group")
    assert "commit-regression" not in names(result)
    assert sorted(result.stats["groups"]) == ["dc1:g", "dc2:g"]


def test_a_value_sent_in_one_cluster_and_read_in_anothers_topic_is_unexpected_there():
    h = History()
    h.send(0, 1, at=(0, 0), cluster="dc1")
    h.poll(1, (0, 0, 1), cluster="dc1")
    bad_read = h.poll(2, (0, 0, 1), cluster="dc2")
    bad = check(h).anomalies["unexpected-value"]
    assert [(a.ops, a.facts["topic"]) for a in bad] == [((bad_read,), "dc2:t")]

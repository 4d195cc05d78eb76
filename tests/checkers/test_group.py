"""Consumer groups: at-least-once across rebalances and crashes, and committed offsets that only go forward."""

from __future__ import annotations

from tests.checkers.conftest import check, names, only
from tests.checkers.notation import History


def handover(next_starts_at: int, old_member_read_more: bool = False) -> History:
    h = History()
    for value in range(6):
        h.send(0, value, at=(0, value))  # ops 0..11
    h.subscribe(1, "g")  # 12, 13
    h.poll(1, (0, 0, 0), (0, 1, 1), *([(0, 2, 2), (0, 3, 3)] if old_member_read_more else []))  # 15
    h.commit(1, "g", {0: 2})  # 16, 17: next record to read is offset 2
    h.poll(1, outcome="info")  # 18, 19: member 1 crashes
    h.subscribe(2, "g")  # 20, 21
    h.poll(2, *[(0, o, o) for o in range(next_starts_at, 6)])  # 23
    return h


def test_new_owner_starting_past_the_committed_offset_skips_records():
    result = check(handover(next_starts_at=4), "group")
    skip = only(result, "group-skip")
    assert skip.ops == (16, 17, 23)
    assert skip.facts["committed"] == 2 and skip.facts["first_read"] == 4
    assert skip.facts["skipped_offsets"] == [2, 3] and skip.facts["skipped_values"] == [2, 3]
    assert skip.facts["group"] == "g" and skip.facts["process"] == 2
    assert result.valid is False


def test_new_owner_starting_at_the_committed_offset_is_fine():
    assert check(handover(next_starts_at=2), "group").valid is True


def test_new_owner_redelivering_from_before_the_commit_is_fine_and_counted():
    result = check(handover(next_starts_at=1), "group")
    assert result.valid is True
    assert result.stats["groups"]["g"]["redelivered"] == 1


def test_records_the_old_owner_consumed_but_did_not_commit_are_not_skipped():
    assert check(handover(next_starts_at=4, old_member_read_more=True), "group").valid is True


def test_without_a_commit_the_reset_policy_decides_and_nothing_is_claimed():
    h = History()
    for value in range(3):
        h.send(0, value, at=(0, value))
    h.subscribe(1, "g")
    h.poll(1, (0, 2, 2))
    assert "group-skip" not in names(check(h, "group"))


def test_a_member_that_sought_past_records_did_so_on_purpose():
    h = handover(next_starts_at=4)
    h.events = h.events[:22]
    h.seek(2, 0, 4)
    h.poll(2, (0, 4, 4), (0, 5, 5))
    assert "group-skip" not in names(check(h, "group"))


def test_a_commit_below_an_earlier_completed_commit_is_a_regression():
    h = History()
    h.subscribe(1, "g")
    h.commit(1, "g", {0: 5})  # 2, 3
    h.commit(2, "g", {0: 3})  # 4, 5
    bad = only(check(h, "group"), "commit-regression")
    assert bad.ops == (2, 3, 4, 5)
    assert bad.facts["offsets"] == [5, 3]


def test_concurrent_commits_may_land_in_either_order():
    h = History()
    h.invoke(2, "commit", {"group": "g", "offsets": [{"topic": "t", "partition": 0, "offset": 3}]})
    h.op(1, "commit", {"group": "g", "offsets": [{"topic": "t", "partition": 0, "offset": 5}]})
    h.complete(2, "ok", "commit", {"group": "g", "offsets": [{"topic": "t", "partition": 0, "offset": 3}]})
    assert "commit-regression" not in names(check(h, "group"))


def test_a_failed_or_indeterminate_commit_proves_nothing():
    h = History()
    h.commit(1, "g", {0: 5}, outcome="info")
    h.commit(2, "g", {0: 3})
    assert "commit-regression" not in names(check(h, "group"))


def test_a_member_that_sought_back_may_commit_lower():
    h = History()
    h.subscribe(1, "g")
    h.commit(1, "g", {0: 5})
    h.seek(1, 0, 3)
    h.commit(1, "g", {0: 3})
    assert "commit-regression" not in names(check(h, "group"))


def test_group_checks_run_only_for_group_or_auto():
    h = History()
    h.subscribe(1, "g")
    h.commit(1, "g", {0: 5})
    h.commit(2, "g", {0: 3})
    assert "commit-regression" not in names(check(h, "queue"))
    assert "commit-regression" in names(check(h, "auto"))
    assert check(h, "auto").stats["workload"] == "group"


def auto_commit_crash(processed: int, committed: int, offset_reset: str | None = "earliest") -> History:
    """Member 1 is handed offsets 0..5, processes (records) the first `processed`, auto-commit commits
    `committed`, member 1 crashes; member 2 resumes at the committed offset and reads to the end."""
    h = History()
    for value in range(8):
        h.send(0, value, at=(0, value))  # ops 0..15
    h.subscribe(1, "g", offset_reset=offset_reset)  # 16, 17
    h.poll(1, *[(0, o, o) for o in range(processed)])  # 18, 19
    h.commit(1, "g", {0: committed})  # 20, 21: the client commits what it returned, processed or not
    h.subscribe(2, "g", offset_reset=offset_reset)  # 22, 23
    h.poll(2, *[(0, o, o) for o in range(committed, 8)])  # 24, 25
    return h


def test_auto_commit_past_unprocessed_records_then_a_crash_skips_them():
    result = check(auto_commit_crash(processed=2, committed=6), "group")
    skip = only(result, "commit-past-unconsumed")
    assert skip.ops == (20, 21)  # the commit that moved the position past the records
    assert skip.facts["skipped_offsets"] == [2, 3, 4, 5] and skip.facts["skipped_values"] == [2, 3, 4, 5]
    assert skip.facts["committed"] == 6 and skip.facts["group"] == "g"
    assert "group-skip" not in names(result)  # member 2 began exactly at the commit
    assert result.valid is False


def test_records_skipped_before_the_groups_first_recorded_read_count_when_it_reads_from_earliest():
    h = auto_commit_crash(processed=0, committed=3)
    assert only(check(h, "group"), "commit-past-unconsumed").facts["skipped_offsets"] == [0, 1, 2]


def test_without_earliest_the_group_owes_only_what_lies_above_its_first_read():
    assert "commit-past-unconsumed" not in names(check(auto_commit_crash(0, 3, offset_reset=None), "group"))
    h = auto_commit_crash(processed=2, committed=6, offset_reset=None)
    assert only(check(h, "group"), "commit-past-unconsumed").facts["skipped_offsets"] == [2, 3, 4, 5]


def test_a_commit_of_only_processed_records_is_fine():
    assert check(auto_commit_crash(processed=6, committed=6), "group").valid is True


def test_a_crash_after_a_commit_that_later_members_reread_is_fine():
    h = auto_commit_crash(processed=2, committed=6)
    h.seek(2, 0, 2)
    h.poll(2, *[(0, o, o) for o in range(2, 6)])  # someone did consume them after all
    assert "commit-past-unconsumed" not in names(check(h, "group"))


def test_offsets_already_shown_as_a_group_skip_are_not_reported_twice():
    h = handover(next_starts_at=4)
    h.commit(2, "g", {0: 6})
    result = check(h, "group")
    assert only(result, "group-skip").facts["skipped_offsets"] == [2, 3]
    assert "commit-past-unconsumed" not in names(result)


def test_an_unrecorded_gap_below_an_indeterminate_commit_proves_nothing():
    h = auto_commit_crash(processed=2, committed=2)
    h.commit(2, "g", {0: 6}, outcome="info")
    h.events = [e for e in h.events if not (e["process"] == 2 and e["f"] == "poll")]
    assert check(h, "group").valid is True

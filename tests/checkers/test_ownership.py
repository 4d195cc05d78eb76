"""Who owned a partition of a consumer group: two live owners at once (shared-partition), and a fenced member's
commit that the coordinator accepted (zombie-commit). Zombies (a member the group gave up on) are no second owner."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.checkers.conftest import check, names, only
from tests.checkers.notation import History


def two_members(protocol: str = "consumer") -> History:
    h = History()
    for value in range(4):
        h.send(0, value, at=(0, value))  # ops 0..7
    h.subscribe(1, "g", protocol=protocol)  # 8, 9
    h.subscribe(2, "g", protocol=protocol)  # 10, 11
    h.rebalance(1, [0], member_id="m1", generation=1)  # 12, 13: process 1 owns t/0
    h.poll(1, (0, 0, 0), (0, 1, 1))  # 14, 15
    h.commit(1, "g", {0: 2})  # 16, 17
    return h


def test_a_handover_revokes_before_the_next_owner_is_assigned() -> None:
    h = two_members()
    h.rebalance(1, [], revoked=(0,))
    h.rebalance(2, [0])
    h.poll(2, (0, 2, 2), (0, 3, 3))
    h.commit(2, "g", {0: 4})
    result = check(h, "group")
    assert result.valid is True
    assert not {"shared-partition", "zombie-commit"} & names(result)


def test_a_revoke_after_the_next_owner_was_assigned_is_a_shared_partition() -> None:
    h = two_members()
    assigned = h.rebalance(2, [0], member_id="m2", generation=2)  # 18, 19
    revoked = h.rebalance(1, [], revoked=(0,))  # 20, 21
    shared = only(check(h, "group"), "shared-partition")
    assert shared.ops == (13, assigned[1], revoked[0])
    assert shared.facts["processes"] == [1, 2] and shared.facts["partition"] == 0
    assert shared.facts["members"] == [{"member_id": "m1", "generation": 1}, {"member_id": "m2", "generation": 2}]
    assert "two live members" in shared.explanation


def test_a_lost_partition_was_a_zombies_not_a_second_owner() -> None:
    h = two_members()
    h.rebalance(2, [0])
    h.poll(1, (0, 2, 2))  # the zombie still fetched: allowed, counted
    h.rebalance(1, [], revoked=(0,), lost=True)
    result = check(h, "group")
    assert "shared-partition" not in names(result) and result.valid is True
    assert result.stats["groups"]["g"]["zombie_reads"] == 1


def test_a_stalled_member_is_excused_but_its_accepted_commit_is_a_zombie_commit() -> None:
    h = two_members()
    h.op("nemesis", "start-stall-member", {"nemesis": "stall-member", "fault": "stall-member-1", "targets": [1]},
         "info")  # 18, 19
    assigned = h.rebalance(2, [0])  # 20, 21
    h.op("nemesis", "stop-stall-member", {"nemesis": "stall-member", "fault": "stall-member-1", "targets": [1]},
         "info")
    commit = h.commit(1, "g", {0: 2}, member_id="m1", generation=1)  # the fenced member commits: accepted
    h.rebalance(1, [], revoked=(0,))
    result = check(h, "group")
    assert "shared-partition" not in names(result)
    zombie = only(result, "zombie-commit")
    assert zombie.ops == (13, assigned[1], *commit)
    assert zombie.facts["new_owner"] == 2 and zombie.facts["member"] == {"member_id": "m1", "generation": 1}
    assert [n.nemesis for n in zombie.nemesis] == ["stall-member"]
    assert result.valid is False


def test_a_fenced_members_refused_commit_is_the_fencing_and_no_anomaly() -> None:
    h = two_members()
    h.rebalance(2, [0])
    h.commit(1, "g", {0: 2}, outcome="info", error="stale-member-epoch")
    h.rebalance(1, [], revoked=(0,))
    result = check(h, "group")
    assert not {"shared-partition", "zombie-commit"} & names(result)
    assert result.stats["groups"]["g"]["fenced_commits"] == 1


def test_a_commit_sent_before_the_partition_moved_is_not_judged() -> None:
    h = two_members()
    invoked = h.invoke(1, "commit", {"group": "g", "offsets": [{"topic": "t", "partition": 0, "offset": 2}]})
    h.rebalance(2, [0])
    h.complete(1, "ok", "commit", {"group": "g", "offsets": [{"topic": "t", "partition": 0, "offset": 2}]})
    h.rebalance(1, [], revoked=(0,), lost=True)
    assert invoked and "zombie-commit" not in names(check(h, "group"))


def test_an_auto_commit_reported_late_is_not_judged() -> None:
    h = two_members()
    h.rebalance(2, [0])
    h.commit(1, "g", {0: 2}, auto=True)
    h.rebalance(1, [], revoked=(0,), lost=True)
    assert "zombie-commit" not in names(check(h, "group"))


def test_a_crashed_or_info_member_holds_nothing_more() -> None:
    for end in ("crash", "info"):
        h = two_members()
        if end == "crash":
            h.op("nemesis", "start-crash-member", {"nemesis": "crash-member", "targets": [1]}, "info")
        else:
            h.poll(1, outcome="info")
        h.rebalance(2, [0])
        h.poll(2, (0, 2, 2), (0, 3, 3))
        assert check(h, "group").valid is True, end


def test_redeliveries_per_rebalance_are_counted_by_protocol() -> None:
    h = History()
    for value in range(4):
        h.send(0, value, at=(0, value))
    h.subscribe(1, "g", protocol="consumer")
    h.subscribe(2, "g", protocol="classic")
    h.rebalance(1, [0])
    h.poll(1, (0, 0, 0), (0, 1, 1), (0, 2, 2))
    h.rebalance(1, [], revoked=(0,))
    h.rebalance(2, [0])
    h.poll(2, (0, 1, 1), (0, 2, 2), (0, 3, 3))  # two read again
    stats = check(h, "group").stats["groups"]["g"]
    assert stats["protocols"] == {"classic": 1, "consumer": 1}
    assert stats["rebalances"] == {"classic": 1, "consumer": 1}
    assert stats["redelivered_by_protocol"] == {"classic": 2}
    assert stats["redelivered_per_rebalance"] == {"classic": 2.0, "consumer": 0.0}


# ---- property-based: a correct coordinator's histories are clean; a mutation of one must be flagged ----------


@st.composite
def coordinator_runs(draw: Any) -> list[tuple[str, int]]:
    """Steps of one partition moving between members 1..4: ("handover", to) or ("fence", to) (the owner's
    session ran out: the new owner is assigned, the old one learns of its loss later), interleaved with commits,
    and ("late", to): a member that is not the owner gets an old assignment's callback, at an older generation
    than the owner's (a stalled member's queued callback)."""
    return draw(st.lists(st.tuples(st.sampled_from(["handover", "fence", "commit", "late"]), st.integers(1, 4)),
                         min_size=1, max_size=12))


def play(steps: list[tuple[str, int]], mutate: str | None = None) -> History:
    """A history a correct coordinator allows. `mutate`: "late-revoke" turns the first handover into a revoke
    after the new owner's assignment; "accepted-fenced" turns the first fenced member's refused commit into an ok;
    "stale-commit" has the first member with a late, older assignment commit, accepted."""
    h = History()
    h.send(0, 0, at=(0, 0))
    members = {m: 0 for m in range(1, 5)}  # process ids: each member a fresh process after it lost the partition
    process = 10
    for m in members:
        members[m] = process = process + 1
        h.subscribe(members[m], "g", protocol="consumer")
    owner: int | None = None
    generation = 0

    def assign(process: int) -> None:
        nonlocal generation
        generation += 1
        h.rebalance(process, [0], generation=generation)

    for kind, to in steps:
        target = members[to]
        if kind == "commit":
            if owner is not None:
                h.commit(owner, "g", {0: 1})
            continue
        if owner == target:
            continue
        if kind == "late":
            if owner is not None and generation > 1:
                h.rebalance(target, [0], generation=generation - 1)
                if mutate == "stale-commit":
                    h.commit(target, "g", {0: 1})
                    mutate = None
            continue
        if owner is None:
            assign(target)
        elif kind == "handover":
            if mutate == "late-revoke":
                assign(target)
                h.rebalance(owner, [], revoked=(0,))
                mutate = None
            else:
                h.rebalance(owner, [], revoked=(0,))
                assign(target)
        else:  # fence: the group moves the partition first; the zombie commits (refused), then learns of its loss
            assign(target)
            accepted = mutate == "accepted-fenced"
            h.commit(owner, "g", {0: 1}, outcome="ok" if accepted else "info",
                     error=None if accepted else "fenced-member-epoch")
            mutate = None if accepted else mutate
            h.rebalance(owner, [], revoked=(0,), lost=True)
            process += 1
            old = next(m for m, p in members.items() if p == owner)
            members[old] = process
            h.subscribe(process, "g", protocol="consumer")
        owner = target
    return h


@settings(max_examples=200, deadline=None)
@given(coordinator_runs())
def test_a_correct_coordinators_history_is_clean(steps: list[tuple[str, int]]) -> None:
    assert not {"shared-partition", "zombie-commit"} & names(check(play(steps), "group"))


@settings(max_examples=200, deadline=None)
@given(coordinator_runs())
def test_a_late_revoke_is_always_flagged(steps: list[tuple[str, int]]) -> None:
    h = play(steps, "late-revoke")
    handed_over = len(play(steps).events) == len(h.events) and h.events != play(steps).events
    assert ("shared-partition" in names(check(h, "group"))) == handed_over


@settings(max_examples=200, deadline=None)
@given(coordinator_runs())
def test_an_accepted_commit_of_a_fenced_member_is_always_flagged(steps: list[tuple[str, int]]) -> None:
    h = play(steps, "accepted-fenced")
    mutated = h.events != play(steps).events
    assert ("zombie-commit" in names(check(h, "group"))) == mutated


# ---- generations: an assignment delivered late, at an older generation, is the zombie's (seen on 4.3.1) --------


def late_assignment(zombie_commits: bool = False, fresh: bool = False) -> History:
    """Process 2 stalled; meanwhile the group gave t/0 to process 1 at epoch 15; after the stall process 2's
    queued assignment of t/0, at its old epoch 11, is delivered. Then process 1 commits and hands over."""
    h = History()
    for value in range(4):
        h.send(0, value, at=(0, value))
    h.subscribe(1, "g", protocol="consumer")
    h.subscribe(2, "g", protocol="consumer")
    stall = {"nemesis": "stall-member", "fault": "stall-member-2", "targets": [2]}
    h.op("nemesis", "start-stall-member", stall, "info")
    h.rebalance(1, [0], member_id="m1", generation=15)
    h.op("nemesis", "stop-stall-member", stall, "info")
    h.rebalance(2, [0], member_id="m2", generation=11)  # late and old
    if zombie_commits:
        h.commit(2, "g", {0: 1}, member_id="m2", generation=11)
    h.commit(1, "g", {0: 2}, member_id="m1", generation=17)
    h.rebalance(1, [], revoked=(0,), member_id="m1", generation=17)
    if fresh:
        h.rebalance(2, [0], member_id="m2", generation=19)
        h.commit(2, "g", {0: 3}, member_id="m2", generation=19)
    return h


def test_a_late_assignment_at_an_older_generation_supersedes_no_one() -> None:
    result = check(late_assignment(), "group")
    assert not {"shared-partition", "zombie-commit"} & names(result) and result.valid is True


def test_the_stale_members_accepted_commit_is_a_zombie_commit() -> None:
    zombie = only(check(late_assignment(zombie_commits=True), "group"), "zombie-commit")
    assert zombie.facts["process"] == 2 and zombie.facts["new_owner"] == 1
    assert zombie.facts["member"] == {"member_id": "m2", "generation": 11}


def test_a_fresh_assignment_at_a_newer_generation_is_a_new_claim() -> None:
    assert check(late_assignment(fresh=True), "group").valid is True


@settings(max_examples=200, deadline=None)
@given(coordinator_runs())
def test_an_accepted_commit_under_a_late_older_assignment_is_always_flagged(steps: list[tuple[str, int]]) -> None:
    h = play(steps, "stale-commit")
    mutated = h.events != play(steps).events
    assert ("zombie-commit" in names(check(h, "group"))) == mutated

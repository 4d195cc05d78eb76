"""`harness explore`'s timelines: seeded, made of known faults, healed inside the run, never two of one family."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import HarnessError
from core.topology import default_topology
from harness import random_timeline
from harness.scenario import TimelineStep
from nemesis import registry

seeds = st.integers(min_value=0, max_value=2**31 - 1)
run_times = st.floats(min_value=random_timeline.MIN_RUN_TIME, max_value=600.0, allow_nan=False)
kinds = st.lists(st.sampled_from(random_timeline.KINDS), min_size=1, max_size=5, unique=True)
workloads = st.sampled_from(random_timeline.WORKLOADS)


@settings(max_examples=60, deadline=None)
@given(seeds, run_times, kinds, workloads)
def test_the_same_seed_gives_the_same_timeline(seed: int, run_time: float, chosen: list[str], workload: str) -> None:
    faults = random_timeline.pool(chosen, workload)
    first = random_timeline.generate(seed, run_time, faults)
    assert first == random_timeline.generate(seed, run_time, faults)
    assert first and all(isinstance(step, TimelineStep) for step in first)


def test_other_seeds_give_other_timelines() -> None:
    faults = random_timeline.pool(random_timeline.KINDS, "queue")
    timelines = {random_timeline.generate(seed, 40.0, faults) for seed in range(20)}
    assert len(timelines) == 20


@settings(max_examples=60, deadline=None)
@given(seeds, run_times, kinds, workloads)
def test_every_fault_is_one_the_registry_knows_of_the_kinds_asked_for(seed: int, run_time: float, chosen: list[str],
                                                                       workload: str) -> None:
    faults = random_timeline.pool(chosen, workload)
    allowed = set(random_timeline.names(faults))
    for step in random_timeline.generate(seed, run_time, faults):
        assert step.nemesis in allowed
        (nemesis,) = registry.parse(step.nemesis)  # a name the registry does not know raises here
        assert nemesis.requires.unmet(default_topology()) is None


@settings(max_examples=100, deadline=None)
@given(seeds, run_times, kinds, workloads)
def test_every_hold_starts_after_the_lead_and_heals_before_the_run_ends(seed: int, run_time: float,
                                                                         chosen: list[str], workload: str) -> None:
    lead, margin = random_timeline.margins(run_time)
    timeline = random_timeline.generate(seed, run_time, random_timeline.pool(chosen, workload))
    assert [step.at for step in timeline] == sorted(step.at for step in timeline)
    for step in timeline:
        assert step.at >= lead
        assert step.hold >= random_timeline.MIN_HOLD
        assert step.at + step.hold <= run_time - margin + 1e-6
        assert round(step.at, 1) == step.at and round(step.hold, 1) == step.hold  # tenths, as a TOML says them


@settings(max_examples=100, deadline=None)
@given(seeds, run_times, kinds, workloads)
def test_two_faults_of_one_family_never_overlap(seed: int, run_time: float, chosen: list[str], workload: str) -> None:
    timeline = random_timeline.generate(seed, run_time, random_timeline.pool(chosen, workload))
    for a, b in itertools.combinations(timeline, 2):
        if random_timeline.family(a.nemesis) == random_timeline.family(b.nemesis):
            assert a.at + a.hold + random_timeline.SAME_FAMILY_GAP <= b.at + 1e-6, (a, b)


def test_faults_of_different_families_do_overlap_sometimes() -> None:
    faults = random_timeline.pool(random_timeline.KINDS, "txn")
    overlapping = sum(any(a.at + a.hold > b.at for a, b in itertools.pairwise(
        random_timeline.generate(seed, 60.0, faults))) for seed in range(50))
    assert overlapping > 5


def test_pause_and_kill_are_one_family_request_holds_another() -> None:
    assert random_timeline.family("pause") == random_timeline.family("kill-leader")
    assert random_timeline.family("delay-endtxn") != random_timeline.family("partition-dc")


def test_the_request_holds_are_the_workloads_own() -> None:
    txn = random_timeline.names(random_timeline.pool(["request"], "txn"))
    assert "strand-first-endtxn" in txn and "delay-offset-commit" not in txn
    group = random_timeline.names(random_timeline.pool(["request"], "group"))
    assert "delay-offset-commit" in group and "strand-first-endtxn" not in group


@pytest.mark.parametrize("chosen, workload, fragment", [
    (["kil"], "queue", "unknown fault kind 'kil' (did you mean kill?"),
    ([], "queue", "--faults needs at least one kind"),
    (["kill"], "mirror", "unknown workload 'mirror'"),
])
def test_a_bad_pool_is_a_user_error(chosen: list[str], workload: str, fragment: str) -> None:
    with pytest.raises(HarnessError, match=fragment.replace("(", r"\(").replace("?", r"\?")):
        random_timeline.pool(chosen, workload)


def test_a_run_too_short_for_a_fault_is_refused() -> None:
    with pytest.raises(HarnessError, match="no room for a fault and its heal"):
        random_timeline.generate(1, 5.0, random_timeline.pool(["kill"], "queue"))

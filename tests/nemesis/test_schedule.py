"""The nemesis schedule on a ManualClock: time moves only when the test says so, so no test sleeps or asserts
time windows."""

import random

import orjson

from core.clock import ManualClock
from core.topology import default_topology
from infra.recorder import HistoryRecorder
from nemesis.base import NO_REQUIREMENTS, Fault, NemesisContext
from nemesis.schedule import NemesisSchedule, Step


class Recording:
    """A nemesis that records what it was asked to do."""

    requires = NO_REQUIREMENTS

    def __init__(self, name, log, clock, fail=False):
        self.name, self.description, self.log, self.clock, self.fail = name, "test", log, clock, fail

    def start(self, ctx):
        self.log.append(("start", self.name, round(self.clock.now(), 2)))
        if self.fail:
            raise RuntimeError("no leader right now")
        return Fault(self.name, ("dc1-broker1",))

    def stop(self, ctx, fault):
        self.log.append(("stop", self.name, round(self.clock.now(), 2)))

    def heal_all(self, ctx):
        self.log.append(("heal_all", self.name, 0))


def ctx():
    return NemesisContext(default_topology(), {}, {}, random.Random(1))


def events(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_random_schedule_alternates_fault_and_heal_and_final_heal_heals_everything(tmp_path):
    log, clock = [], ManualClock()
    a, b = Recording("a", log, clock), Recording("b", log, clock)
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([a, b], ctx(), history, interval=0.1, clock=clock)
        schedule.start()
        clock.advance(0.75)
        schedule.final_heal()
        schedule.final_heal()  # idempotent: the runner calls it from a finally too
    # Every 0.1 s one starts or stops: starts at 0.1, 0.3, 0.5, 0.7 and stops at 0.2, 0.4, 0.6; 0.7's at final heal.
    assert [(k, t) for k, _, t in log if k != "heal_all"] == [
        ("start", 0.1), ("stop", 0.2), ("start", 0.3), ("stop", 0.4), ("start", 0.5), ("stop", 0.6),
        ("start", 0.7), ("stop", 0.75)]
    assert sorted(n for k, n, _ in log if k == "heal_all") == ["a", "b"]
    recorded = events(tmp_path / "h.jsonl")
    assert all(e["process"] == "nemesis" for e in recorded)
    assert recorded[-1]["f"] == "heal-all" and sum(e["f"] == "heal-all" for e in recorded) == 2


def test_final_heal_stops_the_fault_that_is_active_when_the_run_is_interrupted(tmp_path):
    log, clock = [], ManualClock()
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([Recording("a", log, clock)], ctx(), history, interval=0.1, clock=clock)
        schedule.start()
        clock.advance(0.15)
        assert schedule.active
        schedule.final_heal()
    assert [k for k, _, _ in log] == ["start", "stop", "heal_all"]
    stops = [e for e in events(tmp_path / "h.jsonl") if e["f"] == "stop-a"]
    assert [e["type"] for e in stops] == ["invoke", "info"]
    assert stops[0]["value"]["fault"] == 0 and stops[0]["value"]["targets"] == ["dc1-broker1"]


def test_timeline_steps_run_at_their_times_and_may_overlap(tmp_path):
    log, clock = [], ManualClock()
    followers, leader = Recording("kill-followers", log, clock), Recording("kill-leader", log, clock)
    timeline = [Step(0.0, followers, 0.6), Step(0.2, leader, 0.6)]
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([], ctx(), history, interval=99, timeline=timeline, clock=clock)
        schedule.start()
        clock.advance(1.2)
        schedule.final_heal()
    assert [entry for entry in log if entry[0] != "heal_all"] == [
        ("start", "kill-followers", 0.0), ("start", "kill-leader", 0.2), ("stop", "kill-followers", 0.6),
        ("stop", "kill-leader", 0.8)]


def test_a_fault_that_cannot_start_is_recorded_as_info_and_healed(tmp_path):
    log, clock = [], ManualClock()
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([], ctx(), history, interval=99, clock=clock,
                                   timeline=[Step(0.0, Recording("kill-leader", log, clock, fail=True), 1.0)])
        schedule.start()
        clock.advance(0.3)
        schedule.final_heal()
    recorded = [e for e in events(tmp_path / "h.jsonl") if e["f"] == "start-kill-leader"]
    assert recorded[1]["type"] == "info" and recorded[1]["error"] == "no leader right now"
    assert schedule.errors == ["start-kill-leader: no leader right now"]
    assert ("heal_all", "kill-leader", 0) in log


def test_inject_starts_one_fault_now_with_ids_from_first_fault_and_final_heal_ends_it(tmp_path):
    log, clock = [], ManualClock()
    a = Recording("a", log, clock)
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([a], ctx(), history, interval=1.0, clock=clock, first_fault=7)
        assert schedule.inject(a) == 7
        assert [f.nemesis for f in schedule.active] == ["a"] and schedule.injected == 1
        schedule.final_heal()
    assert [k for k, _, _ in log] == ["start", "stop", "heal_all"]
    assert [(e["f"], e["value"].get("fault")) for e in events(tmp_path / "h.jsonl")][:4] == [
        ("start-a", 7), ("start-a", 7), ("stop-a", 7), ("stop-a", 7)]


def test_inject_of_a_fault_that_fails_records_the_error_and_heals(tmp_path):
    log, clock = [], ManualClock()
    broken = Recording("broken", log, clock, fail=True)
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([broken], ctx(), history, interval=1.0, clock=clock)
        assert schedule.inject(broken) is None
    assert schedule.errors == ["start-broken: no leader right now"] and schedule.active == []
    assert [k for k, _, _ in log] == ["start", "heal_all"]

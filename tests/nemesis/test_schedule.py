import random
import time

import orjson

from core.topology import default_topology
from infra.recorder import HistoryRecorder
from nemesis.base import Fault, NemesisContext
from nemesis.schedule import NemesisSchedule, Step


class Recording:
    """A nemesis that records what it was asked to do."""

    def __init__(self, name, log, fail=False):
        self.name, self.description, self.log, self.fail = name, "test", log, fail

    def start(self, ctx):
        self.log.append(("start", self.name, round(time.monotonic(), 2)))
        if self.fail:
            raise RuntimeError("no leader right now")
        return Fault(self.name, ("dc1-broker1",))

    def stop(self, ctx, fault):
        self.log.append(("stop", self.name, round(time.monotonic(), 2)))

    def heal_all(self, ctx):
        self.log.append(("heal_all", self.name, 0))


def ctx():
    return NemesisContext(default_topology(), {}, {}, random.Random(1))


def events(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_random_schedule_alternates_fault_and_heal_and_final_heal_heals_everything(tmp_path):
    log = []
    a, b = Recording("a", log), Recording("b", log)
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([a, b], ctx(), history, interval=0.1)
        schedule.start()
        time.sleep(0.75)
        schedule.final_heal()
        schedule.final_heal()  # idempotent: the runner calls it from a finally too
    kinds = [k for k, _, _ in log if k != "heal_all"]
    assert kinds[:4] == ["start", "stop", "start", "stop"]
    assert kinds.count("start") == kinds.count("stop")
    assert sorted(n for k, n, _ in log if k == "heal_all") == ["a", "b"]
    recorded = events(tmp_path / "h.jsonl")
    assert all(e["process"] == "nemesis" for e in recorded)
    assert recorded[-1]["f"] == "heal-all" and sum(e["f"] == "heal-all" for e in recorded) == 2


def test_final_heal_stops_the_fault_that_is_active_when_the_run_is_interrupted(tmp_path):
    log = []
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([Recording("a", log)], ctx(), history, interval=0.1)
        schedule.start()
        while not schedule.active:
            time.sleep(0.01)
        schedule.final_heal()
    assert [k for k, _, _ in log] == ["start", "stop", "heal_all"]
    stops = [e for e in events(tmp_path / "h.jsonl") if e["f"] == "stop-a"]
    assert [e["type"] for e in stops] == ["invoke", "info"]
    assert stops[0]["value"]["fault"] == 0 and stops[0]["value"]["targets"] == ["dc1-broker1"]


def test_timeline_steps_run_at_their_times_and_may_overlap(tmp_path):
    log = []
    followers, leader = Recording("kill-followers", log), Recording("kill-leader", log)
    timeline = [Step(0.0, followers, 0.6), Step(0.2, leader, 0.6)]
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([], ctx(), history, interval=99, timeline=timeline)
        t0 = time.monotonic()
        schedule.start()
        time.sleep(1.2)
        schedule.final_heal()
    order = [(k, n) for k, n, _ in log if k != "heal_all"]
    assert order == [("start", "kill-followers"), ("start", "kill-leader"), ("stop", "kill-followers"),
                     ("stop", "kill-leader")]
    times = {(k, n): t - t0 for k, n, t in log}
    assert 0.15 < times[("start", "kill-leader")] < 0.45
    assert 0.5 < times[("stop", "kill-followers")] < 0.9


def test_a_fault_that_cannot_start_is_recorded_as_info_and_healed(tmp_path):
    log = []
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([], ctx(), history, interval=99,
                                   timeline=[Step(0.0, Recording("kill-leader", log, fail=True), 1.0)])
        schedule.start()
        time.sleep(0.3)
        schedule.final_heal()
    recorded = [e for e in events(tmp_path / "h.jsonl") if e["f"] == "start-kill-leader"]
    assert recorded[1]["type"] == "info" and recorded[1]["error"] == "no leader right now"
    assert schedule.errors == ["start-kill-leader: no leader right now"]
    assert ("heal_all", "kill-leader", 0) in log

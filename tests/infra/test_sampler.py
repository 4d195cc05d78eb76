"""The state sampler's last line is taken after stop(): the state at the end of the run, not before its heal."""

from __future__ import annotations

import threading

import orjson

from infra.recorder import HistoryRecorder
from infra.sampler import StateSampler


class Partition:
    def __init__(self, isr):
        self.leader, self.replicas, self.isr = 1, [1, 2, 3], isr

    def to_json(self):
        return {"leader": self.leader, "replicas": self.replicas, "isr": self.isr}


class HealingAdmin:
    """Answers with a short ISR until `healed` is set; the test sets it just before stopping the sampler."""

    def __init__(self):
        self.healed = threading.Event()
        self.asked = threading.Event()

    def broker_ids(self, timeout):
        return [1, 2, 3]

    def partitions(self, topic, timeout):
        answer = [Partition([1, 2, 3] if self.healed.is_set() else [1, 2])]
        self.asked.set()  # after the answer is fixed: the test heals only once this sample's ISR is decided
        return answer


def test_the_last_sample_is_taken_after_stop_was_asked_for(tmp_path):
    admin = HealingAdmin()
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        sampler = StateSampler(admin, "t", history, tmp_path / "state.jsonl", interval=3600)
        sampler.start()
        assert admin.asked.wait(5)  # the first sample is taken; the loop now waits a whole hour
        admin.healed.set()
        sampler.stop()
    lines = [orjson.loads(line) for line in (tmp_path / "state.jsonl").read_bytes().splitlines()]
    assert [len(s["partitions"][0]["isr"]) for s in lines] == [2, 3]

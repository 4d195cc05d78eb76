"""The group workload's members against a scripted consumer: rebalances, commits and crashes as ops."""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError

import checkers
from core.errors import HarnessError
from infra.recorder import HistoryRecorder
from tests.workloads.fakes import FakeGroupConsumer
from workloads.group import GroupOptions, GroupWorkload, Member, churn_plan, commit_outcome
from workloads.options import ClientOptions


def setup(tmp_path: Path, script: list[Any], commit_errors: list[KafkaError | None] | None = None,
          **group: Any) -> tuple[GroupWorkload, HistoryRecorder, list[FakeGroupConsumer]]:
    history = HistoryRecorder(tmp_path / "history.jsonl")
    workload = GroupWorkload(ClientOptions(), "fake:9092", history, "r", logging.getLogger("test"),
                             GroupOptions(topic="t", **group))
    made: list[FakeGroupConsumer] = []

    def consumer(config: dict[str, Any]) -> FakeGroupConsumer:
        made.append(FakeGroupConsumer(config, list(script), list(commit_errors or [])))
        return made[-1]

    workload.consumer_factory = consumer
    return workload, history, made


def events(history: HistoryRecorder) -> list[dict[str, Any]]:
    history.close()
    return [orjson.loads(line) for line in history.path.read_bytes().splitlines()]


def shape(e: dict[str, Any]) -> tuple[Any, ...]:
    """(f, type) and what matters of the value: records' values, commit offsets, rebalance partitions."""
    v = e["value"]
    if e["f"] == "poll" and e["type"] == "ok":
        return "poll", [r["value"] for r in v["records"]]
    if e["f"] == "commit":
        return "commit", e["type"], {o["partition"]: o["offset"] for o in v["offsets"]}
    if e["f"] == "rebalance" and e["type"] == "ok":
        return "rebalance", [p for _, p in v["assigned"]], [p for _, p in v["revoked"]]
    return e["f"], e["type"]


def test_a_rebalance_in_the_middle_of_a_poll_ends_that_poll_first_and_commits_what_was_processed(
        tmp_path: Path) -> None:
    script = [("assign", [0, 1]), ("msg", 0, 0, 10), ("msg", 1, 0, 11), ("revoke", [0, 1]), ("assign", [1]),
              ("msg", 1, 1, 12)]
    workload, history, _ = setup(tmp_path, script)
    member = Member(workload)
    member.subscribe()
    assert member.poll(duration=0.05)
    recorded = events(history)
    assert [shape(e) for e in recorded] == [
        ("subscribe", "invoke"), ("subscribe", "ok"),
        ("poll", "invoke"), ("poll", []), ("rebalance", "invoke"), ("rebalance", [0, 1], []),
        ("poll", "invoke"), ("poll", [10, 11]),
        ("commit", "invoke", {0: 1, 1: 1}), ("commit", "ok", {0: 1, 1: 1}),
        ("rebalance", "invoke"), ("rebalance", [], [0, 1]),
        ("poll", "invoke"), ("poll", []), ("rebalance", "invoke"), ("rebalance", [1], []),
        ("poll", "invoke"), ("poll", [12])]
    assert {e["process"] for e in recorded} == {member.process}
    assert recorded[0]["value"] == {"topics": ["t"], "group": "harness-r-group", "offset_reset": "earliest",
                                      "protocol": "classic"}
    assert checkers.check_file(history.path, "group").stats["groups"]["harness-r-group"]["commits"] == 1


def test_leaving_commits_what_was_processed_and_records_the_revoke_of_close(tmp_path: Path) -> None:
    workload, history, made = setup(tmp_path, [("assign", [0]), ("msg", 0, 4, 40)])
    member = Member(workload)
    member.subscribe()
    member.poll(duration=0.05)
    member.leave()
    assert [shape(e) for e in events(history)][-4:] == [
        ("commit", "invoke", {0: 5}), ("commit", "ok", {0: 5}), ("rebalance", "invoke"), ("rebalance", [], [0])]
    assert made[0].closed and made[0].commits == [{0: 5}]


def test_a_crash_commits_nothing_and_records_nothing_more(tmp_path: Path) -> None:
    workload, history, made = setup(tmp_path, [("assign", [0]), ("msg", 0, 4, 40)])
    member = Member(workload)
    member.subscribe()
    member.poll(duration=0.05)
    member.crash(abandon=False)
    recorded = events(history)
    assert shape(recorded[-1]) == ("poll", [40]), "the close's revoke is not recorded: the process is gone"
    assert made[0].closed and made[0].commits == []


@pytest.mark.parametrize("abandon", [True, False])
def test_a_crash_is_recorded_as_a_fault_until_the_group_is_rid_of_the_member(tmp_path: Path, abandon: bool) -> None:
    workload, history, made = setup(tmp_path, [("assign", [0])], abandon_on_crash=abandon)
    workload._requests[0] = "crash"
    slot = threading.Thread(target=workload._slot, args=(0,))
    slot.start()
    time.sleep(0.2)
    workload._stop.set()
    slot.join(5)
    assert made[0].closed is not abandon
    workload._reap(everything=True)
    recorded = events(history)
    faults = [(e["f"], e["type"], e["value"]["fault"]) for e in recorded if e["process"] == "nemesis"]
    crashed = f"crash-member-{next(e['process'] for e in recorded if e['f'] == 'subscribe')}"
    assert faults == [("start-crash-member", "invoke", crashed), ("start-crash-member", "info", crashed),
                      ("stop-crash-member", "invoke", crashed), ("stop-crash-member", "info", crashed)]
    assert made[0].closed


def test_an_abandoned_member_is_not_closed_until_the_group_gave_up_on_it(tmp_path: Path) -> None:
    workload, history, made = setup(tmp_path, [("assign", [0])])
    member = Member(workload)
    member.subscribe()
    member.crash(abandon=True)
    assert not made[0].closed


def test_with_auto_commit_each_reported_commit_is_an_op_between_polls(tmp_path: Path) -> None:
    script = [("assign", [0]), ("msg", 0, 0, 5), ("committed", {0: 1}), ("msg", 0, 1, 6)]
    workload, history, _ = setup(tmp_path, script, auto_commit=True)
    member = Member(workload)
    member.subscribe()
    member.poll(duration=0.05)
    assert [shape(e) for e in events(history)][6:] == [
        ("poll", "invoke"), ("poll", [5]), ("commit", "invoke", {0: 1}), ("commit", "ok", {0: 1}),
        ("poll", "invoke"), ("poll", [6])]


def test_with_a_process_delay_a_record_is_processed_later_and_auto_commit_can_get_ahead_of_it(
        tmp_path: Path) -> None:
    script = [("assign", [0]), ("msg", 0, 0, 5), ("committed", {0: 1})]
    workload, history, _ = setup(tmp_path, script, auto_commit=True, process_delay=0.2)
    member = Member(workload)
    member.subscribe()
    member.poll(duration=0.05)
    time.sleep(0.2)
    member.poll(duration=0.01)
    assert [shape(e) for e in events(history)][6:] == [
        ("poll", "invoke"), ("poll", []), ("commit", "invoke", {0: 1}), ("commit", "ok", {0: 1}),
        ("poll", "invoke"), ("poll", []), ("poll", "invoke"), ("poll", [5])]


def test_a_crash_loses_held_records_and_the_next_member_resumes_past_them(tmp_path: Path) -> None:
    script = [("assign", [0]), ("msg", 0, 0, 5), ("msg", 0, 1, 6), ("committed", {0: 2})]
    workload, history, _ = setup(tmp_path, script, auto_commit=True, process_delay=30.0)
    producer = history.new_process()
    for offset, value in enumerate([5, 6, 7]):
        history.invoke(producer, "send", {"topic": "t", "value": value})
        history.record(producer, "ok", "send", {"topic": "t", "value": value, "partition": 0, "offset": offset})
    member = Member(workload)
    member.subscribe()
    member.poll(duration=0.05)
    member.crash(abandon=True)
    successor = Member(workload)
    successor.consumer.script.clear()
    successor.consumer.script.extend([("assign", [0]), ("msg", 0, 2, 7)])
    successor.subscribe()
    successor.poll(duration=0.05)
    successor.leave()
    history.close()
    result = checkers.check_file(history.path, "group")
    assert [a.facts["skipped_values"] for a in result.anomalies["commit-past-unconsumed"]] == [[5, 6]]
    assert result.valid is False


def test_leaving_and_a_revoke_finish_held_records_before_committing(tmp_path: Path) -> None:
    script = [("assign", [0, 1]), ("msg", 0, 0, 5), ("msg", 1, 0, 6), ("revoke", [1]), ("msg", 0, 1, 7)]
    workload, history, made = setup(tmp_path, script, process_delay=30.0)
    member = Member(workload)
    member.subscribe()
    member.poll(duration=0.05)
    member.leave()
    assert [shape(e) for e in events(history)][6:] == [
        ("poll", "invoke"), ("poll", [6]),  # the revoke of partition 1 finishes its record first
        ("commit", "invoke", {1: 1}), ("commit", "ok", {1: 1}), ("rebalance", "invoke"), ("rebalance", [], [1]),
        ("poll", "invoke"), ("poll", []),
        ("poll", "invoke"), ("poll", [5, 7]),  # leaving finishes the rest, then commits it
        ("commit", "invoke", {0: 2}), ("commit", "ok", {0: 2}), ("rebalance", "invoke"), ("rebalance", [], [0])]
    assert made[0].commits == [{1: 1}, {0: 2}]


@pytest.mark.parametrize(("error", "raised", "outcome"), [
    (KafkaError(KafkaError.NOT_COORDINATOR), False, "info"),
    (KafkaError(KafkaError.REQUEST_TIMED_OUT), True, "info"),
    (KafkaError(KafkaError.ILLEGAL_GENERATION), True, "info"),
    (KafkaError(KafkaError._NO_OFFSET), True, "fail"),
])
def test_only_commits_refused_before_they_left_the_client_are_fail(
        tmp_path: Path, error: KafkaError, raised: bool, outcome: str) -> None:
    workload, history, _ = setup(tmp_path, [("assign", [0]), ("msg", 0, 0, 1)], commit_errors=[error])
    member = Member(workload)
    member.subscribe()
    member.poll(duration=0.05)
    member.commit()
    done = events(history)[-1]
    assert (done["f"], done["type"], done["error"]) == ("commit", outcome, error.name().lower().lstrip("_")
                                                        .replace("_", "-"))
    assert commit_outcome(error) == outcome
    assert member.alive is (outcome != "info"), "a process acts no more after an info"


def test_after_an_unknown_commit_in_a_revoke_the_member_records_nothing_more(tmp_path: Path) -> None:
    script = [("assign", [0]), ("msg", 0, 0, 10), ("revoke", [0]), ("assign", [1]), ("msg", 1, 0, 11)]
    workload, history, _ = setup(tmp_path, script, commit_errors=[KafkaError(KafkaError.REQUEST_TIMED_OUT)])
    member = Member(workload)
    member.subscribe()
    assert not member.poll(duration=0.05)
    assert [shape(e) for e in events(history)][-3:] == [
        ("poll", [10]), ("commit", "invoke", {0: 1}), ("commit", "info", {0: 1})]


def test_churn_is_seeded_and_mixes_leaves_and_crashes() -> None:
    plan = [churn_plan(random.Random(5), 3, 0.5) for _ in range(3)]
    assert plan == [churn_plan(random.Random(5), 3, 0.5)] * 3
    rng = random.Random(1)
    many = [churn_plan(rng, 3, 0.5) for _ in range(400)]
    assert {m for m, _ in many} == {0, 1, 2} and 150 < sum(a == "crash" for _, a in many) < 250


def test_group_options_are_checked() -> None:
    with pytest.raises(HarnessError):
        GroupOptions(max_poll_interval_ms=1000, session_timeout_ms=6000)
    with pytest.raises(HarnessError):
        GroupOptions(crash_probability=2.0)


class Coordinator:
    """committed() fails `failures` times (the coordinator is still loading), then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def committed(self, partitions: list[Any], timeout: float | None = None) -> list[Any]:
        from confluent_kafka import KafkaException

        if self.failures:
            self.failures -= 1
            raise KafkaException(KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS))
        return partitions


def test_start_waits_for_the_coordinator_and_gives_up_after_its_timeout() -> None:
    from workloads.records import await_coordinator

    assert await_coordinator(Coordinator(failures=2), "t", timeout=5.0)
    assert not await_coordinator(Coordinator(failures=10**6), "t", timeout=0.3)

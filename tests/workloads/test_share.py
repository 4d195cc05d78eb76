"""The share workload's ops, with a fake share consumer: what a poll and an ack record, how commit_sync's
per-partition errors become the ack entries' `error`, and that an ack that raised ends the member (info)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from core.errors import HarnessError
from infra.recorder import HistoryRecorder
from workloads.options import ClientOptions
from workloads.share import ShareOptions, ShareWorkload


class Message:
    def __init__(self, partition: int, offset: int, count: int) -> None:
        self._p, self._o, self._c = partition, offset, count

    def topic(self) -> str:
        return "jepsen-share"

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def value(self) -> bytes:
        return str(100 + self._o).encode()

    def delivery_count(self) -> int:
        return self._c

    def error(self) -> None:
        return None


class FakeShareConsumer:
    def __init__(self, commit: Any) -> None:
        self.acknowledged: list[tuple[int, Any]] = []
        self.commit = commit

    def poll(self, timeout: float) -> list[Message]:
        return [Message(0, 7, 1), Message(1, 3, 2)]

    def acknowledge(self, message: Message, kind: Any) -> None:
        self.acknowledged.append((message.offset(), kind))

    def commit_sync(self, timeout: float) -> Any:
        if isinstance(self.commit, Exception):
            raise self.commit
        return self.commit


def run(tmp_path: Path, commit: Any, **share: Any) -> tuple[bool, list[dict[str, Any]], FakeShareConsumer]:
    history = HistoryRecorder(tmp_path / "history.jsonl")
    workload = ShareWorkload(ClientOptions(), "fake:9092", history, "r", logging.getLogger("test"),
                             ShareOptions(**share))
    consumer = FakeShareConsumer(commit)
    process = history.new_process()
    messages = workload._poll(consumer, process)
    assert messages is not None
    answered = workload._ack(consumer, process, messages, lambda: "release")
    history.close()
    return answered, [orjson.loads(line) for line in history.path.read_bytes().splitlines()], consumer


def test_a_poll_records_each_records_delivery_count_and_the_ack_each_answer(tmp_path: Path) -> None:
    answered, events, consumer = run(tmp_path, {TopicPartition("jepsen-share", 0): None})
    assert answered and [(e["f"], e["type"]) for e in events] == [
        ("share-poll", "invoke"), ("share-poll", "ok"), ("share-ack", "invoke"), ("share-ack", "ok")]
    assert [(r["offset"], r["value"], r["delivery_count"]) for r in events[1]["value"]["records"]] == [
        (7, 107, 1), (3, 103, 2)]
    assert [(a["offset"], a["type"]) for a in events[3]["value"]["acks"]] == [(7, "release"), (3, "release")]
    assert len(consumer.acknowledged) == 2


def test_a_partitions_refusal_is_written_on_its_entries_only(tmp_path: Path) -> None:
    refused = KafkaException(KafkaError(KafkaError.INVALID_RECORD_STATE))
    _, events, _ = run(tmp_path, {TopicPartition("jepsen-share", 0): None, TopicPartition("jepsen-share", 1): refused})
    assert [a.get("error") for a in events[3]["value"]["acks"]] == [None, "invalid-record-state"]


def test_an_ack_that_raised_is_info_and_ends_the_member(tmp_path: Path) -> None:
    answered, events, _ = run(tmp_path, KafkaException(KafkaError(KafkaError._TIMED_OUT)))
    assert not answered and (events[-1]["type"], events[-1]["error"]) == ("info", "timed-out")


def test_implicit_mode_answers_accept_without_acknowledging_each_record(tmp_path: Path) -> None:
    _, events, consumer = run(tmp_path, {}, ack_mode="implicit")
    assert consumer.acknowledged == []  # the client accepts the last poll's records itself on commit_sync
    assert [a["type"] for a in events[3]["value"]["acks"]] == ["accept", "accept"]


class FakeAdmin:
    """Answers incremental_alter_configs as Kafka 4.2 does: the group config share.delivery.count.limit is
    unknown there (it came in 4.3); any other refusal is given as `refuse`."""

    def __init__(self, refuse: str | None = None) -> None:
        self.asked: list[list[str]] = []
        self.refuse = refuse

    def incremental_alter_configs(self, resources: list[Any], request_timeout: float) -> dict[Any, Any]:
        (resource,) = resources
        names = [entry.name for entry in resource.incremental_configs]
        self.asked.append(names)
        outcome: Any = FakeFuture(None)
        if self.refuse is not None:
            outcome = FakeFuture(KafkaException(KafkaError(KafkaError.INVALID_CONFIG, self.refuse)))
        elif "share.delivery.count.limit" in names:
            outcome = FakeFuture(KafkaException(KafkaError(
                KafkaError.INVALID_CONFIG, "Unknown group config name: share.delivery.count.limit")))
        return {resource: outcome}


class FakeFuture:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def result(self, timeout: float) -> None:
        if self.error is not None:
            raise self.error


def configure(tmp_path: Path, monkeypatch: Any, admin: FakeAdmin) -> ShareWorkload:
    monkeypatch.setattr("workloads.share.AdminClient", lambda _config: admin)
    history = HistoryRecorder(tmp_path / "history.jsonl")
    workload = ShareWorkload(ClientOptions(), "fake:9092", history, "r", logging.getLogger("test"),
                             ShareOptions(delivery_count_limit=3))
    workload._configure_group()
    history.close()
    return workload


def test_on_kafka_4_2_the_delivery_limit_is_the_brokers_default_and_the_rest_is_set_on_the_group(
        tmp_path: Path, monkeypatch: Any) -> None:
    admin = FakeAdmin()
    workload = configure(tmp_path, monkeypatch, admin)
    assert admin.asked[0].count("share.delivery.count.limit") == 1
    assert "share.delivery.count.limit" not in admin.asked[-1] and "share.record.lock.duration.ms" in admin.asked[-1]
    assert "share.delivery.count.limit" not in workload.to_json()["group_config"]  # test.json says what was set
    assert ShareOptions(delivery_count_limit=3).broker_config()["group.share.delivery.count.limit"] == 3


def test_any_other_refused_group_config_still_ends_the_run_in_one_line(tmp_path: Path, monkeypatch: Any) -> None:
    with pytest.raises(HarnessError, match="Kafka refused the group config"):
        configure(tmp_path, monkeypatch, FakeAdmin(refuse="Unknown group config name: share.bogus"))

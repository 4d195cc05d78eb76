"""The txn workload against an in-memory Kafka: what each client outcome becomes in the history."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

import checkers
from core.errors import HarnessError
from infra.recorder import HistoryRecorder
from tests.workloads.fakes import Entry, FakeKafka, abortable, fatal, timeout
from workloads.options import ClientOptions
from workloads.txn import POLL, TxnOptions, TxnPlan, TxnWorkload, plan_txn, txn_invoke

Setup = tuple[TxnWorkload, FakeKafka, HistoryRecorder]


def setup(tmp_path: Path, **txn: Any) -> Setup:
    kafka = FakeKafka()
    history = HistoryRecorder(tmp_path / "history.jsonl")
    options = TxnOptions(topic="t", txn_rate=1000.0, **txn)
    workload = TxnWorkload(ClientOptions(concurrency=1, consumers=0), "fake:9092", history, "r",
                           logging.getLogger("test"), options)
    workload.producer_factory, workload.consumer_factory = kafka.producer, kafka.consumer
    return workload, kafka, history


def events(history: HistoryRecorder) -> list[dict[str, Any]]:
    history.close()
    return [orjson.loads(line) for line in history.path.read_bytes().splitlines()]


def txns(history: HistoryRecorder) -> list[dict[str, Any]]:
    return [e for e in events(history) if e["f"] == "txn"]


def producers(txn: dict[str, Any]) -> set[str]:
    return {op["producer"] for op in txn["value"]["ops"] if op["f"] == "send"}


def test_plans_are_seeded_and_abort_about_one_time_in_ten() -> None:
    options = TxnOptions()
    plans = [plan_txn(random.Random(f"7-{i}"), 3, options) for i in range(2000)]
    assert plans[:50] == [plan_txn(random.Random(f"7-{i}"), 3, options) for i in range(50)]
    assert 0.07 < sum(p.abort for p in plans) / len(plans) < 0.13
    assert all(1 <= sum(1 for s in p.steps if s != POLL) <= options.max_sends for p in plans)
    assert {s for p in plans for s in p.steps} == {POLL, 0, 1, 2}
    assert 0.4 < sum(p.steps[0] == POLL for p in plans) / len(plans) < 0.6  # consume-transform-produce


def test_the_invoke_lists_each_send_and_ends_a_reading_transaction_with_its_offsets_commit() -> None:
    invoke = txn_invoke(TxnPlan((POLL, 2, 0), abort=False), "t", [7, 8], "t0.0", "g")
    assert invoke == {"ops": [{"f": "poll"},
                              {"f": "send", "topic": "t", "value": 7, "producer": "t0.0", "partition": 2},
                              {"f": "send", "topic": "t", "value": 8, "producer": "t0.0", "partition": 0},
                              {"f": "commit", "group": "g"}]}
    assert "commit" not in str(txn_invoke(TxnPlan((1,), abort=False), "t", [9], "t0.0", "g"))


def test_a_committed_transaction_is_ok_with_offsets_records_and_the_offsets_it_committed(tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path)
    kafka.logs[0].append(Entry(b"100", "committed", owner=-1))
    session = workload.open_session(0, 0)
    assert session is not None
    workload.run_transaction(session, TxnPlan((POLL, 0, 1), abort=False))
    invoke, ok = txns(history)
    assert ok["type"] == "ok" and ok["process"] == invoke["process"] == session.process
    assert ok["value"]["ops"] == [
        {"f": "poll", "records": [{"topic": "t", "partition": 0, "offset": 0, "value": 100}]},
        {"f": "send", "topic": "t", "value": 0, "producer": "t0.0", "partition": 0, "offset": 1},
        {"f": "send", "topic": "t", "value": 1, "producer": "t0.0", "partition": 1, "offset": 0},
        {"f": "commit", "group": "harness-r-txn-0", "offsets": [{"topic": "t", "partition": 0, "offset": 1}]}]
    assert kafka.group_offsets == {"harness-r-txn-0": {0: 1}}, "the read's position went into the transaction"


def test_an_abort_on_purpose_is_a_fail_and_the_consumer_reads_again_where_the_transaction_began(
        tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path)
    kafka.logs[0].append(Entry(b"100", "committed", owner=-1))
    session = workload.open_session(0, 0)
    assert session is not None
    workload.run_transaction(session, TxnPlan((POLL, 1), abort=True))
    workload.run_transaction(session, TxnPlan((POLL, 2), abort=False))
    _, aborted, _, ok = txns(history)
    assert aborted["type"] == "fail" and aborted["error"] == "aborted-on-purpose"
    assert aborted["value"]["ops"][1] == {"f": "send", "topic": "t", "value": 0, "producer": "t0.0", "partition": 1}
    assert session.consumer.sought == [(0, 0)]
    assert ok["value"]["ops"][0]["records"] == [{"topic": "t", "partition": 0, "offset": 0, "value": 100}]
    assert kafka.logs[1][0].state == "aborted"
    assert workload.outcomes == {"ok": 1, "fail": 1, "info": 0}


def test_a_retried_commit_that_then_succeeds_is_ok(tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path)
    kafka.commits.extend([(timeout(), False), (None, True)])
    session = workload.open_session(0, 0)
    assert session is not None
    workload.run_transaction(session, TxnPlan((0,), abort=False))
    assert [e["type"] for e in txns(history)] == ["invoke", "ok"]
    assert [name for _, name in kafka.calls].count("commit_transaction") == 2


def test_a_commit_that_times_out_is_info_and_that_producer_is_never_used_again(tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path, commit_timeout=0.0)
    kafka.commits.append((timeout(), False))
    kafka.stop_after_begins, kafka.on_limit = 2, workload._stop.set
    workload.worker(0)
    first, unknown, second, done = txns(history)
    assert unknown["type"] == "info" and unknown["error"] == "commit: timed-out"
    assert second["process"] != first["process"], "a fresh process after info"
    assert (done["type"], done["error"]) == ("fail", "aborted-on-purpose"), "worker 0 always aborts its second"
    assert producers(first) == {"t0.0"} and producers(second) == {"t0.1"}
    old = [name for number, name in kafka.calls if number == 0]
    assert old[:2] == ["init_transactions", "begin_transaction"] and old[-1] == "commit_transaction"
    assert not {"abort_transaction", "close"} & set(old), \
        "no abort (KAFKA-17754) and no close (it would abort) after an unknown commit"
    assert kafka.calls[len(old)] == (1, "init_transactions"), "the same transactional.id fences the old epoch"
    assert kafka.producers[1].config["transactional.id"] == kafka.producers[0].config["transactional.id"]


def test_an_abortable_commit_error_is_a_fail_once_the_abort_returned(tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path)
    kafka.commits.append((abortable(), False))
    session = workload.open_session(0, 0)
    assert session is not None
    workload.run_transaction(session, TxnPlan((0,), abort=False))
    done = txns(history)[1]
    assert done["type"] == "fail" and done["error"] == "invalid-producer-epoch"
    assert session.open


def test_when_the_abort_itself_fails_the_outcome_is_unknown(tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path)
    kafka.aborts.append(fatal())
    session = workload.open_session(0, 0)
    assert session is not None
    workload.run_transaction(session, TxnPlan((0,), abort=True))
    done = txns(history)[1]
    assert done["type"] == "info" and done["error"] == "aborted-on-purpose; abort: fenced"
    assert not session.open


def test_a_fatal_commit_error_is_unknown_and_not_retried(tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path)
    kafka.commits.append((fatal(), True))
    session = workload.open_session(0, 0)
    assert session is not None
    workload.run_transaction(session, TxnPlan((0, 1), abort=False))
    assert txns(history)[1]["type"] == "info"
    assert [name for _, name in kafka.calls].count("commit_transaction") == 1


def test_a_failed_delivery_aborts_the_transaction(tmp_path: Path) -> None:
    from confluent_kafka import KafkaError

    workload, kafka, history = setup(tmp_path)
    kafka.delivery_errors[b"1"] = KafkaError(KafkaError._MSG_TIMED_OUT)
    session = workload.open_session(0, 0)
    assert session is not None
    workload.run_transaction(session, TxnPlan((0, 2), abort=False))
    done = txns(history)[1]
    assert done["type"] == "fail" and done["error"] == "msg-timed-out"
    assert "commit_transaction" not in [name for _, name in kafka.calls]


def test_the_drain_reads_past_markers_and_aborted_records_to_the_high_watermark(tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path)
    kafka.logs[0] += [Entry(b"1", "committed", 9), Entry(b"2", "aborted", 9), Entry(b"3", "committed", 9)]
    assert workload.drain(5.0)
    drains = [e for e in events(history) if e["f"] == "drain" and e["type"] == "ok"]
    assert [(d["value"]["partition"], d["value"]["high_watermark"]) for d in drains] == [(0, 3), (1, 0), (2, 0)]


def test_histories_it_records_against_a_correct_kafka_check_valid(tmp_path: Path) -> None:
    workload, kafka, history = setup(tmp_path, commit_timeout=0.0, abort_probability=0.2)
    rng = random.Random(3)
    kafka.commits.extend((timeout(), rng.random() < 0.5) if rng.random() < 0.1 else (None, True) for _ in range(300))
    kafka.stop_after_begins, kafka.on_limit = 200, workload._stop.set
    workload.worker(0)
    assert workload.drain(5.0)
    result = checkers.check_file(history.path, "txn")
    assert result.valid is True, checkers.render_text(result)
    assert workload.outcomes["ok"] > 100 and workload.outcomes["fail"] > 20 and workload.outcomes["info"] > 5
    assert result.stats["records_read"] > 100


def test_the_txn_workload_needs_acks_all(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="acks all"):
        TxnWorkload(ClientOptions(acks="1"), "fake:9092", HistoryRecorder(tmp_path / "h.jsonl"), "r",
                    logging.getLogger("test"))


def test_an_abort_after_a_failed_send_names_the_failure_not_the_purge_that_followed(tmp_path: Path) -> None:
    from confluent_kafka import KafkaError

    workload, kafka, history = setup(tmp_path)
    kafka.delivery_errors[b"0"] = KafkaError(KafkaError._PURGE_QUEUE)
    kafka.delivery_errors[b"1"] = KafkaError(KafkaError.NOT_ENOUGH_REPLICAS)
    session = workload.open_session(0, 0)
    assert session is not None
    workload.run_transaction(session, TxnPlan((0, 1), abort=False))
    assert txns(history)[1]["error"] == "not-enough-replicas"

"""The recorder for users' own clients writes the documented format and keeps its rules about processes."""

from __future__ import annotations

import orjson
import pytest
from confluent_kafka import KafkaError

from core.errors import HarnessError
from harness.api import check
from harness.recording import Recorder


def events(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def shape(path):
    return [(e["index"], e["process"], e["type"], e["f"], e["value"], e.get("error")) for e in events(path)]


class Msg:
    """What confluent-kafka hands a delivery callback or returns from consume()."""

    def __init__(self, partition, offset, value=b"1", topic="t", error=None):
        self._p, self._o, self._v, self._t, self._e = partition, offset, value, topic, error

    def partition(self):
        return self._p

    def offset(self):
        return self._o

    def value(self):
        return self._v

    def topic(self):
        return self._t

    def error(self):
        return self._e


def test_an_op_is_an_invoke_and_its_completion_filled_in(tmp_path) -> None:
    with Recorder(tmp_path / "h.jsonl") as history:
        with history.op("p0", "send", {"topic": "t", "value": 1}) as op:
            op.ok({"partition": 0, "offset": 0})
        with history.op("c0", "poll") as op:
            op.polled([Msg(0, 0, b"1"), Msg(0, 1, error=KafkaError(KafkaError._TRANSPORT))])
    assert shape(tmp_path / "h.jsonl") == [
        (0, "p0", "invoke", "send", {"topic": "t", "value": 1}, None),
        (1, "p0", "ok", "send", {"topic": "t", "value": 1, "partition": 0, "offset": 0}, None),
        (2, "c0", "invoke", "poll", None, None),
        (3, "c0", "ok", "poll", {"records": [{"topic": "t", "partition": 0, "offset": 0, "value": 1}]}, None),
    ]
    times = [e["time"] for e in events(tmp_path / "h.jsonl")]
    assert times == sorted(times)
    assert check(history).valid


def test_an_exception_escaping_the_block_records_info_and_goes_on(tmp_path) -> None:
    with Recorder(tmp_path / "h.jsonl") as history:
        with pytest.raises(TimeoutError):
            with history.op("p0", "send", {"topic": "t", "value": 1}):
                raise TimeoutError("no answer")
    (_, (_, _, type_, _, value, error)) = shape(tmp_path / "h.jsonl")
    assert (type_, value, error) == ("info", {"topic": "t", "value": 1}, "TimeoutError")


def test_a_block_that_names_no_outcome_records_info(tmp_path) -> None:
    with Recorder(tmp_path / "h.jsonl") as history:
        with history.op("p0", "send", {"topic": "t", "value": 1}):
            pass
    assert shape(tmp_path / "h.jsonl")[-1][2:] == ("info", "send", {"topic": "t", "value": 1}, "no-outcome-recorded")


def test_after_an_info_the_client_acts_under_a_fresh_process(tmp_path) -> None:
    with Recorder(tmp_path / "h.jsonl") as history:
        with history.op("p0", "send", {"topic": "t", "value": 1}) as first:
            first.info("request-timed-out")
        with history.op("p0", "send", {"topic": "t", "value": 2}) as second:
            second.fail("msg-size-too-large")
        with history.op("p0", "send", {"topic": "t", "value": 3}) as third:
            third.ok()
    assert first.process == "p0"
    assert second.process != "p0" and third.process == second.process  # a fail is certain: no new process
    assert [e["process"] for e in events(tmp_path / "h.jsonl")] == ["p0", "p0", *[second.process] * 4]


def test_fresh_processes_never_reuse_a_clients_number(tmp_path) -> None:
    with Recorder(tmp_path / "h.jsonl") as history:
        with history.op(0, "poll") as op:
            op.info("boom")  # client 0 moves to a fresh id, which must not be 0
        assert history.new_process() not in (0, op.process)
        with history.op(0, "poll") as again:
            again.ok({"records": []})
    assert again.process != 0


def test_the_formats_rules_are_kept(tmp_path) -> None:
    with Recorder(tmp_path / "h.jsonl") as history:
        with history.op("p0", "send", {"topic": "t", "value": 1}) as op:
            with pytest.raises(HarnessError, match="already has an op outstanding"):
                history.op("p0", "send", {"topic": "t", "value": 2})
            op.ok()
            with pytest.raises(HarnessError, match="already completed ok"):
                op.fail("late")
        with pytest.raises(HarnessError, match="'nemesis' is the nemesis's process"):
            history.op("nemesis", "send")
        with pytest.raises(HarnessError, match="an int or a string"):
            history.op(("p", 1), "send")
        with pytest.raises(HarnessError, match="completed before it began"):
            history.op("p1", "send").ok()


def test_delivery_reports_are_classified_like_the_workloads_sends(tmp_path) -> None:
    with Recorder(tmp_path / "h.jsonl") as history:
        for client, err, msg in [("a", None, Msg(2, 7)), ("b", KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), None),
                                 ("c", KafkaError(KafkaError.NOT_ENOUGH_REPLICAS), None),  # retried: maybe written
                                 ("d", KafkaError(KafkaError._MSG_TIMED_OUT), None), ("e", None, Msg(0, -1))]:
            with history.op(client, "send", {"topic": "t", "value": client}) as op:
                op.delivery_report(err, msg)
    completions = [(e["type"], e.get("error"), e["value"].get("offset")) for e in events(tmp_path / "h.jsonl")
                   if e["type"] != "invoke"]
    assert completions == [("ok", None, 7), ("fail", "msg-size-too-large", None), ("info", "not-enough-replicas", None),
                           ("info", "msg-timed-out", None), ("info", "acknowledged-without-offset", None)]


def test_drain_needs_servers(tmp_path) -> None:
    with Recorder(tmp_path / "h.jsonl") as history:
        with pytest.raises(HarnessError, match="drain needs the bootstrap servers"):
            history.drain("t")


class FakeConsumer:
    """A consumer of a topic whose partitions hold `logs[p]` (values by offset); `stuck` partitions never deliver."""

    def __init__(self, logs, stuck=()):
        self.logs, self.stuck, self.delivered = logs, set(stuck), False

    def __call__(self, config):  # stands in for the Consumer class
        assert config["enable.auto.commit"] is False and config["auto.offset.reset"] == "earliest"
        return self

    def list_topics(self, topic, timeout):
        from types import SimpleNamespace

        return SimpleNamespace(topics={topic: SimpleNamespace(error=None, partitions=dict.fromkeys(self.logs))})

    def get_watermark_offsets(self, tp, timeout, cached):
        return 0, len(self.logs[tp.partition])

    def assign(self, partitions):
        self.assigned = [tp.partition for tp in partitions]

    def consume(self, n, timeout):
        if self.delivered:
            return []
        self.delivered = True
        return [Msg(p, o, str(v).encode()) for p, log in self.logs.items() if p not in self.stuck
                for o, v in enumerate(log)]

    def close(self):
        pass


def drained(tmp_path, monkeypatch, consumer, healed=True, timeout=2.0):
    import confluent_kafka

    monkeypatch.setattr(confluent_kafka, "Consumer", consumer)
    with Recorder(tmp_path / "h.jsonl", bootstrap_servers="127.0.0.1:1") as history:
        complete = history.drain("t", timeout=timeout, healed=healed)
    return complete, [e for e in events(tmp_path / "h.jsonl") if e["f"] == "drain" and e["type"] != "invoke"]


def test_drain_reads_every_partition_to_its_high_watermark(tmp_path, monkeypatch) -> None:
    complete, drains = drained(tmp_path, monkeypatch, FakeConsumer({0: [10, 11], 1: [20]}))
    assert complete is True
    assert [(d["type"], d["value"]) for d in drains] == [
        ("ok", {"topic": "t", "partition": 0, "high_watermark": 2}),
        ("ok", {"topic": "t", "partition": 1, "high_watermark": 1})]
    kinds = [(e["type"], e["f"]) for e in events(tmp_path / "h.jsonl")]
    assert kinds[:4] == [("invoke", "assign"), ("ok", "assign"), ("invoke", "poll"), ("ok", "poll")]
    assert len({e["process"] for e in events(tmp_path / "h.jsonl")}) == 1


def test_a_partition_not_read_to_its_end_or_an_unhealed_cluster_drains_as_info(tmp_path, monkeypatch) -> None:
    complete, drains = drained(tmp_path, monkeypatch, FakeConsumer({0: [10], 1: [20]}, stuck={1}), timeout=1.5)
    assert complete is False
    assert [(d["type"], d.get("error")) for d in drains] == [
        ("ok", None), ("info", "read up to offset 0 of 1 before the drain timed out")]
    complete, drains = drained(tmp_path, monkeypatch, FakeConsumer({0: [10]}), healed=False)
    assert complete is False and drains[0]["type"] == "info" and "ISR was not full" in drains[0]["error"]

"""The Java driver's stdout -> the history: in arrival order, control lines left out, errors classified."""

import orjson

from infra.recorder import ClientHistory, HistoryRecorder
from workloads.driver_stream import DriverStream


def lines(*events):
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


SEND = {"topic": "t", "value": 7, "producer": "p0", "partition": 0}


def history_of(tmp_path, chunks, single_attempt=False):
    path = tmp_path / "history.jsonl"
    with HistoryRecorder(path) as recorder:
        stream = DriverStream(ClientHistory(recorder, "java/3.9.1"), single_attempt=single_attempt)
        stream.feed(chunks)
    return stream, [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_client_events_are_recorded_in_the_order_they_arrive_with_index_time_and_client(tmp_path):
    data = lines({"type": "hello", "client": "java", "version": "3.9.1"}, {"type": "ready"},
                 {"process": "java-0", "type": "invoke", "f": "send", "value": SEND},
                 {"process": "java-1", "type": "invoke", "f": "poll", "value": None},
                 {"process": "java-0", "type": "ok", "f": "send", "value": {**SEND, "offset": 3}},
                 {"process": "java-1", "type": "info", "f": "poll", "value": None, "error": "wakeup"},
                 {"type": "bye", "invoked": 1})
    stream, events = history_of(tmp_path, [data])
    assert [(e["index"], e["process"], e["type"], e["f"]) for e in events] == [
        (0, "java-0", "invoke", "send"), (1, "java-1", "invoke", "poll"), (2, "java-0", "ok", "send"),
        (3, "java-1", "info", "poll")]
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    assert {e["client"] for e in events} == {"java/3.9.1"}
    assert events[2]["value"]["offset"] == 3 and events[3]["error"] == "wakeup" and "error" not in events[2]
    assert stream.hello["version"] == "3.9.1" and stream.bye == {"type": "bye", "invoked": 1}
    assert stream.ready.is_set() and stream.ended.is_set() and stream.recorded == 4


def test_lines_split_across_chunks_are_put_back_together(tmp_path):
    data = lines({"process": "java-0", "type": "invoke", "f": "send", "value": SEND},
                 {"process": "java-0", "type": "ok", "f": "send", "value": {**SEND, "offset": 0}})
    chunks = [data[i:i + 7] for i in range(0, len(data), 7)]  # no chunk holds a whole line
    _, events = history_of(tmp_path, chunks)
    assert [e["type"] for e in events] == ["invoke", "ok"]
    assert events[1]["value"] == {**SEND, "offset": 0}


ERRORS = "org.apache.kafka.common.errors."


def test_a_send_that_threw_is_classified_by_the_java_table(tmp_path):
    error = {"process": "java-0", "type": "error", "f": "send", "value": SEND, "message": "..."}
    data = lines({"process": "java-0", "type": "invoke", "f": "send", "value": SEND},
                 {**error, "exception": ERRORS + "TimeoutException", "before_send": True},
                 {"process": "java-1", "type": "invoke", "f": "send", "value": SEND},
                 {**error, "process": "java-1", "exception": ERRORS + "TimeoutException",
                  "before_send": False},
                 {"process": "java-2", "type": "invoke", "f": "send", "value": SEND},
                 {**error, "process": "java-2", "exception": ERRORS + "NotEnoughReplicasException",
                  "before_send": False})
    _, events = history_of(tmp_path, [data], single_attempt=True)
    completions = [(e["process"], e["type"], e["error"]) for e in events if e["type"] != "invoke"]
    assert completions == [("java-0", "fail", "timeout"), ("java-1", "info", "timeout"),
                           ("java-2", "fail", "not-enough-replicas")]
    assert all("exception" not in e and "message" not in e for e in events)


def test_a_cut_off_last_line_is_dropped_and_its_invoke_stays_without_completion(tmp_path):
    data = lines({"process": "java-0", "type": "invoke", "f": "send", "value": SEND})
    data += orjson.dumps({"process": "java-0", "type": "ok", "f": "send", "value": SEND})[:-9]  # killed mid-write
    stream, events = history_of(tmp_path, [data])
    assert [e["type"] for e in events] == ["invoke"]
    assert stream.bad_lines == 0 and stream.ended.is_set()


def test_malformed_lines_are_counted_not_recorded(tmp_path):
    data = (b"SLF4J: not json\n" + lines([1, 2], {"process": "java-0", "type": "maybe", "f": "send"},
                                          {"process": True, "type": "ok", "f": "send"},
                                          {"process": "java-0", "type": "error", "f": "send", "value": SEND},
                                          {"process": "java-0", "type": "invoke", "f": "send", "value": SEND}))
    stream, events = history_of(tmp_path, [data])
    assert len(events) == 1 and events[0]["type"] == "invoke"
    assert stream.bad_lines == 5 and stream.first_bad_line == b"SLF4J: not json"


def test_fatal_releases_whoever_waits_for_ready(tmp_path):
    stream, events = history_of(tmp_path, [lines({"type": "hello"}, {"type": "fatal", "error": "acks must be all"})])
    assert events == [] and stream.fatal == "acks must be all" and stream.ready.is_set()


def test_a_stream_that_ends_before_ready_still_releases_the_waiter(tmp_path):
    stream, _ = history_of(tmp_path, [b""])
    assert stream.ready.is_set() and stream.ended.is_set() and stream.fatal is None


TXN = {"ops": [{"f": "send", "topic": "t", "value": 1, "producer": "t0.0", "partition": 0}, {"f": "poll"},
               {"f": "commit", "group": "g"}]}


def test_a_transaction_that_did_not_commit_is_a_fail_only_when_its_abort_returned(tmp_path):
    data = lines(*[{"process": f"java-{i}", "type": "invoke", "f": "txn", "value": TXN} for i in range(4)],
                 {"process": "java-0", "type": "error", "f": "txn", "value": TXN, "stage": "purpose",
                  "exception": None, "abort": "ok"},
                 {"process": "java-1", "type": "error", "f": "txn", "value": TXN, "stage": "step",
                  "exception": "org.apache.kafka.common.errors.NotEnoughReplicasException", "abort": "ok"},
                 {"process": "java-2", "type": "error", "f": "txn", "value": TXN, "stage": "commit",
                  "exception": "org.apache.kafka.common.errors.TimeoutException", "abort": "not-tried"},
                 {"process": "java-3", "type": "error", "f": "txn", "value": TXN, "stage": "step",
                  "exception": "org.apache.kafka.common.errors.NetworkException",
                  "abort": "org.apache.kafka.common.errors.ProducerFencedException"})
    stream, events = history_of(tmp_path, [data])
    done = [(e["process"], e["type"], e["error"]) for e in events if e["type"] != "invoke"]
    assert done == [("java-0", "fail", "aborted-on-purpose"), ("java-1", "fail", "not-enough-replicas"),
                    ("java-2", "info", "commit: timeout"), ("java-3", "info", "network; abort: producer-fenced")]
    assert all(e["value"] == TXN for e in events) and stream.bad_lines == 0


def test_a_commit_that_threw_is_classified_by_the_commit_table(tmp_path):
    commit = {"group": "g", "offsets": [{"topic": "t", "partition": 0, "offset": 3}]}
    data = lines({"process": "java-0", "type": "invoke", "f": "commit", "value": commit},
                 {"process": "java-0", "type": "error", "f": "commit", "value": commit,
                  "exception": "org.apache.kafka.clients.consumer.CommitFailedException"},
                 {"process": "java-1", "type": "invoke", "f": "commit", "value": commit},
                 {"process": "java-1", "type": "error", "f": "commit", "value": commit,
                  "exception": "java.lang.IllegalStateException"})
    _, events = history_of(tmp_path, [data])
    assert [(e["type"], e.get("error")) for e in events] == [
        ("invoke", None), ("info", "commit-failed"), ("invoke", None), ("fail", "illegal-state")]


def test_a_crashed_member_is_recorded_as_a_nemesis_fault_without_a_client(tmp_path):
    crash = {"nemesis": "crash-member", "fault": "crash-member-java-4", "targets": ["java-4"], "group": "g",
             "abandoned": False}
    data = lines({"process": "nemesis", "type": "invoke", "f": "start-crash-member", "value": crash},
                 {"process": "nemesis", "type": "info", "f": "start-crash-member", "value": crash})
    _, events = history_of(tmp_path, [data])
    assert [(e["process"], e["type"], e["f"]) for e in events] == [
        ("nemesis", "invoke", "start-crash-member"), ("nemesis", "info", "start-crash-member")]
    assert all("client" not in e for e in events)


def test_malformed_error_lines_are_counted_not_recorded(tmp_path):
    data = lines({"process": "java-0", "type": "error", "f": "txn", "value": TXN, "stage": "later",
                  "exception": None, "abort": "ok"},
                 {"process": "java-0", "type": "error", "f": "txn", "value": TXN, "stage": "step",
                  "exception": None, "abort": "ok"},
                 {"process": "java-0", "type": "error", "f": "txn", "value": TXN, "stage": "commit",
                  "exception": "x.TimeoutException"},
                 {"process": "java-0", "type": "error", "f": "commit", "value": {}},
                 {"process": "java-0", "type": "error", "f": "poll", "value": None, "exception": "x.E",
                  "before_send": False})
    stream, events = history_of(tmp_path, [data])
    assert events == [] and stream.bad_lines == 5

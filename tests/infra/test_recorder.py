import threading

import orjson

from infra.recorder import HistoryRecorder


def read(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_every_event_is_on_disk_as_soon_as_it_is_recorded(tmp_path):
    recorder = HistoryRecorder(tmp_path / "history.jsonl")
    p = recorder.new_process()
    recorder.invoke(p, "send", {"topic": "t", "value": 1, "producer": "p0"})
    # Not closed: a harness killed now must still leave this line readable.
    events = read(tmp_path / "history.jsonl")
    assert events == [{"index": 0, "time": events[0]["time"], "process": 0, "type": "invoke", "f": "send",
                       "value": {"topic": "t", "value": 1, "producer": "p0"}}]
    recorder.close()


def test_indexes_are_dense_and_times_monotonic_under_concurrent_writers(tmp_path):
    with HistoryRecorder(tmp_path / "h.jsonl") as recorder:
        def writer():
            p = recorder.new_process()
            for i in range(200):
                recorder.invoke(p, "send", {"value": i})
                recorder.record(p, "ok", "send", {"value": i})

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    events = read(tmp_path / "h.jsonl")
    assert [e["index"] for e in events] == list(range(1600))
    assert all(a["time"] <= b["time"] for a, b in zip(events, events[1:], strict=False))
    assert len({e["process"] for e in events}) == 4
    assert recorder.counts[("send", "ok")] == 800


def test_error_field_only_when_given(tmp_path):
    with HistoryRecorder(tmp_path / "h.jsonl") as recorder:
        recorder.record("nemesis", "info", "start-kill", {"targets": ["dc1-broker1"]})
        recorder.record(3, "info", "send", {"value": 1}, "msg-timed-out")
    first, second = read(tmp_path / "h.jsonl")
    assert "error" not in first
    assert second["error"] == "msg-timed-out"


def test_a_client_history_stamps_its_client_on_client_ops_but_not_on_nemesis_events(tmp_path):
    from infra.recorder import ClientHistory

    with HistoryRecorder(tmp_path / "h.jsonl") as recorder:
        librdkafka = ClientHistory(recorder, "librdkafka/2.6.1")
        p = librdkafka.new_process()
        librdkafka.invoke(p, "send", {"value": 1})
        librdkafka.record(p, "info", "send", {"value": 1}, "msg-timed-out")
        librdkafka.record("nemesis", "info", "start-crash-member", {})
        recorder.record("nemesis", "info", "start-kill", {})
    events = read(tmp_path / "h.jsonl")
    assert [e.get("client") for e in events] == ["librdkafka/2.6.1", "librdkafka/2.6.1", None, None]
    assert events[1]["error"] == "msg-timed-out"
    assert librdkafka.counts[("send", "info")] == 1

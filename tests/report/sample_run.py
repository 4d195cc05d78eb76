"""A small run made by hand, in the history format: sends, a poll, one partition fault, a drain and one lost write."""

from __future__ import annotations

from typing import Any

import orjson

TOPIC = "jepsen-queue"
SPLIT = {"nemesis": "partition-dc", "fault": 0, "targets": ["dc1-broker1", "dc2-broker1"],
         "components": [["dc1-broker1"], ["dc2-broker1"]]}
LOST_WRITE_EXPLANATION = "value 3 was acknowledged at jepsen-queue-0 offset 2 (op 8) but no read saw it, " \
                         "although op 16 read offset 3"
LOST_SEND, LOST_SEND_INVOKE, READ_PAST_IT = 8, 7, 16


def send(value: int) -> dict[str, Any]:
    return {"topic": TOPIC, "value": value, "producer": "p0"}


def acked(value: int, offset: int) -> dict[str, Any]:
    return {**send(value), "partition": 0, "offset": offset}


def records(*offsets: int) -> dict[str, Any]:
    return {"records": [{"topic": TOPIC, "partition": 0, "offset": o, "value": o + 1} for o in offsets]}


# seconds, process, type, f, value: in the order a recorder writes them; the comment is the line's index.
EVENTS: list[tuple[float, int | str, str, str, Any]] = [
    (1.0, 1, "invoke", "assign", {"topic": TOPIC, "partitions": [0]}),            # 0
    (1.1, 1, "ok", "assign", {"topic": TOPIC, "partitions": [0]}),                # 1
    (2.0, 0, "invoke", "send", send(1)),                                          # 2
    (2.01, 0, "ok", "send", acked(1, 0)),                                         # 3
    (2.1, 0, "invoke", "send", send(2)),                                          # 4
    (2.12, 0, "ok", "send", acked(2, 1)),                                         # 5
    (3.0, "nemesis", "invoke", "start-partition-dc", {"nemesis": "partition-dc", "fault": 0}),  # 6
    (3.2, 0, "invoke", "send", send(3)),                                          # 7
    (3.25, 0, "ok", "send", acked(3, 2)),                                         # 8: the lost write
    (3.5, "nemesis", "info", "start-partition-dc", SPLIT),                        # 9
    (3.5, 2, "invoke", "send", send(4)),                                          # 10
    (4.0, 3, "invoke", "send", send(5)),                                          # 11
    (4.3, 3, "fail", "send", send(5)),                                            # 12
    (6.0, "nemesis", "invoke", "stop-partition-dc", SPLIT),                       # 13
    (6.5, "nemesis", "info", "stop-partition-dc", SPLIT),                         # 14
    (7.0, 1, "invoke", "poll", None),                                             # 15
    (7.2, 1, "ok", "poll", records(0, 1, 3)),                                     # 16: reads past offset 2
    (7.5, 0, "invoke", "send", send(6)),                                          # 17
    (7.52, 0, "ok", "send", acked(6, 4)),                                         # 18
    (8.5, 2, "info", "send", send(4)),                                            # 19
    (9.0, "nemesis", "invoke", "heal-all", {"nemeses": ["partition-dc"]}),        # 20
    (9.5, "nemesis", "info", "heal-all", {"nemeses": ["partition-dc"]}),          # 21
    (10.0, 4, "invoke", "drain", {"topic": TOPIC, "partition": 0}),               # 22
    (10.1, 4, "ok", "drain", {"topic": TOPIC, "partition": 0, "high_watermark": 5}),  # 23
]


def history_lines(events: list[tuple[float, int | str, str, str, Any]] = EVENTS) -> bytes:
    return b"".join(orjson.dumps({"index": i, "time": int(t * 1e9), "process": p, "type": type_, "f": f,
                                  "value": value}) + b"\n"
                    for i, (t, p, type_, f, value) in enumerate(events))


def lost_write_results() -> dict[str, Any]:
    return {"valid": False,
            "anomalies": {"lost-write": [{"topic": TOPIC, "partition": 0, "offset": 2, "value": 3,
                                          "send_index": LOST_SEND, "read_indexes": [READ_PAST_IT],
                                          "explanation": LOST_WRITE_EXPLANATION}],
                          "duplicate": []},
            "stats": {"sends": 6, "acknowledged": 4}, "run": {"complete_drain": True, "nemesis_errors": []}}


def cluster_state() -> list[dict[str, Any]]:
    def sample(t: float, leader: int, isr: list[int], brokers: list[int]) -> dict[str, Any]:
        return {"time": int(t * 1e9), "brokers": brokers,
                "partitions": [{"topic": "jepsen-queue", "partition": 0, "leader": leader, "replicas": [1, 2, 3],
                                "isr": isr}]}

    return [sample(1, 1, [1, 2, 3], [1, 2, 3]), sample(2, 1, [1, 2, 3], [1, 2, 3]), sample(3.5, 2, [2, 3], [2, 3]),
            {"time": int(4.5e9), "error": "timed out"}, sample(5.5, -1, [], [3]), sample(7, 2, [1, 2, 3], [1, 2, 3])]

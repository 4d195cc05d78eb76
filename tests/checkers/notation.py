"""A compact way to write histories by hand: each call appends events and returns their op indexes.

    h = History()
    h.send(0, 1, at=(0, 0))              # process 0 sends value 1, acknowledged at partition 0 offset 0
    h.send(0, 2, outcome="info")         # indeterminate send
    h.poll(1, (0, 0, 1), (0, 1, 2))      # process 1 polls records (partition, offset, value)
    h.txn(2, [send(3, at=(0, 2)), poll((0, 0, 1))])
    h.events                             # the history, as dicts in the shared format

Topic is "t" unless given. Times advance 1 ms per event. `invoke`/`complete` write concurrent ops by hand.
With several clusters, `cluster="dc1"` marks a client op, and MirrorMaker 2's copies are read with
`h.mirror_poll(process, "dc2", "dc1", (0, 0, 1))`: in dc2, the remote topic "dc1.t" holds value 1 at partition 0,
offset 0.
"""

from __future__ import annotations

from typing import Any

TOPIC = "t"
MS = 1_000_000

Record = tuple[int, int, Any]  # partition, offset, value


def records(*rs: Record, topic: str = TOPIC) -> list[dict[str, Any]]:
    return [{"topic": topic, "partition": p, "offset": o, "value": v} for p, o, v in rs]


def send(value: Any, at: tuple[int, int] | None = None, producer: str | None = None,
         topic: str = TOPIC) -> dict[str, Any]:
    """A txn micro-op send; `at` = (partition, offset) it was acknowledged at."""
    op: dict[str, Any] = {"f": "send", "topic": topic, "value": value}
    if producer:
        op["producer"] = producer
    if at is not None:
        op["partition"], op["offset"] = at
    return op


def poll(*rs: Record, topic: str = TOPIC) -> dict[str, Any]:
    return {"f": "poll", "records": records(*rs, topic=topic)}


def _in(cluster: str | None) -> dict[str, Any]:
    return {"cluster": cluster} if cluster is not None else {}


def remote(target: str, source: str, topic: str = TOPIC, remote_topic: str | None = None) -> dict[str, Any]:
    """Where a mirror op reads: MirrorMaker 2's copy in `target` of `topic` of cluster `source`."""
    return {"cluster": target, "topic": remote_topic or f"{source}.{topic}", "source_cluster": source,
            "source_topic": topic}


class History:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    # ---- raw events --------------------------------------------------------------------------------------

    def event(self, process: Any, type_: str, f: str, value: Any = None, error: str | None = None) -> int:
        index = len(self.events)
        event = {"index": index, "time": (index + 1) * MS, "process": process, "type": type_, "f": f, "value": value}
        if error:
            event["error"] = error
        self.events.append(event)
        return index

    def invoke(self, process: Any, f: str, value: Any = None) -> int:
        return self.event(process, "invoke", f, value)

    def complete(self, process: Any, type_: str, f: str, value: Any = None) -> int:
        return self.event(process, type_, f, value)

    def op(self, process: Any, f: str, value: Any = None, outcome: str = "ok", done: Any = None) -> tuple[int, int]:
        return self.invoke(process, f, value), self.complete(process, outcome, f, done if done is not None else value)

    # ---- client ops --------------------------------------------------------------------------------------

    def send(self, process: Any, value: Any, at: tuple[int, int] | None = None, outcome: str = "ok",
             producer: str | None = None, topic: str = TOPIC, cluster: str | None = None) -> tuple[int, int]:
        invoked = {"topic": topic, "value": value, "producer": producer or f"p{process}", **_in(cluster)}
        done = dict(invoked)
        if outcome == "ok":
            assert at is not None, "an ok send needs at=(partition, offset)"
            done["partition"], done["offset"] = at
        return self.op(process, "send", invoked, outcome, done)

    def poll(self, process: Any, *rs: Record, outcome: str = "ok", topic: str = TOPIC,
             cluster: str | None = None) -> int:
        invoked = self.invoke(process, "poll", None)
        done = {"records": records(*rs, topic=topic), **_in(cluster)} if outcome == "ok" else None
        self.complete(process, outcome, "poll", done)
        return invoked + 1

    def assign(self, process: Any, *partitions: int, topic: str = TOPIC, cluster: str | None = None) -> tuple[int, int]:
        return self.op(process, "assign", {"topic": topic, "partitions": list(partitions), **_in(cluster)})

    def seek(self, process: Any, partition: int, offset: int, topic: str = TOPIC,
             cluster: str | None = None) -> tuple[int, int]:
        return self.op(process, "seek", {"topic": topic, "partition": partition, "offset": offset, **_in(cluster)})

    def subscribe(self, process: Any, group: str = "g", topic: str = TOPIC,
                  offset_reset: str | None = None, cluster: str | None = None,
                  protocol: str | None = None) -> tuple[int, int]:
        value: dict[str, Any] = {"topics": [topic], "group": group, **_in(cluster)}
        if offset_reset:
            value["offset_reset"] = offset_reset
        if protocol:
            value["protocol"] = protocol
        return self.op(process, "subscribe", value)

    def rebalance(self, process: Any, assigned: list[int], topic: str = TOPIC, revoked: tuple[int, ...] = (),
                  lost: bool = False, **member: Any) -> tuple[int, int]:
        value: dict[str, Any] = {"assigned": [[topic, p] for p in assigned], "revoked": [[topic, p] for p in revoked],
                                 **member}
        if lost:
            value["lost"] = True
        return self.op(process, "rebalance", value)

    def commit(self, process: Any, group: str, offsets: dict[int, int], topic: str = TOPIC,
               outcome: str = "ok", cluster: str | None = None, error: str | None = None,
               **extra: Any) -> tuple[int, int]:
        value = {"group": group, "offsets": [{"topic": topic, "partition": p, "offset": o} for p, o in offsets.items()],
                 **_in(cluster), **extra}
        invoked = self.invoke(process, "commit", value)
        return invoked, self.event(process, outcome, "commit", value, error)

    def drain(self, process: Any, partition: int, high_watermark: int, outcome: str = "ok",
              topic: str = TOPIC, cluster: str | None = None) -> tuple[int, int]:
        return self.op(process, "drain", {"topic": topic, "partition": partition, "high_watermark": high_watermark,
                                          **_in(cluster)}, outcome)

    # ---- MirrorMaker 2 -----------------------------------------------------------------------------------

    def mirror_poll(self, process: Any, target: str, source: str, *rs: Record, outcome: str = "ok",
                    topic: str = TOPIC, remote_topic: str | None = None) -> int:
        """A read in cluster `target` of the remote topic `<source>.<topic>` (or `remote_topic`); returns the
        completion's index."""
        where = remote(target, source, topic, remote_topic)
        self.invoke(process, "mirror-poll", where)
        done = {**where, "records": records(*rs, topic=where["topic"])} if outcome == "ok" else where
        return self.complete(process, outcome, "mirror-poll", done)

    def mirror_drain(self, process: Any, target: str, source: str, partition: int, high_watermark: int,
                     outcome: str = "ok", topic: str = TOPIC, remote_topic: str | None = None) -> tuple[int, int]:
        value = {**remote(target, source, topic, remote_topic), "partition": partition,
                 "high_watermark": high_watermark}
        return self.op(process, "mirror-drain", value, outcome)

    def txn(self, process: Any, ops: list[dict[str, Any]], outcome: str = "ok") -> tuple[int, int]:
        invoked = [{k: v for k, v in op.items() if k not in ("partition", "offset", "records")} for op in ops]
        done = {"ops": ops} if outcome == "ok" else {"ops": invoked}
        return self.op(process, "txn", {"ops": invoked}, outcome, done)

    # ---- share groups (KIP-932) ---------------------------------------------------------------------------

    def share_subscribe(self, process: Any, group: str = "sg", topic: str = TOPIC, limit: int = 5) -> tuple[int, int]:
        return self.op(process, "share-subscribe", {"topics": [topic], "group": group, "ack_mode": "explicit",
                                                    "lock_duration_ms": 10_000, "delivery_count_limit": limit})

    def share_poll(self, process: Any, *rs: tuple[int, int, Any, int], group: str = "sg", topic: str = TOPIC,
                   outcome: str = "ok") -> tuple[int, int]:
        """Records (partition, offset, value, delivery count) acquired by `process`; (invoke, completion)."""
        got = [{"topic": topic, "partition": p, "offset": o, "value": v, "delivery_count": c} for p, o, v, c in rs]
        return self.op(process, "share-poll", {"group": group}, outcome,
                       {"group": group, "records": got} if outcome == "ok" else {"group": group})

    def share_ack(self, process: Any, *acks: tuple[int, int, str], group: str = "sg", topic: str = TOPIC,
                  outcome: str = "ok", refused: tuple[int, ...] = ()) -> tuple[int, int]:
        """Acks (partition, offset, accept|release|reject); `refused`: partitions the broker refused."""
        asked = [{"topic": topic, "partition": p, "offset": o, "type": t} for p, o, t in acks]
        done = [{**a, "error": "invalid-record-state"} if a["partition"] in refused else a for a in asked]
        return self.op(process, "share-ack", {"group": group, "acks": asked}, outcome, {"group": group, "acks": done})

    def share_drain(self, process: Any, group: str = "sg", topic: str = TOPIC, outcome: str = "ok") -> tuple[int, int]:
        return self.op(process, "share-drain", {"group": group, "topic": topic, "idle_ms": 15_000}, outcome)

    # ---- nemesis -----------------------------------------------------------------------------------------

    def start(self, nemesis: str, fault: int | None = None, **details: Any) -> tuple[int, int]:
        value: dict[str, Any] = {"nemesis": nemesis, **({"fault": fault} if fault is not None else {})}
        return self.op("nemesis", f"start-{nemesis}", value, "info", {**value, "targets": ["n1"], **details})

    def stop(self, nemesis: str, fault: int | None = None) -> tuple[int, int]:
        value: dict[str, Any] = {"nemesis": nemesis, **({"fault": fault} if fault is not None else {})}
        return self.op("nemesis", f"stop-{nemesis}", value, "info")

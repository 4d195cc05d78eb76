"""VerifiableProducer / VerifiableConsumer output -> a history in the shared format (docs/history-format.md).

Pure: files in (read by verifiable_tools), events out. The rules, and why each is honest, are in
docs/recording.md ("Recording your own client"); in short:
- A send's invoke is placed at its producer's `startup_complete`: the tool prints no send start, and with
  many sends in flight the line printed before a send's outcome may well come after that send began, so the
  startup is the only moment known to precede it. Invokes are written in value order (`<prefix>.<i>`: the
  order the producer took the sends), so `nonmonotonic-send` still judges the producer's order.
- One process per send (`<producer>/<i>`): the producer keeps many sends in flight, and a process has at most
  one op outstanding. The `producer` field names the producer.
- `producer_send_success` is `ok`; `producer_send_error` is `fail` only for errors that prove the record was
  never appended (CERTAIN_FAILURES), else `info`. A send the producer made but never reported (it was killed)
  is an invoke with no completion.
- A consumer file is one process: the tool's consumer runs on one thread, so each op is invoked at the
  consumer's previous event and completes at its own.
- A `drain` is written only for a partition the drain consumer provably read to its end: it started after
  every producer's last line, began at or below every offset anyone saw there, and read the offset just below
  the end offset GetOffsetShell reported after the faults healed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core.errors import HarnessError
from harness.importers.verifiable_tools import PRODUCER_VALUE, ConsumerOutput, EndOffset, ProducerOutput, Send

# Java exceptions (simple class names) a producer reports only when the broker certainly did not append the
# record, or it never left the client. Everything else, NotLeaderOrFollower, timeouts and disconnections
# included, is `info`: the record may be in the log (docs/history-format.md, "Classifying Kafka errors").
CERTAIN_FAILURES = frozenset({
    "NotEnoughReplicasException",  # refused before the append (NotEnoughReplicasAfterAppend is not: info)
    "RecordTooLargeException", "RecordBatchTooLargeException", "InvalidRecordException", "SerializationException",
    "TopicAuthorizationException", "ClusterAuthorizationException", "InvalidTopicException",
})
# Messages of exceptions that are certain only in these forms: the record never reached a broker.
CERTAIN_MESSAGES = ("not present in metadata after",  # TimeoutException while waiting for metadata, before send
                    "after producer has been closed")  # IllegalStateException: send() refused outright

Timed = tuple[int, dict[str, Any]]  # (tool time in ms, event without index and time)


@dataclass(frozen=True)
class DrainInput:
    consumer: ConsumerOutput  # a VerifiableConsumer of a fresh group, started after every producer ended
    end_offsets: tuple[EndOffset, ...]  # GetOffsetShell --time -1, taken after every fault healed
    end_offsets_path: str


@dataclass(frozen=True)
class Summary:
    events: int
    sends: dict[str, int]  # ok / fail / info / unreported
    polls: int
    records: int
    commits: int
    drained: tuple[str, ...]  # "topic/partition"
    notes: tuple[str, ...]  # what the converter could not prove, for the user to read


@dataclass(frozen=True)
class Conversion:
    events: tuple[dict[str, Any], ...]
    summary: Summary


def send_type(send: Send) -> str:
    """ok, fail (the record was certainly not written) or info (unknown)."""
    if send.ok:
        return "ok"
    if send.exception in CERTAIN_FAILURES or any(m in (send.message or "") for m in CERTAIN_MESSAGES):
        return "fail"
    return "info"


def convert(producers: Sequence[ProducerOutput], consumers: Sequence[ConsumerOutput], group: str,
            reset_policy: str = "earliest", drain: DrainInput | None = None,
            drain_group: str | None = None) -> Conversion:
    if not producers:
        raise HarnessError("no producer output given", "pass each VerifiableProducer's stdout with --producer")
    _check_unique_values(producers)
    everyone = [*consumers, *([drain.consumer] if drain else [])]
    names = _names([p.path for p in producers] + [c.path for c in everyone])
    read_seqs = _seqs_read(everyone)
    notes: list[str] = []
    counts = {"ok": 0, "fail": 0, "info": 0, "unreported": 0}
    sources: list[list[Timed]] = []
    for producer in producers:
        sources.append(_producer_events(names[producer.path], producer, read_seqs, counts, notes))
    polls = records = commits = 0
    for consumer in everyone:
        is_drain = drain is not None and consumer is drain.consumer
        consumer_group = (drain_group or f"{group}-drain") if is_drain else group
        events = _consumer_events(names[consumer.path], consumer, consumer_group, reset_policy)
        polls += sum(1 for e in consumer.events if e.kind == "poll")
        records += sum(len(e.records) for e in consumer.events)
        commits += sum(1 for e in consumer.events if e.kind == "commit" and e.offsets)
        sources.append(events)
    drained: tuple[str, ...] = ()
    if drain is not None:
        drain_events, drained = _drain_events(names[drain.consumer.path], drain, producers, everyone, notes)
        sources[-1].extend(drain_events)
    t0 = min([p.start_ms for p in producers] + [c.start_ms for c in everyone])  # time 0 of the history
    history = tuple({"index": i, "time": (ms - t0) * 1_000_000, **event}
                    for i, (ms, event) in enumerate(heapq.merge(*sources, key=lambda timed: timed[0])))
    return Conversion(history, Summary(len(history), counts, polls, records, commits, drained, tuple(notes)))


def write_history(events: Iterable[dict[str, Any]], path: str | Path) -> None:
    try:
        with open(path, "wb") as out:
            for event in events:
                out.write(orjson.dumps(event) + b"\n")
    except OSError as error:
        raise HarnessError(f"cannot write {path}: {error.strerror or error}") from None


# ---- inputs --------------------------------------------------------------------------------------------------

def _check_unique_values(producers: Sequence[ProducerOutput]) -> None:
    by_prefix: dict[int | None, str] = {}
    for producer in producers:
        if not producer.sends:
            continue
        other = by_prefix.setdefault(producer.prefix, producer.path)
        if other != producer.path:
            shape = "'<i>'" if producer.prefix is None else f"'{producer.prefix}.<i>'"
            raise HarnessError(f"{other} and {producer.path} both sent values {shape}: values must be unique "
                               "across the history", "give each VerifiableProducer its own --value-prefix")


def _names(paths: list[str]) -> dict[str, str]:
    """Each input's name in the history (its file's stem), made unique."""
    names: dict[str, str] = {}
    for path in paths:
        stem, n = Path(path).stem, 1
        while (name := stem if n == 1 else f"{stem}-{n}") in names.values():
            n += 1
        if path in names:
            raise HarnessError(f"{path} is given twice")
        names[path] = name
    return names


def _seqs_read(consumers: Sequence[ConsumerOutput]) -> dict[int | None, int]:
    """The highest i any consumer read of each value prefix (reads prove a send was made)."""
    highest: dict[int | None, int] = {}
    for consumer in consumers:
        for event in consumer.events:
            for record in event.records:
                match = PRODUCER_VALUE.fullmatch(record.value or "")
                if match:
                    prefix = int(match.group(1)) if match.group(1) is not None else None
                    highest[prefix] = max(highest.get(prefix, -1), int(match.group(2)))
    return highest


# ---- producers -----------------------------------------------------------------------------------------------

def _producer_events(name: str, producer: ProducerOutput, read_seqs: dict[int | None, int],
                     counts: dict[str, int], notes: list[str]) -> list[Timed]:
    reported = {send.seq: send for send in producer.sends}
    highest = max(reported, default=-1)
    if producer.sent is not None:
        made = max(producer.sent, highest + 1)  # tool_data counts every send() the producer called
    else:
        made = max(highest + 1, read_seqs.get(producer.prefix, -1) + 1) if producer.sends else 0
        notes.append(f"{producer.path}: no tool_data line (the producer did not shut down cleanly): sends after "
                     f"its last reported or read value are unknown")
    topic = producer.sends[0].topic if producer.sends else None
    events: list[Timed] = []
    for seq in range(made):
        send = reported.get(seq)
        value: dict[str, Any] = {"topic": send.topic if send else topic, "value": _value(producer.prefix, seq),
                                 "producer": name}
        if send is not None and send.key is not None:
            value["key"] = send.key
        events.append((producer.start_ms, {"process": f"{name}/{seq}", "type": "invoke", "f": "send",
                                           "value": value}))
    last = producer.start_ms
    for send in producer.sends:  # completion order, as printed
        type_ = send_type(send)
        counts[type_] += 1
        result: dict[str, Any] = {"topic": send.topic, "value": send.value, "producer": name}
        if send.key is not None:
            result["key"] = send.key
        event: dict[str, Any] = {"process": f"{name}/{send.seq}", "type": type_, "f": "send", "value": result}
        if send.ok:
            result.update(partition=send.partition, offset=send.offset)
        else:
            event["error"] = f"{send.exception}: {send.message}" if send.message else str(send.exception)
        last = max(last, send.time_ms)  # a completion is never moved earlier: the window only widens
        events.append((last, event))
    counts["unreported"] += made - len(reported)
    return events


def _value(prefix: int | None, seq: int) -> str:
    return str(seq) if prefix is None else f"{prefix}.{seq}"


# ---- consumers -----------------------------------------------------------------------------------------------

def _consumer_events(name: str, consumer: ConsumerOutput, group: str, reset_policy: str) -> list[Timed]:
    events: list[Timed] = []
    previous = consumer.start_ms

    def op(f: str, done_ms: int, value: Any, result: Any, type_: str = "ok", error: str | None = None) -> None:
        nonlocal previous
        done_ms = max(done_ms, previous)
        events.append((previous, {"process": name, "type": "invoke", "f": f, "value": value}))
        completion = {"process": name, "type": type_, "f": f, "value": result}
        if error is not None:
            completion["error"] = error
        events.append((done_ms, completion))
        previous = done_ms

    if consumer.topics:
        subscribed: dict[str, Any] = {"topics": list(consumer.topics), "group": group}
        if reset_policy == "earliest":
            subscribed["offset_reset"] = "earliest"
        op("subscribe", consumer.start_ms, subscribed, subscribed)
    for event in consumer.events:
        if event.kind in ("assigned", "revoked"):
            parts = [list(p) for p in event.partitions]
            change = {"assigned": parts, "revoked": []} if event.kind == "assigned" else \
                {"assigned": [], "revoked": parts}
            op("rebalance", event.time_ms, change, change)
        elif event.kind == "poll":
            op("poll", event.time_ms, None, {"records": [
                {"topic": r.topic, "partition": r.partition, "offset": r.offset, "value": r.value}
                for r in event.records]})
        elif event.offsets:  # a commit; one of nothing is no op
            value = {"group": group, "offsets": [{"topic": t, "partition": p, "offset": o}
                                                 for t, p, o in event.offsets]}
            # A failed commit is `info`, not `fail`: a timed-out commit may still land. Only ok commits count.
            op("commit", event.time_ms, value, value, "ok" if event.ok else "info",
               None if event.ok else event.error or "commit failed")
        else:
            previous = max(previous, event.time_ms)
    return events


# ---- drain ---------------------------------------------------------------------------------------------------

def _drain_events(name: str, drain: DrainInput, producers: Sequence[ProducerOutput],
                  consumers: Sequence[ConsumerOutput], notes: list[str]) -> tuple[list[Timed], tuple[str, ...]]:
    final = drain.consumer
    late = max(producers, key=lambda p: p.last_ms)
    if final.start_ms < late.last_ms:
        raise HarnessError(f"{final.path}: the drain consumer started before {late.path}'s last line: a drain "
                           "must begin after every producer has finished",
                           "start the drain consumer after the producers exit and the faults healed")
    lowest = _lowest_offsets(producers, consumers)
    first: dict[tuple[str, int], int] = {}
    last: dict[tuple[str, int], int] = {}
    for event in final.events:
        for record in event.records:
            key = (record.topic, record.partition)
            first.setdefault(key, record.offset)
            last[key] = max(last.get(key, record.offset), record.offset)
    done_ms = max(final.last_ms, late.last_ms)
    events: list[Timed] = []
    drained: list[str] = []
    for end in drain.end_offsets:
        key, where = (end.topic, end.partition), f"{end.topic}/{end.partition}"
        if last.get(key, -1) >= end.offset:
            raise HarnessError(f"{drain.end_offsets_path}: {where} ends at {end.offset}, but {final.path} read "
                               f"offset {last[key]} there: the end offsets were taken before the last write",
                               "take them with GetOffsetShell after every producer finished")
        if end.offset > 0 and last.get(key, -1) < end.offset - 1:
            notes.append(f"{where}: no drain: {final.path} read it only up to offset {last.get(key, 'none')}, "
                         f"not to its end offset {end.offset}")
            continue
        if end.offset > 0 and first[key] > lowest.get(key, first[key]):
            notes.append(f"{where}: no drain: {final.path} began at offset {first[key]}, above offset "
                         f"{lowest[key]} that another op saw (use a fresh group with --reset-policy earliest)")
            continue
        value = {"topic": end.topic, "partition": end.partition, "high_watermark": end.offset}
        events.append((done_ms, {"process": name, "type": "invoke", "f": "drain", "value": value}))
        events.append((done_ms, {"process": name, "type": "ok", "f": "drain", "value": value}))
        drained.append(where)
    return events, tuple(drained)


def _lowest_offsets(producers: Sequence[ProducerOutput],
                    consumers: Sequence[ConsumerOutput]) -> dict[tuple[str, int], int]:
    lowest: dict[tuple[str, int], int] = {}
    places = [(s.topic, s.partition, s.offset) for p in producers for s in p.sends if s.ok]
    places += [(r.topic, r.partition, r.offset) for c in consumers for e in c.events for r in e.records]
    for topic, partition, offset in places:
        assert partition is not None and offset is not None
        key = (topic, partition)
        lowest[key] = min(lowest.get(key, offset), offset)
    return lowest

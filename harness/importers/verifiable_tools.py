"""Reading what Kafka's own VerifiableProducer and VerifiableConsumer (org.apache.kafka.tools, in the kafka-tools
jar) print on stdout: one JSON object per line, each with `timestamp` (the tool's wall clock, ms) and `name`.

This module only reads and validates, into frozen data; harness/importers/verifiable.py turns that into a history.
Every mistake in the input is a HarnessError naming the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import HarnessError, HistoryError
from core.history import read_events

PRODUCER_EVENTS = frozenset({"startup_complete", "producer_send_success", "producer_send_error",
                             "shutdown_complete", "tool_data"})
# Kafka 4's consumer also prints `shutdown_requested` when it is told to stop (it carries nothing to import).
CONSUMER_EVENTS = frozenset({"startup_complete", "partitions_assigned", "partitions_revoked", "record_data",
                             "records_consumed", "offsets_committed", "shutdown_requested", "shutdown_complete"})
# The producer sends "<i>" or, with --value-prefix P, "<P>.<i>", for i = 0, 1, 2, ... in the order it sends them.
PRODUCER_VALUE = re.compile(r"(?:(-?\d+)\.)?(\d+)")


@dataclass(frozen=True)
class Send:
    """One send the producer reported: `producer_send_success` (partition, offset) or `producer_send_error`."""

    seq: int  # i of the value: the producer's i-th send
    value: str
    key: str | None
    topic: str
    time_ms: int
    line: int
    partition: int | None = None
    offset: int | None = None
    exception: str | None = None  # simple class name, e.g. "NotLeaderOrFollowerException"
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.exception is None


@dataclass(frozen=True)
class ProducerOutput:
    path: str
    start_ms: int
    last_ms: int
    prefix: int | None  # the --value-prefix its values carry (None: plain integers)
    sends: tuple[Send, ...]  # in the order the tool printed them (completion order)
    sent: int | None  # tool_data's count of sends attempted; None when the tool did not shut down cleanly


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: str | None


@dataclass(frozen=True)
class ConsumerEvent:
    """One step of the consumer's single thread: a rebalance callback, a poll's records, or a commit's result."""

    kind: str  # "assigned", "revoked", "poll", "commit"
    time_ms: int
    line: int
    partitions: tuple[tuple[str, int], ...] = ()  # assigned / revoked
    records: tuple[Record, ...] = ()  # poll, in the order the tool printed them
    offsets: tuple[tuple[str, int, int], ...] = ()  # commit: (topic, partition, next offset)
    ok: bool = True  # commit
    error: str | None = None  # commit


@dataclass(frozen=True)
class ConsumerOutput:
    path: str
    start_ms: int
    last_ms: int
    events: tuple[ConsumerEvent, ...]
    shut_down: bool

    @property
    def topics(self) -> tuple[str, ...]:
        found = {t for e in self.events for t, _ in e.partitions} | {r.topic for e in self.events for r in e.records}
        return tuple(sorted(found))


class _Line:
    """One parsed line of a tool's output, with typed field access that names the file and line on error."""

    def __init__(self, path: str, line: int, event: dict[str, Any], name: str, time_ms: int) -> None:
        self.path, self.line, self.event, self.name, self.time_ms = path, line, event, name, time_ms

    @classmethod
    def parse(cls, path: str, line: int, event: dict[str, Any], known: frozenset[str]) -> _Line:
        probe = cls(path, line, event, "an event", 0)
        name = probe.get("name", str)
        if name not in known:
            raise probe.error(f"unknown event {name!r} (expected one of {', '.join(sorted(known))})")
        probe.name = name
        return cls(path, line, event, name, probe.get("timestamp", int))

    def error(self, message: str, hint: str | None = None) -> HarnessError:
        return HarnessError(f"{self.path}: line {self.line}: {message}", hint)

    def get(self, field: str, kind: type, optional: bool = False) -> Any:
        value = self.event.get(field)
        if value is None and optional:
            return None
        if type(value) is not kind:
            what = {int: "an integer", str: "a string", list: "a list", bool: "true or false"}[kind]
            raise self.error(f"field {field!r} of {self.name} must be {what}, got {value!r}")
        return value

    def entries(self, field: str = "partitions") -> list[_Line]:
        """The objects of a list field (partitions, offsets), each readable like a line of its own."""
        found = []
        for entry in self.get(field, list):
            if not isinstance(entry, dict):
                raise self.error(f"each entry of {field!r} of {self.name} must be an object, got {entry!r}")
            found.append(_Line(self.path, self.line, entry, self.name, self.time_ms))
        return found


def _lines(path: str | Path, known: frozenset[str]) -> list[_Line]:
    name = str(path)
    try:
        lines = [_Line.parse(name, n, event, known) for n, event in read_events(path)]
    except HistoryError as error:
        message = str(error)
        raise HarnessError(f"{name}: {message}" if message.startswith("line ") else message) from None
    if not lines or lines[0].name != "startup_complete":
        where = f"line {lines[0].line}" if lines else "the file is empty"
        raise HarnessError(f"{name}: {where}: expected startup_complete first",
                           "pass the tool's whole stdout, from its first line")
    return lines


def read_producer(path: str | Path) -> ProducerOutput:
    lines = _lines(path, PRODUCER_EVENTS | CONSUMER_EVENTS)
    sends: list[Send] = []
    sent: int | None = None
    prefix: tuple[int | None, int] | None = None  # the prefix and the line that set it
    seen: dict[str, int] = {}
    for item in lines[1:]:
        if item.name in CONSUMER_EVENTS - PRODUCER_EVENTS:
            raise item.error(f"{item.name} is VerifiableConsumer output", "pass this file with --consumer")
        if item.name == "tool_data":
            sent = item.get("sent", int)
        elif item.name in ("producer_send_success", "producer_send_error"):
            send = _send(item)
            if send.value in seen:
                raise item.error(f"value {send.value!r} reported a second time (first on line {seen[send.value]})")
            seen[send.value] = item.line
            this_prefix = _prefix(send.value)
            if prefix is None:
                prefix = (this_prefix, item.line)
            elif prefix[0] != this_prefix:
                raise item.error(f"value {send.value!r} has another prefix than line {prefix[1]}'s: "
                                 "one VerifiableProducer prints one --value-prefix")
            sends.append(send)
    return ProducerOutput(str(path), lines[0].time_ms, max(i.time_ms for i in lines), prefix and prefix[0],
                          tuple(sends), sent)


def _prefix(value: str) -> int | None:
    match = PRODUCER_VALUE.fullmatch(value)
    assert match is not None  # checked by _send
    return int(match.group(1)) if match.group(1) is not None else None


def _send(item: _Line) -> Send:
    value = item.get("value", str)
    match = PRODUCER_VALUE.fullmatch(value)
    if match is None:
        raise item.error(f"value {value!r} is not one VerifiableProducer sends ('<i>' or '<prefix>.<i>')")
    common = {"seq": int(match.group(2)), "value": value, "key": item.get("key", str, optional=True),
              "topic": item.get("topic", str), "time_ms": item.time_ms, "line": item.line}
    if item.name == "producer_send_success":
        return Send(**common, partition=item.get("partition", int), offset=item.get("offset", int))
    exception = item.get("exception", str).removeprefix("class ").rsplit(".", 1)[-1]
    return Send(**common, exception=exception, message=item.get("message", str, optional=True))


def read_consumer(path: str | Path) -> ConsumerOutput:
    lines = _lines(path, CONSUMER_EVENTS | PRODUCER_EVENTS)
    events: list[ConsumerEvent] = []
    pending: list[tuple[Record, _Line]] = []  # record_data lines of the poll whose records_consumed is next
    shut_down = False
    for item in lines[1:]:
        if item.name in PRODUCER_EVENTS - CONSUMER_EVENTS:
            raise item.error(f"{item.name} is VerifiableProducer output", "pass this file with --producer")
        if item.name == "record_data":
            pending.append((Record(item.get("topic", str), item.get("partition", int), item.get("offset", int),
                                   item.get("value", str, optional=True)), item))
        elif item.name == "records_consumed":
            events.append(ConsumerEvent("poll", item.time_ms, item.line, records=_poll_records(item, pending)))
            pending = []
        elif pending:
            raise item.error(f"{item.name} after record_data lines with no records_consumed for them")
        elif item.name in ("partitions_assigned", "partitions_revoked"):
            parts = tuple((p.get("topic", str), p.get("partition", int)) for p in item.entries())
            events.append(ConsumerEvent(item.name.removeprefix("partitions_"), item.time_ms, item.line, parts))
        elif item.name == "offsets_committed":
            offsets = tuple((o.get("topic", str), o.get("partition", int), o.get("offset", int))
                            for o in item.entries("offsets"))
            events.append(ConsumerEvent("commit", item.time_ms, item.line, offsets=offsets,
                                        ok=item.get("success", bool), error=item.get("error", str, optional=True)))
        elif item.name == "shutdown_complete":
            shut_down = True
    if pending:  # killed between printing a poll's records and its summary: the poll did return them
        events.append(ConsumerEvent("poll", pending[-1][1].time_ms, pending[0][1].line,
                                    records=tuple(r for r, _ in pending)))
    return ConsumerOutput(str(path), lines[0].time_ms, max(i.time_ms for i in lines), tuple(events), shut_down)


def _poll_records(item: _Line, pending: list[tuple[Record, _Line]]) -> tuple[Record, ...]:
    summaries = item.entries()
    if not pending and any(s.get("count", int) > 0 for s in summaries):
        raise item.error("records_consumed without record_data lines: VerifiableConsumer prints only offset "
                         "ranges without --verbose, and each record's value is needed",
                         "run VerifiableConsumer with --verbose")
    records = tuple(record for record, _ in pending)
    for summary in summaries:
        topic, partition = summary.get("topic", str), summary.get("partition", int)
        offsets = [r.offset for r in records if (r.topic, r.partition) == (topic, partition)]
        expected = (summary.get("count", int), summary.get("minOffset", int), summary.get("maxOffset", int))
        if (len(offsets), min(offsets, default=None), max(offsets, default=None)) != expected:
            raise item.error(f"records_consumed says {expected[0]} records of {topic}/{partition} at offsets "
                             f"{expected[1]}..{expected[2]}, but the record_data lines before it have "
                             f"{len(offsets)}")
    if len(records) != sum(s.get("count", int) for s in summaries):
        raise item.error("record_data lines for a partition records_consumed does not list")
    return records


@dataclass(frozen=True)
class EndOffset:
    topic: str
    partition: int
    offset: int  # the log end offset (high watermark): the next offset to be written


def read_end_offsets(path: str | Path) -> tuple[EndOffset, ...]:
    """`GetOffsetShell --time -1` output (kafka-get-offsets.sh): one `topic:partition:offset` per line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise HarnessError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    found: list[EndOffset] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().rsplit(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2].isdigit():
            raise HarnessError(f"{path}: line {n}: expected topic:partition:offset, got {line.strip()!r}",
                               "use the output of GetOffsetShell (kafka-get-offsets.sh) --time -1")
        found.append(EndOffset(parts[0], int(parts[1]), int(parts[2])))
    if not found:
        raise HarnessError(f"{path}: no end offsets in the file")
    return tuple(found)

"""The Java driver's event stream -> the history, one line at a time, in arrival order.

The driver writes one JSON object per line, each written before (invoke) or after (completion) the client call
it describes, under one lock, so the stream's order is the real order of its events. Recording each line as it
arrives, through the one HistoryRecorder that stamps index and time, keeps that order: an invoke written before
a completion is never stamped after it. Times are arrival times, a pipe's latency after the fact; a
completion may reach the pipe up to 2 ms after it happened (the driver flushes it with the next invoke or
within that time, infra/compose/driver/Events.java), an invoke always before its call.

Lines:
- client events: `{"process", "type": "invoke"|"ok"|"info", "f", "value", "error"?}` — recorded as they are;
- `{"type": "error", "f": "send", "exception": <class>, "before_send": bool, ...}` — a send that threw: recorded
  as `fail` or `info` by workloads/outcome.py's Java table (the same rule as librdkafka's, in the same file);
- `{"type": "error", "f": "txn", "stage", "exception": <class>|null, "abort": "ok"|"not-tried"|<class>}` — a
  transaction that did not commit, and `{"type": "error", "f": "commit", "exception"}` — a consumer commit that
  threw: classified by the Java transaction and commit tables beside it;
- control lines, never recorded: `hello` (the client library and its version, as loaded), `ready` (every client
  constructed), `fatal` (the driver refused to start: one line why), `bye` (stopped; its counters).
A line that is not JSON, or not one of these, is counted and its first instance kept; a last line cut off by a
killed driver is dropped (a client op without completion is indeterminate, which the format allows).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from workloads.outcome import (
    TXN_STAGES,
    Outcome,
    classify_java_commit_error,
    classify_java_send_error,
    classify_java_txn_error,
)

CLIENT_TYPES = frozenset({"invoke", "ok", "info"})
CONTROL_TYPES = frozenset({"hello", "ready", "fatal", "bye"})


class Recorder(Protocol):
    def record(self, process: int | str, type_: str, f: str, value: Any, error: str | None = None) -> int: ...


@dataclass
class DriverStream:
    """Feeds chunks of driver stdout into `history`; `ready`/`ended` let the workload wait on the driver."""

    history: Recorder
    single_attempt: bool = False  # the producer makes one attempt (retries=0): see classify_java_send_error
    classify: Callable[[str, bool, bool], Outcome] = classify_java_send_error
    hello: dict[str, Any] | None = None
    fatal: str | None = None
    bye: dict[str, Any] | None = None
    recorded: int = 0
    bad_lines: int = 0
    first_bad_line: bytes | None = None
    ready: threading.Event = field(default_factory=threading.Event)  # ready, fatal or ended
    ended: threading.Event = field(default_factory=threading.Event)

    def feed(self, chunks: Iterable[bytes]) -> None:
        """Read the stream to its end (the driver exited or the stream broke), recording as lines complete."""
        pending = b""
        try:
            for chunk in chunks:
                pending += chunk
                if b"\n" not in chunk:
                    continue
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        self.line(line)
        finally:
            self.ended.set()
            self.ready.set()  # nobody waits for a ready that can no longer come

    def line(self, raw: bytes) -> None:
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self._bad(raw)
        if not isinstance(event, dict):
            return self._bad(raw)
        type_ = event.get("type")
        if type_ in CONTROL_TYPES:
            return self._control(type_, event)
        process, f = event.get("process"), event.get("f")
        if not isinstance(process, str | int) or isinstance(process, bool) or not isinstance(f, str):
            return self._bad(raw)
        value, error = event.get("value"), event.get("error")
        if type_ == "error":
            outcome = self._classified(f, event)
            if outcome is None:
                return self._bad(raw)
            type_, error = outcome.type, outcome.error
        elif type_ not in CLIENT_TYPES or not (error is None or isinstance(error, str)):
            return self._bad(raw)
        self.history.record(process, type_, f, value, error)
        self.recorded += 1

    def _classified(self, f: str, event: dict[str, Any]) -> Outcome | None:
        """An op that threw -> fail or info, by the table for what it was; None if the line is malformed."""
        exception = event.get("exception")
        if f == "txn":
            stage, abort = event.get("stage"), event.get("abort")
            if stage not in TXN_STAGES or not isinstance(abort, str) or not (
                    isinstance(exception, str) or (exception is None and stage == "purpose")):
                return None
            return classify_java_txn_error(stage, exception, abort)
        if not isinstance(exception, str):
            return None
        if f == "commit":
            return classify_java_commit_error(exception)
        before_send = event.get("before_send")
        if f != "send" or not isinstance(before_send, bool):
            return None
        return self.classify(exception, before_send, self.single_attempt)

    def _control(self, type_: str, event: dict[str, Any]) -> None:
        if type_ == "hello":
            self.hello = event
        elif type_ == "fatal":
            self.fatal = str(event.get("error", "no reason given"))
            self.ready.set()
        elif type_ == "ready":
            self.ready.set()
        else:
            self.bye = event

    def _bad(self, raw: bytes) -> None:
        self.bad_lines += 1
        if self.first_bad_line is None:
            self.first_bad_line = raw[:300]

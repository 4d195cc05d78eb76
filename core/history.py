"""Reading a history: one JSON object per line, parsed one line at a time, never the whole file at once.

The one reader of history.jsonl (and of the other JSON-lines files of a run) for the checker, the split-brain
checker, the report and the sweep, with one error policy: a HistoryError whose one-line message names the line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from core.errors import HistoryError

Event = dict[str, Any]
Process = int | str
TYPES = frozenset({"invoke", "ok", "fail", "info"})
NEMESIS = "nemesis"


def read_events(path: str | os.PathLike[str]) -> Iterator[tuple[int, Event]]:
    """(line number, event) for each non-blank line; HistoryError names the line that cannot be read."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below, opened here to report OSError
    except OSError as error:
        raise HistoryError(f"cannot read {os.fspath(path)}: {error.strerror or error}") from None
    loads = orjson.loads
    line_no = 0
    with handle:
        try:
            for line_no, line in enumerate(handle, 1):
                try:
                    event = loads(line)
                except orjson.JSONDecodeError as error:
                    if not line.strip():
                        continue
                    raise HistoryError(f"line {line_no}: invalid JSON ({error.msg} at column {error.colno})") from None
                if type(event) is not dict:
                    raise HistoryError(f"line {line_no}: expected a JSON object, got {type(event).__name__}")
                yield line_no, event
        except OSError as error:
            raise HistoryError(f"cannot read {os.fspath(path)} after line {line_no}: {error.strerror or error}") \
                from None


def number_events(events: Iterable[Event]) -> Iterator[tuple[int, Event]]:
    """In-memory events numbered like lines of a file."""
    for line_no, event in enumerate(events, 1):
        if not isinstance(event, dict):
            raise HistoryError(f"line {line_no}: expected a JSON object, got {type(event).__name__}")
        yield line_no, event


def op_fields(line: int, event: Event) -> tuple[int, int | float, Process, str, str]:
    """(index, time, process, type, f) of one op, checked: the fields every reader of a history relies on."""
    try:
        index, time, process, type_, f = event["index"], event["time"], event["process"], event["type"], event["f"]
    except KeyError as missing:
        raise HistoryError(f"line {line}: missing field {missing}") from None
    if type(index) is not int or type(f) is not str or type(time) is not int and not isinstance(time, float):
        raise HistoryError(f"line {line}: index and time must be numbers and f a string")
    if type(process) is not int and type(process) is not str:
        raise HistoryError(f"line {line}: process must be an int or a string, got {process!r}")
    if type_ not in TYPES:
        raise HistoryError(f"line {line}: unknown type {type_!r}")
    return index, time, process, type_, f


@contextmanager
def naming(path: str | os.PathLike[str]) -> Iterator[None]:
    """Errors about a line, raised while `path` is read (by this reader or by whoever judges its events), name
    the file: `FILE: line N: ...`, the one form every command prints."""
    try:
        yield
    except HistoryError as error:
        message = str(error)
        if message.startswith("line "):
            raise HistoryError(f"{os.fspath(path)}: {message}") from None
        raise

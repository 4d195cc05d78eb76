"""Reading a history: one JSON object per line, parsed one line at a time, never the whole file at once."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from core.errors import HistoryError

Event = dict[str, Any]


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

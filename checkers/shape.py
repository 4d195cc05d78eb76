"""What is wrong with an op whose value the intake could not read, said in the history format's own words.

The intake (checkers/ingest.py) reads values without checking them first, which keeps the check linear and
fast; only when reading one fails does it ask `problem` why, so a user's recorder bug reads as
"field `value.records` of a poll ok must be a list, got a string", never as a Python KeyError.
"""

from __future__ import annotations

from typing import Any

# Every `f` a client process may write (docs/history-format.md); nemesis ops may use any f.
CLIENT_FS = frozenset({"send", "poll", "txn", "commit", "assign", "subscribe", "seek", "rebalance", "drain",
                       "mirror-poll", "mirror-drain", "share-subscribe", "share-poll", "share-ack", "share-drain"})
TXN_MICRO_FS = frozenset({"send", "poll", "commit"})
_KINDS = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
          bool: "a boolean", type(None): "null"}


def kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


class _Problem(Exception):
    pass


def _field(table: Any, path: str, name: str, op: str, want: type | tuple[type, ...] | None,
           optional: bool = False) -> Any:
    """table[name], checked: present (unless optional) and of the wanted JSON type (bool is not an integer)."""
    if not isinstance(table, dict):
        raise _Problem(f"field `{path}` of {op} must be an object, got {kind(table)}")
    if name not in table:
        if optional:
            return None
        raise _Problem(f"{op} has no field `{path}.{name}`")
    value = table[name]
    if want is not None and (not isinstance(value, want) or isinstance(value, bool) and want is int):
        wanted = " or ".join(_KINDS[w] for w in (want if isinstance(want, tuple) else (want,)))
        raise _Problem(f"field `{path}.{name}` of {op} must be {wanted}, got {kind(value)} {value!r}"[:300])
    return value


# (field, JSON type or None for any, optional) of each entry of a list field.
Fields = tuple[tuple[str, type | None, bool], ...]
_OFFSET_FIELDS: Fields = (("topic", str, False), ("partition", int, False), ("offset", int, False))
_RECORD_FIELDS: Fields = (*_OFFSET_FIELDS, ("value", None, False), ("cluster", str, True))


def _entries(entries: Any, path: str, op: str, fields: Fields) -> None:
    if not isinstance(entries, list):
        raise _Problem(f"field `{path}` of {op} must be a list, got {kind(entries)}")
    for i, entry in enumerate(entries):
        for name, want, optional in fields:
            _field(entry, f"{path}[{i}]", name, op, want, optional=optional)


def _records(records: Any, path: str, op: str) -> None:
    _entries(records, path, op, _RECORD_FIELDS)


def _offsets(entries: Any, path: str, op: str) -> None:
    _entries(entries, path, op, _OFFSET_FIELDS)


def _check(f: str, type_: str, value: Any) -> None:
    op = f"a {f} {type_}"
    v = "value"
    if value is not None and not isinstance(value, dict) and type_ in ("invoke", "ok"):
        raise _Problem(f"field `value` of {op} must be an object{' or null' if f == 'poll' else ''}, "
                       f"got {kind(value)}")
    if isinstance(value, dict):
        _field(value, v, "cluster", op, str, optional=True)
    if f == "send" and type_ == "invoke":
        _field(value, v, "topic", op, str)
        _field(value, v, "value", op, None)
    elif f == "send" and type_ == "ok":
        _field(value, v, "partition", op, int)
        _field(value, v, "offset", op, int)
    elif f in ("poll", "mirror-poll") and type_ == "ok" and value:
        _records(_field(value, v, "records", op, None), "value.records", op)
    elif f == "txn" and type_ in ("invoke", "ok"):
        for i, micro in enumerate(_field(value, v, "ops", op, list)):
            at = f"value.ops[{i}]"
            micro_f = _field(micro, at, "f", op, str)
            if micro_f not in TXN_MICRO_FS:
                raise _Problem(f"field `{at}.f` of {op} is {micro_f!r}; a transaction holds send, poll and commit")
            if micro_f == "send":
                _field(micro, at, "topic", op, str)
                _field(micro, at, "value", op, None)
                if type_ == "ok":
                    _field(micro, at, "partition", op, int)
                    _field(micro, at, "offset", op, int)
            elif micro_f == "poll" and type_ == "ok":
                if "records" in micro:
                    _records(micro["records"], f"{at}.records", op)
                elif micro.get("value") is not None:
                    _records(_field(micro["value"], f"{at}.value", "records", op, None), f"{at}.value.records", op)
    elif f == "commit" and type_ == "invoke":
        _field(value, v, "group", op, str, optional=True)
        _offsets(_field(value, v, "offsets", op, None), "value.offsets", op)
    elif f in ("drain", "mirror-drain") and type_ == "ok":
        _field(value, v, "topic", op, str)
        _field(value, v, "partition", op, int)
        _field(value, v, "high_watermark", op, int)
    elif f == "seek" and isinstance(value, dict) and type_ != "fail":
        _field(value, v, "topic", op, str)
        _field(value, v, "partition", op, int)
    elif f == "subscribe" and isinstance(value, dict):
        _field(value, v, "group", op, str, optional=True)


def problem(f: str, type_: str, value: Any) -> str | None:
    """The first thing wrong with this op's value, or None if the format has nothing against it."""
    try:
        _check(f, type_, value)
    except _Problem as found:
        return str(found)
    return None


def unknown_f(f: str, process: Any) -> str:
    """Why a client op's f is refused: a recorder's typo must not become a false anomaly."""
    import difflib

    close = difflib.get_close_matches(f.lower(), sorted(CLIENT_FS), n=1, cutoff=0.6)
    return (f"unknown op f {f!r} by process {process!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            + "; client ops are " + ", ".join(sorted(CLIENT_FS)) + ', and nemesis ops have process "nemesis"')

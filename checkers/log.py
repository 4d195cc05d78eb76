"""The log as the history reveals it: which value sits at which (topic, partition, offset), who sent it, who
read it first. Kept compactly: each value is a row in parallel integer arrays, each partition an int id.

With several clusters (ops carrying `"cluster"`), a topic is named with its cluster, `dc1:jepsen-aa`: the same
topic name in two clusters is two topics, and its partitions are different partitions.

A value's *sightings* are the (partition, offset) places where an acknowledgement or a read put it; a value
with more than one place is a duplicate, a place with more than one value is inconsistent.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable
from typing import Any

import orjson

from core.errors import HistoryError

Value = Hashable
NONE = -1

# Row status: what the history says about the send that carried the value.
UNSENT, PENDING, INFO, FAIL, OK = 0, 1, 2, 3, 4
STATUS_NAMES = ("unsent", "pending", "info", "fail", "ok")

MISSING: Any = object()


def qualify(cluster: Any, topic: Any) -> str:
    """A topic of one cluster among several: `dc1:jepsen-aa` (a Kafka topic name never holds a colon)."""
    if type(cluster) is not str or type(topic) is not str:
        raise TypeError(f"cluster {cluster!r} and topic {topic!r} must be strings")
    return f"{cluster}:{topic}"


def hashable(value: Any) -> Value:
    """Ints and strings stay themselves; any other JSON value becomes its canonical JSON text."""
    if isinstance(value, int | str | float) or value is None:
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class Offsets:
    """One partition's offset -> row of the first value known there (NONE: nothing known). Dense, as a partition's
    offsets are: an int array from the first offset seen, 8 bytes an offset instead of a dict entry and an int
    object; offsets below it, or so far beyond its end that holes would outnumber the offsets known, go to a dict."""

    __slots__ = ("base", "rows", "far", "count")

    def __init__(self) -> None:
        self.base = NONE  # the offset rows[0] stands for, once the first offset is known
        self.rows = array("i")  # rows, 4 bytes each (a row is an index into memory-held columns)
        self.far: dict[int, int] = {}
        self.count = 0  # offsets known

    def row(self, offset: int) -> int:
        i = offset - self.base
        if 0 <= i < len(self.rows):  # rows is empty until base is set
            return self.rows[i]
        return self.far.get(offset, NONE)

    def put(self, offset: int, row: int) -> None:
        """Record `row` at `offset`, where nothing is known yet."""
        if self.base == NONE and offset >= 0:
            self.base = offset
        i, n = offset - self.base, len(self.rows)
        if self.base == NONE or i < 0:
            self.far[offset] = row
        elif i < n:
            self.rows[i] = row
        elif i < 2 * self.count + 1024:  # holes stay fewer than the offsets known (plus a page)
            if i > n:
                self.rows.extend(_UNKNOWN * (i - n))
            self.rows.append(row)
        else:
            self.far[offset] = row
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def __contains__(self, offset: int) -> bool:
        return self.row(offset) != NONE

    def between(self, low: int, high: int) -> list[int]:
        """The known offsets strictly between low and high, sorted."""
        rows, base = self.rows, self.base
        found = [] if base == NONE else [
            base + i for i in range(max(0, low + 1 - base), min(len(rows), high - base)) if rows[i] != NONE]
        far = [o for o in self.far if low < o < high]
        return sorted(found + far) if far else found


_UNKNOWN = array("i", [NONE])


class OpTimes:
    """Op index -> time, in an array when indexes are line numbers (the format's rule), a dict otherwise."""

    def __init__(self) -> None:
        self._dense = array("q")
        self._sparse: dict[int, int] = {}

    def add(self, index: int, time: int) -> None:
        if index == len(self._dense):
            self._dense.append(time)
        else:
            self._sparse[index] = time

    def at(self, index: int) -> int:
        if 0 <= index < len(self._dense):
            return self._dense[index]
        return self._sparse.get(index, 0)

    def lookup(self) -> Callable[[int], int]:
        """`at`, as fast as it can be for these indexes: the array's own lookup when every index is a line."""
        return self._dense.__getitem__ if not self._sparse else self.at

    @property
    def end(self) -> int:
        return max(self._dense[-1] if self._dense else 0, max(self._sparse.values(), default=0))


class Log:
    def __init__(self) -> None:
        # partitions
        self.pids: dict[str, dict[int, int]] = {}  # topic -> partition -> pid
        self.partitions: list[tuple[str, int]] = []
        self.at: list[Offsets] = []  # pid -> offset -> row of the first value known at that offset
        self.conflicts: dict[tuple[int, int], list[Value]] = {}  # (pid, offset) -> every value seen there
        self.max_read: list[int] = []
        # pid -> the highest offset read so far, each time an op raised it (one entry per op: its highest offset
        # there), and that op: the first op that read past an offset is found by bisection
        self.advance_offset: list[array[int]] = []
        self.advance_op: list[array[int]] = []
        self.drains: dict[int, tuple[int, int]] = {}  # pid -> (high watermark, drain op index)
        # values
        self.rows: dict[str, dict[Value, int]] = {}  # topic -> value -> row
        self.value: list[Value] = []
        self.topic: list[str] = []
        self._names: dict[str, str] = {}
        self.status = array("b")
        self.invoke = array("q")  # op index of the send's (or txn's) invoke
        self.done = array("q")  # ... of its completion
        self.txn = array("i")  # txn node that wrote it (4-byte columns: nodes, pids and rows fit in 31 bits)
        self.ack_pid = array("i")
        self.ack_offset = array("q")
        self.loc_pid = array("i")  # first sighting
        self.loc_offset = array("q")
        self.loc_op = array("q")
        self.read_op = array("q")  # first op that read it
        self.extra: dict[int, list[tuple[int, int, int]]] = {}  # row -> further (pid, offset, op) sightings

    # ---- partitions --------------------------------------------------------------------------------------

    def pid(self, topic: str, partition: int) -> int:
        parts = self.pids.get(topic)
        if parts is None:
            parts = self.pids[topic] = {}
            self.rows.setdefault(topic, {})
        pid = parts.get(partition)
        if pid is None:
            if type(partition) is not int or type(topic) is not str:
                raise TypeError(f"partition {partition!r} of topic {topic!r}")
            pid = parts[partition] = len(self.partitions)
            self.partitions.append((topic, partition))
            self.at.append(Offsets())
            self.max_read.append(NONE)
            self.advance_offset.append(array("q"))
            self.advance_op.append(array("q"))
        return pid

    def name(self, pid: int) -> str:
        topic, partition = self.partitions[pid]
        return f"{topic}/{partition}"

    # ---- values ------------------------------------------------------------------------------------------

    def row(self, topic: str, value: Value) -> int:
        """The row of `value` in `topic`, created (as never sent) if this is its first mention."""
        rows = self.rows.get(topic)
        if rows is None:
            rows = self.rows[topic] = {}
            self.pids.setdefault(topic, {})
        row = rows.get(value)
        if row is None:
            row = self._new(rows, topic, value, UNSENT, NONE, NONE)
        return row

    def _new(self, rows: dict[Value, int], topic: str, value: Value, status: int, invoke: int, txn: int) -> int:
        row = rows[value] = len(self.value)
        self.value.append(value)
        self.topic.append(self._names.setdefault(topic, topic))  # one str object per topic, not one per row
        self.status.append(status)
        self.invoke.append(invoke)
        self.txn.append(txn)
        self.done.append(NONE)
        self.ack_pid.append(NONE)
        self.ack_offset.append(NONE)
        self.loc_pid.append(NONE)
        self.loc_offset.append(NONE)
        self.loc_op.append(NONE)
        self.read_op.append(NONE)
        return row

    def sent(self, topic: Any, value: Any, invoke: int, txn: int, line: int) -> int:
        """A send of `value` was invoked at op `invoke`; values are unique per topic, so only once."""
        if type(topic) is not str:
            raise HistoryError(f"line {line}: send needs a string topic, got {topic!r}")
        rows = self.rows.get(topic)
        if rows is None:
            rows = self.rows[topic] = {}
            self.pids.setdefault(topic, {})
        key = value if type(value) is int else hashable(value)
        row = rows.get(key)
        if row is None:  # the usual case: a value first mentioned by its send
            return self._new(rows, topic, key, PENDING, invoke, txn)
        if self.invoke[row] != NONE:
            raise HistoryError(f"line {line}: value {value!r} sent to {topic} a second time (first by op "
                               f"{self.invoke[row]}); values must be unique per topic")
        self.status[row] = PENDING
        self.invoke[row] = invoke
        self.txn[row] = txn
        return row

    def acknowledged(self, row: int, partition: Any, offset: Any, op: int) -> int:
        """`row`'s send was acknowledged at (its topic's `partition`, `offset`) by op `op`: its pid."""
        topic = self.topic[row]
        pid = self.pids[topic].get(partition)  # every row's topic has its partition table
        if pid is None:
            pid = self.pid(topic, partition)
        if type(offset) is not int:
            raise TypeError(f"offset {offset!r} is not an int")
        self.status[row] = OK
        self.done[row] = op
        self.ack_pid[row] = pid
        self.ack_offset[row] = offset
        # The value is seen at (pid, offset): check the offset and the value's places (as the read loop does).
        at = self.at[pid]
        i = offset - at.base  # Offsets.row, inlined: once per acknowledged send
        known = at.rows[i] if 0 <= i < len(at.rows) else at.far.get(offset, NONE)
        if known == NONE:
            at.put(offset, row)
        elif known != row:
            self.conflict(pid, offset, self.value[known], self.value[row])
        where = self.loc_pid[row]
        if where == NONE:
            self.loc_pid[row], self.loc_offset[row], self.loc_op[row] = pid, offset, op
        elif where != pid or self.loc_offset[row] != offset:
            self.elsewhere(row, pid, offset, op)
        return pid

    def conflict(self, pid: int, offset: int, known: Value, value: Value) -> None:
        seen = self.conflicts.setdefault((pid, offset), [known])
        if value not in seen:
            seen.append(value)

    def elsewhere(self, row: int, pid: int, offset: int, op: int) -> None:
        places = self.extra.setdefault(row, [])
        if not any(p == pid and o == offset for p, o, _ in places):
            places.append((pid, offset, op))

    def places(self, row: int) -> list[tuple[int, int, int]]:
        """Every (pid, offset, first op) where the value was seen, first sighting first."""
        if self.loc_pid[row] == NONE:
            return []
        return [(self.loc_pid[row], self.loc_offset[row], self.loc_op[row]), *self.extra.get(row, ())]

    def value_at(self, pid: int, offset: int) -> Value:
        """The first value known at (pid, offset), None if none is."""
        row = self.at[pid].row(offset)
        return self.value[row] if row != NONE else None

    def exists(self, pid: int, offset: int) -> bool:
        """A record is at (pid, offset) that readers should see: acknowledged or read, and not aborted."""
        row = self.at[pid].row(offset)
        return row != NONE and self.status[row] != FAIL

    def existing_between(self, pid: int, low: int, high: int, sorted_offsets: dict[int, list[int]]) -> list[int]:
        """Offsets strictly between low and high holding a record that exists (`sorted_offsets`: unused, kept
        for the callers' cache)."""
        at, status = self.at[pid], self.status
        if high - low <= 64:
            return [o for o in range(low + 1, high) if (row := at.row(o)) != NONE and status[row] != FAIL]
        return [o for o in at.between(low, high) if status[at.row(o)] != FAIL]

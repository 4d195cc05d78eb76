"""Transactions as the history reveals them, and the dependency graph between them (Adya, as Elle infers it).

Nodes are `txn` ops. A transaction is *committed* when it completed ok, or when it was indeterminate (info or
never completed) and someone read one of its writes. Edges, each with the facts that prove it:

- ww: in one partition, a committed transaction's write is followed by the next committed transactional write,
  by another transaction (the log's order is the version order).
- wr: a transaction read a record another transaction wrote.
- rw: a transaction read a partition up to offset o, and the next committed transactional write after o was
  another transaction's (the reader saw the state before that write). Like Jepsen's Kafka workload, this takes a
  poll's highest offset as the state it observed, although a poll may return fewer records than it could.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass
from typing import TypeAlias

from checkers.graph import strongly_connected
from checkers.log import FAIL, INFO, NONE, OK, PENDING, Log

WW, WR, RW = 0, 1, 2
KINDS = ("ww", "wr", "rw")
_OUTCOME = {"ok": OK, "fail": FAIL}
Process = int | str


class TxnTable:
    def __init__(self) -> None:
        self.invoke = array("q")
        self.done = array("q")
        self.status = array("b")
        self.process: list[Process] = []
        self.writes: dict[int, list[tuple[int, int, int]]] = {}  # node -> (pid, offset, row), in the txn's order
        self.reads: list[tuple[int, int, int]] = []  # (node, pid, highest offset it read)
        # reader -> writer -> row of the first record read from it (an int the row table already holds, not a
        # tuple a record); where it was read is the row's first sighting, unless the value has several places
        self.wr: dict[int, dict[int, int]] = {}
        self.wr_places: dict[tuple[int, int], tuple[int, int]] = {}  # (reader, writer) -> (pid, offset) read there

    def __len__(self) -> int:
        return len(self.invoke)

    def add(self, invoke: int, process: Process) -> int:
        self.invoke.append(invoke)
        self.done.append(NONE)
        self.status.append(PENDING)
        self.process.append(process)
        return len(self.invoke) - 1

    def completed(self, node: int, index: int, type_: str) -> None:
        self.done[node] = index
        self.status[node] = _OUTCOME.get(type_, INFO)

    def wrote(self, node: int, writes: list[tuple[int, int, int]]) -> None:
        """The (pid, offset, row) of each write of a transaction that completed ok, in its order."""
        self.writes.setdefault(node, []).extend(writes)

    def read_up_to(self, node: int, highest: dict[int, int]) -> None:
        for pid, offset in highest.items():
            self.reads.append((node, pid, offset))

    def first_read(self, reader: int, writer: int, log: Log) -> tuple[int, int, int]:
        """(pid, offset, row) of the first record `reader` read that `writer` wrote."""
        row = self.wr[reader][writer]
        place = self.wr_places.get((reader, writer))
        if place is None:
            return log.loc_pid[row], log.loc_offset[row], row
        return place[0], place[1], row

    def op(self, node: int) -> int:
        """The op index that names a transaction: its completion if it has one, else its invoke."""
        return self.done[node] if self.done[node] != NONE else self.invoke[node]


# Facts behind an edge: (pid, from offset, to offset, from row, to row); rows are NONE where they do not apply.
Facts = tuple[int, int, int, int, int]
# pid -> offsets of the committed txn writes there, and their (node, row)
Order: TypeAlias = "dict[int, tuple[array[int], list[tuple[int, int]]]]"


@dataclass
class Graph:
    size: int
    succ: list[dict[int, int]]  # node -> successor -> bit mask of kinds
    facts: dict[tuple[int, int, int], Facts]  # (from, to, kind) -> the first facts found
    order: Order

    def add(self, u: int, v: int, kind: int, facts: Facts) -> None:
        succ = self.succ[u]
        mask = succ.get(v, 0)
        if not mask & (1 << kind):
            succ[v] = mask | (1 << kind)
            self.facts[(u, v, kind)] = facts

    def next_write(self, pid: int, offset: int) -> tuple[int, int, int] | None:
        return next_write(self.order, pid, offset)


def next_write(order: Order, pid: int, offset: int) -> tuple[int, int, int] | None:
    """(offset, node, row) of the first committed transactional write after `offset` in `pid`."""
    entry = order.get(pid)
    if entry is None:
        return None
    offsets, who = entry
    i = bisect.bisect_right(offsets, offset)
    return (offsets[i], *who[i]) if i < len(offsets) else None


def committed_nodes(txns: TxnTable, log: Log) -> list[bool]:
    committed = [s == OK for s in txns.status]
    for row, node in enumerate(log.txn):
        if node != NONE and not committed[node] and txns.status[node] != FAIL and log.read_op[row] != NONE:
            committed[node] = True
    return committed


def _committed_writes(log: Log, committed: list[bool]) -> dict[int, list[tuple[int, int, int]]]:
    """pid -> (offset, node, row) of each committed transactional write there, in log order."""
    per_pid: dict[int, list[tuple[int, int, int]]] = {}
    ack_pid, ack_offset, loc_pid, loc_offset = log.ack_pid, log.ack_offset, log.loc_pid, log.loc_offset
    for row, node in enumerate(log.txn):
        if node == NONE or not committed[node]:
            continue
        pid, offset = ack_pid[row], ack_offset[row]
        if pid == NONE:
            pid, offset = loc_pid[row], loc_offset[row]
            if pid == NONE:
                continue
        writes = per_pid.get(pid)
        if writes is None:
            writes = per_pid[pid] = []
        writes.append((offset, node, row))
    for writes in per_pid.values():
        writes.sort()
    return per_pid


def _order(per_pid: dict[int, list[tuple[int, int, int]]]) -> Order:
    return {
        pid: (array("q", (w[0] for w in writes)), [(w[1], w[2]) for w in writes]) for pid, writes in per_pid.items()
    }


@dataclass(frozen=True)
class Dependencies:
    """What the dependency graph says, without building it: the (from, to) pairs with an edge of each kind, the
    wr dependencies on failed transactions (writer, reader, pid, offset, row), and whether it has a cycle (only
    then is the graph built, by `dependency_graph`, to find and explain them)."""

    counts: list[int]
    aborted_reads: list[tuple[int, int, int, int, int]]
    cyclic: bool


def dependencies(txns: TxnTable, log: Log) -> Dependencies:
    committed = committed_nodes(txns, log)
    per_pid = _committed_writes(log, committed)
    order, size, status = _order(per_pid), len(txns), txns.status
    # The graph reversed, node -> its predecessors: it has the same strongly connected components, and its wr
    # part is the reads table as it stands (reader -> writers), not copied into a dict of successors a node. A
    # reader's writers are committed (their write was read) or failed; a failed txn read nothing (its reads are
    # void) and precedes nothing else, so it is in no cycle either way.
    before: list[list[int]] = [[] for _ in range(size)]
    aborted: list[tuple[int, int, int, int, int]] = []
    wr = 0
    for reader, writers in txns.wr.items():
        before[reader] = list(writers)
        wr += (edges := sum(map(committed.__getitem__, writers)))
        if edges < len(writers):
            aborted.extend(
                (writer, reader, *txns.first_read(reader, writer, log))
                for writer in writers
                if not committed[writer] and status[writer] == FAIL
            )
    ww_pairs: set[int] = set()
    for writes in per_pid.values():
        for (o1, u, _), (o2, v, _) in zip(writes, writes[1:], strict=False):
            if u != v and o1 != o2 and (pair := u * size + v) not in ww_pairs:
                ww_pairs.add(pair)
                before[v].append(u)
    rw_pairs: set[int] = set()
    for reader, pid, offset in txns.reads:
        following = next_write(order, pid, offset)
        if following is not None and (v := following[1]) != reader and (pair := reader * size + v) not in rw_pairs:
            rw_pairs.add(pair)
            before[v].append(reader)
    cyclic = bool(strongly_connected(range(size), before.__getitem__, size))
    return Dependencies([len(ww_pairs), wr, len(rw_pairs)], aborted, cyclic)


def dependency_graph(txns: TxnTable, log: Log) -> Graph:
    """The graph with the facts behind each edge: built only for a history with a cycle, to find and explain it
    (`dependencies` says whether there is one without building it)."""
    committed = committed_nodes(txns, log)
    per_pid = _committed_writes(log, committed)
    graph = Graph(len(txns), [{} for _ in range(len(txns))], {}, _order(per_pid))
    for pid, writes in per_pid.items():
        for (o1, u, r1), (o2, v, r2) in zip(writes, writes[1:], strict=False):
            if u != v and o1 != o2:
                graph.add(u, v, WW, (pid, o1, o2, r1, r2))
    for reader, writers in txns.wr.items():
        for writer in writers:
            if committed[writer]:  # never a failed one
                pid, offset, row = txns.first_read(reader, writer, log)
                graph.add(writer, reader, WR, (pid, offset, offset, row, row))
    for reader, pid, offset in txns.reads:
        following = graph.next_write(pid, offset)
        if following is not None and following[1] != reader:
            graph.add(reader, following[1], RW, (pid, offset, following[0], NONE, following[2]))
    return graph

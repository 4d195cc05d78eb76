"""The transactional anomalies: G1a, G1b, int-send-skip from the tables; G0, G1c, G-single, G2 from cycles.

G1b (intermediate read), as we read it for a log: an op saw some of a committed transaction's writes to a
partition and, between its first and last record of that partition, skipped another write of the same
transaction there. It observed part of a transaction that it read past, so a state no commit ever produced.
"""

from __future__ import annotations

from collections.abc import Mapping

from checkers.cycles import explain_cycle, find_cycles
from checkers.evidence import Evidence
from checkers.ingest import Ingest
from checkers.log import NONE, OK, Log
from checkers.queue import Skips
from checkers.result import Anomaly
from checkers.txns import dependencies, dependency_graph

Found = dict[str, list[Anomaly]]


def txn_anomalies(ingest: Ingest, evidence: Evidence, skipped: Skips) -> tuple[Found, dict[
                  tuple[int, int], set[int]], dict[str, int]]:
    """(anomalies, offsets of each (op, pid) that G1b explains, graph stats)."""
    found: Found = {}
    txns, log = ingest.txns, ingest.log
    if not len(txns):
        return found, {}, {}
    summary = dependencies(txns, log)
    for writer, reader, pid, offset, row in summary.aborted_reads:
        found.setdefault("G1a", []).append(evidence(
            "G1a", [txns.invoke[writer], txns.done[writer], txns.invoke[reader], txns.done[reader]],
            f"txn op {txns.op(reader)} read {log.value[row]!r} at {log.name(pid)} offset {offset}, written by txn "
            f"op {txns.op(writer)}, which aborted.",
            writer=txns.op(writer), reader=txns.op(reader), value=log.value[row], topic=log.partitions[pid][0],
            partition=log.partitions[pid][1], offset=offset))
    explained = _intermediate_reads(ingest, evidence, skipped, found)
    _send_skips(ingest, evidence, found)
    if summary.cyclic:  # the graph, with the facts that explain its cycles, is built only when it has one
        graph = dependency_graph(txns, log)
        for name, cycle in find_cycles(graph):
            found.setdefault(name, []).append(explain_cycle(name, cycle, graph, txns, evidence))
    kinds = summary.counts
    stats = {"txns": len(txns), "committed": sum(1 for s in txns.status if s == OK),
             "ww_edges": kinds[0], "wr_edges": kinds[1], "rw_edges": kinds[2]}
    return found, explained, stats


def _observed(spans: Mapping[tuple[int, int], tuple[int, int]], holes: Mapping[tuple[int, int], list[tuple[int, int]]],
              op: int, pid: int, offset: int) -> bool:
    first, last = spans[(op, pid)]
    if not min(first, last) <= offset <= max(first, last):
        return False
    return not any(a < offset < b for a, b in holes[(op, pid)])


def _intermediate_reads(ingest: Ingest, evidence: Evidence, skipped: Skips,
                        found: Found) -> dict[tuple[int, int], set[int]]:
    log, txns = ingest.log, ingest.txns
    # An op's skips in one partition are the holes in what it observed there (a gap that jumped over nothing
    # cannot hide a committed write, so the skips are all the holes that matter).
    holes: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (_, pid, low, high, op1, op2), _ in skipped:
        if op1 == op2:
            holes.setdefault((op1, pid), []).append((low, high))
    explained: dict[tuple[int, int], set[int]] = {}
    for (process, pid, _, _, op, op2), over in skipped:
        if op != op2:
            continue
        torn: dict[int, None] = {}
        for offset in over:
            node = _writer_txn(log, pid, offset)
            if node is not None and txns.status[node] == OK:
                torn.setdefault(node, None)
        for node in torn:
            mine = [(o, r) for p, o, r in txns.writes.get(node, ()) if p == pid]
            seen = [(o, r) for o, r in mine if _observed(ingest.spans, holes, op, pid, o)]
            missed = [(o, r) for o, r in mine if (o, r) not in seen and o in over]
            if not seen or not missed or explained.get((op, pid), set()).issuperset(o for o, _ in missed):
                continue
            explained.setdefault((op, pid), set()).update(o for o, _ in missed)
            found.setdefault("G1b", []).append(evidence(
                "G1b", [txns.invoke[node], txns.done[node], op],
                f"op {op} (process {process!r}) read {_offsets(seen)} of {log.name(pid)}, written by txn op "
                f"{txns.op(node)}, but skipped {_offsets(missed)}, which the same transaction wrote there: it saw "
                f"part of a committed transaction (intermediate read).",
                writer=txns.op(node), reader=op, process=process, topic=log.partitions[pid][0],
                partition=log.partitions[pid][1], seen=[{"offset": o, "value": log.value[r]} for o, r in seen],
                missed=[{"offset": o, "value": log.value[r]} for o, r in missed]))
    return explained


def _offsets(pairs: list[tuple[int, int]]) -> str:
    offsets = [o for o, _ in pairs]
    return ("offset " if len(offsets) == 1 else "offsets ") + ", ".join(map(str, offsets))


def _writer_txn(log: Log, pid: int, offset: int) -> int | None:
    row = log.at[pid].row(offset)
    return None if row == NONE or log.txn[row] < 0 else log.txn[row]


def _send_skips(ingest: Ingest, evidence: Evidence, found: Found) -> None:
    """int-send-skip: one transaction's successive sends to a partition, with others' records between them."""
    log, txns = ingest.log, ingest.txns
    cache: dict[int, list[int]] = {}
    for node, writes in txns.writes.items():
        last: dict[int, tuple[int, int]] = {}
        for pid, offset, row in writes:
            before = last.get(pid)
            last[pid] = (offset, row)
            if before is None or offset <= before[0] + 1:
                continue
            between = [o for o in log.existing_between(pid, before[0], offset, cache)
                       if _writer_txn(log, pid, o) != node]
            if between:
                found.setdefault("int-send-skip", []).append(evidence(
                    "int-send-skip", [txns.invoke[node], txns.done[node]],
                    f"txn op {txns.op(node)} sent {log.value[before[1]]!r} and then {log.value[row]!r} to "
                    f"{log.name(pid)}, stored at offsets {before[0]} and {offset} with {len(between)} other "
                    f"record{'s' if len(between) != 1 else ''} between them ({evidence.offsets(between)}).",
                    txn=txns.op(node), topic=log.partitions[pid][0], partition=log.partitions[pid][1],
                    offsets=[before[0], offset], values=[log.value[before[1]], log.value[row]], between=between[:20]))



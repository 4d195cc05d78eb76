"""The queue anomalies, decided from the ingested tables once the whole history has been read.

Each rule follows docs/history-format.md. A record *exists* at an offset when a send was acknowledged there or a
read saw it there, and its send did not certainly fail (see Log.exists).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Mapping, Set
from typing import Any

from checkers.evidence import Evidence
from checkers.ingest import Ingest, Step
from checkers.log import FAIL, NONE, OK, UNSENT, Log, Offsets
from checkers.result import Anomaly

Found = dict[str, list[Anomaly]]
Skips = list[tuple[Step, list[int]]]  # a gap between two reads, and the existing offsets it jumped over
SHOWN = 20  # offsets listed in one piece of evidence; the count says how many there were


def resolve_gaps(ingest: Ingest) -> Skips:
    """The gaps between two successive reads that jumped over existing records, with those offsets.

    Most gaps jump over nothing (a transaction's commit marker takes an offset); they are dropped here, so the
    analyses after this look only at real skips."""
    log = ingest.log
    at, status, between = log.at, log.status, log.existing_between
    cache: dict[int, list[int]] = {}
    skips: Skips = []
    gaps, processes, lows = ingest.gaps, ingest.numbered_processes, ingest.gap_lows
    for number, pid, low, high, op1, op2 in zip(*(gaps[k::6] for k in range(6)), strict=True):
        if number < 0:  # an op's gaps over one offset each in pid: their from offsets are lows[low:high]
            for one in _over_existing(at[pid], status, lows[low:high]):
                skips.append(((processes[-1 - number], pid, one, one + 2, op1, op2), [one + 1]))
        elif high - low == 2:
            offsets = at[pid]  # Log.exists, inlined: this runs once per commit marker read over
            i = low + 1 - offsets.base
            row = offsets.rows[i] if 0 <= i < len(offsets.rows) else offsets.far.get(low + 1, NONE)
            if row != NONE and status[row] != FAIL:
                skips.append(((processes[number], pid, low, high, op1, op2), [low + 1]))
        else:
            over = between(pid, low, high, cache)
            if over:
                skips.append(((processes[number], pid, low, high, op1, op2), over))
    return skips


def _over_existing(offsets: Offsets, status: array[int], lows: array[int]) -> list[int]:
    """Those of `lows` whose next offset holds a record that exists (Log.exists, for a batch of gaps)."""
    base, rows = offsets.base, offsets.rows
    if base != NONE and min(lows) + 1 >= base and max(lows) + 1 - base < len(rows):  # all in the table's rows
        shift = 1 - base
        return [low for low in lows if rows[low + shift] != NONE and status[rows[low + shift]] != FAIL]
    return [low for low in lows if (row := offsets.row(low + 1)) != NONE and status[row] != FAIL]


def queue_anomalies(ingest: Ingest, evidence: Evidence, skipped: Skips,
                    explained: Mapping[tuple[int, int], Set[int]]) -> Found:
    """`explained[(op, pid)]`: offsets an op skipped that a more specific anomaly (G1b) already accounts for."""
    found: Found = {}
    _unread(ingest.log, evidence, found)
    _places(ingest.log, evidence, found)
    _conflicts(ingest.log, evidence, found)
    _sends(ingest, evidence, found)
    _backwards(ingest, evidence, found)
    _skips(ingest, evidence, skipped, explained, found)
    return found


def _where(log: Log, pid: int, offset: int) -> str:
    return f"{log.name(pid)} offset {offset}"


def _send_ops(log: Log, row: int) -> str:
    what = "txn" if log.txn[row] != NONE else "send"
    return f"{what} op {log.invoke[row]}" + (f"→{log.done[row]}" if log.done[row] != NONE else "")


def _unread(log: Log, evidence: Evidence, found: Found) -> None:
    """lost-write, unseen, unexpected-value, aborted-read: the rows' fates."""
    status, read_op = log.status, log.read_op
    for row in range(len(log.value)):
        state = status[row]
        if state == OK and read_op[row] == NONE:
            _lost_or_unseen(log, evidence, row, found)
        elif state == UNSENT and read_op[row] != NONE:
            pid, offset, op = log.loc_pid[row], log.loc_offset[row], log.loc_op[row]
            found.setdefault("unexpected-value", []).append(evidence(
                "unexpected-value", [op],
                f"op {op} read value {log.value[row]!r} at {_where(log, pid, offset)}, which no send ever carried.",
                value=log.value[row], topic=log.topic[row], partition=log.partitions[pid][1], offset=offset))
        elif state == FAIL and read_op[row] != NONE:
            pid, offset = log.loc_pid[row], log.loc_offset[row]
            why = "its transaction aborted" if log.txn[row] != NONE else "its send certainly failed"
            found.setdefault("aborted-read", []).append(evidence(
                "aborted-read", [log.invoke[row], log.done[row], read_op[row]],
                f"op {read_op[row]} read value {log.value[row]!r} at {_where(log, pid, offset)}, but {why} "
                f"({_send_ops(log, row)}).",
                value=log.value[row], topic=log.topic[row], partition=log.partitions[pid][1], offset=offset,
                writer=log.invoke[row], reader=read_op[row]))


def _lost_or_unseen(log: Log, evidence: Evidence, row: int, found: Found) -> None:
    pid, offset = log.ack_pid[row], log.ack_offset[row]
    value, topic, partition = log.value[row], log.topic[row], log.partitions[pid][1]
    ops = [log.invoke[row], log.done[row]]
    acked = f"value {value!r} was acknowledged at {_where(log, pid, offset)} ({_send_ops(log, row)})"
    high, drain_op = log.drains.get(pid, (NONE, NONE))
    if high > offset:
        found.setdefault("lost-write", []).append(evidence(
            "lost-write", [*ops, drain_op],
            f"{acked} but no read ever saw it, although the drain (op {drain_op}) read {log.name(pid)} "
            f"to its high watermark {high}.",
            value=value, topic=topic, partition=partition, offset=offset,
            drain={"op": drain_op, "high_watermark": high}))
    elif high != NONE and offset >= high and log.done[row] < drain_op:
        # A drain is the final read after every fault healed and the ISR is full again, so the high watermark
        # is the log end: an offset acknowledged before it and at or beyond it is no longer in the log at all.
        found.setdefault("lost-write", []).append(evidence(
            "lost-write", [*ops, drain_op],
            f"{acked} but the log ends below it: the final drain (op {drain_op}) found {log.name(pid)}'s high "
            f"watermark at {high}, after every fault had healed.",
            value=value, topic=topic, partition=partition, offset=offset,
            drain={"op": drain_op, "high_watermark": high}))
    elif log.max_read[pid] > offset:
        advances = log.advance_offset[pid]
        i = bisect.bisect_right(advances, offset)
        beyond, witness = advances[i], log.advance_op[pid][i]
        found.setdefault("lost-write", []).append(evidence(
            "lost-write", [*ops, witness],
            f"{acked} but no read ever saw it, although op {witness} read offset {beyond} beyond it.",
            value=value, topic=topic, partition=partition, offset=offset,
            read_beyond={"op": witness, "offset": beyond}))
    else:
        found.setdefault("unseen", []).append(evidence(
            "unseen", ops, f"{acked}; no read reached that offset, so nothing proves it lost.",
            value=value, topic=topic, partition=partition, offset=offset))


def _places(log: Log, evidence: Evidence, found: Found) -> None:
    """duplicate: one value at more than one (partition, offset)."""
    for row in sorted(log.extra):
        places = log.places(row)
        listed = ", ".join(f"{_where(log, p, o)} (op {op})" for p, o, op in places)
        found.setdefault("duplicate", []).append(evidence(
            "duplicate", [log.invoke[row], *(op for _, _, op in places)],
            f"value {log.value[row]!r} ({_send_ops(log, row)}) is stored at {len(places)} places: {listed}.",
            value=log.value[row], topic=log.topic[row],
            places=[{"partition": log.partitions[p][1], "offset": o, "op": op} for p, o, op in places]))


def _conflicts(log: Log, evidence: Evidence, found: Found) -> None:
    """inconsistent-offsets: one (partition, offset) with more than one value."""
    for (pid, offset), values in sorted(log.conflicts.items()):
        topic = log.partitions[pid][0]
        seen: list[dict[str, Any]] = []
        for value in values:
            row = log.rows[topic][value]
            op = next((i for p, o, i in log.places(row) if p == pid and o == offset), NONE)
            seen.append({"value": value, "op": op})
        listed = ", ".join(f"{s['value']!r} (op {s['op']})" for s in seen)
        found.setdefault("inconsistent-offsets", []).append(evidence(
            "inconsistent-offsets", [s["op"] for s in seen],
            f"{_where(log, pid, offset)} was acknowledged or read with {len(seen)} different values: {listed}.",
            topic=topic, partition=log.partitions[pid][1], offset=offset, values=seen))


def _sends(ingest: Ingest, evidence: Evidence, found: Found) -> None:
    """nonmonotonic-send: a producer's acknowledged sends to one partition, stored out of the order it took them."""
    log = ingest.log
    ack_offset, invoke, done = log.ack_offset, log.invoke, log.done
    for (producer, pid), pairs in ingest.producer_sends.items():
        seqs, rows = pairs[::2], pairs[1::2]
        offsets = array("q", map(ack_offset.__getitem__, rows))
        if all(a < b for a, b in zip(seqs, seqs[1:], strict=False)) and all(
                a < b for a, b in zip(offsets, offsets[1:], strict=False)):
            continue  # stored in the order the producer took them: the common case, nothing to report
        sends = [(seq, ack_offset[row], invoke[row], done[row], row) for seq, row in zip(seqs, rows, strict=True)]
        if any(a[0] > b[0] for a, b in zip(sends, sends[1:], strict=False)):
            sends = sorted(sends)
        for (_, o1, i1, d1, r1), (_, o2, i2, d2, r2) in zip(sends, sends[1:], strict=False):
            if o2 <= o1:
                found.setdefault("nonmonotonic-send", []).append(evidence(
                    "nonmonotonic-send", [i1, d1, i2, d2],
                    f"producer {producer!r} took value {log.value[r1]!r} (op {i1}) before {log.value[r2]!r} "
                    f"(op {i2}), but {log.name(pid)} stored them at offsets {o1} and {o2}.",
                    producer=producer, topic=log.partitions[pid][0], partition=log.partitions[pid][1],
                    values=[log.value[r1], log.value[r2]], offsets=[o1, o2]))


def _step_facts(log: Log, pid: int, o1: int, o2: int, op1: int, op2: int) -> dict[str, object]:
    return {"topic": log.partitions[pid][0], "partition": log.partitions[pid][1],
            "from": {"offset": o1, "value": log.value_at(pid, o1), "op": op1},
            "to": {"offset": o2, "value": log.value_at(pid, o2), "op": op2}}


def _backwards(ingest: Ingest, evidence: Evidence, found: Found) -> None:
    log = ingest.log
    for process, pid, o1, o2, op1, op2 in ingest.backwards:
        name = "int-nonmonotonic-poll" if op1 == op2 else "nonmonotonic-poll"
        where = f"within op {op1}" if op1 == op2 else f"(op {op1}, then op {op2})"
        found.setdefault(name, []).append(evidence(
            name, [op1, op2],
            f"process {process!r} read {log.name(pid)} offset {o1} and then offset {o2} {where}, going backwards "
            f"without an assign, seek or rebalance in between.",
            process=process, **_step_facts(log, pid, o1, o2, op1, op2)))


def _skips(ingest: Ingest, evidence: Evidence, skipped: Skips, explained: Mapping[tuple[int, int], Set[int]],
           found: Found) -> None:
    log = ingest.log
    for (process, pid, o1, o2, op1, op2), over in skipped:
        if op1 == op2 and (op1, pid) in explained:
            over = [o for o in over if o not in explained[(op1, pid)]]
        if not over:
            continue
        name = "int-poll-skip" if op1 == op2 else "poll-skip"
        where = f"within op {op1}" if op1 == op2 else f"(op {op1}, then op {op2})"
        found.setdefault(name, []).append(evidence(
            name, [op1, op2],
            f"process {process!r} read {log.name(pid)} offset {o1} and then offset {o2} {where}, skipping "
            f"{len(over)} existing record{'s' if len(over) != 1 else ''} ({evidence.offsets(over, SHOWN)}).",
            process=process, **_step_facts(log, pid, o1, o2, op1, op2), skipped=len(over),
            skipped_offsets=over[:SHOWN], skipped_values=[log.value_at(pid, o) for o in over[:SHOWN]]))

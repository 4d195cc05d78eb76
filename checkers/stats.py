"""Numbers about a history that are not anomalies: ops by outcome, unseen over time, ack-to-read lag."""

from __future__ import annotations

from array import array
from typing import Any

from checkers.ingest import Ingest
from checkers.log import FAIL, INFO, NONE, OK, PENDING

BUCKETS = 10
MS = 1_000_000


def ops_by_outcome(ingest: Ingest) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for (f, type_), count in sorted(ingest.ops.items()):
        table.setdefault(f, {})[type_] = count
    return table


def send_stats(ingest: Ingest) -> dict[str, Any]:
    log, times = ingest.log, ingest.times
    status, read_op, done, time_at = log.status, log.read_op, log.done, times.lookup()
    acknowledged = failed = indeterminate = read = 0
    end = max(times.end, 1)
    acked, seen = [0] * BUCKETS, [0] * BUCKETS
    # Lags in an int array (8 bytes each; a (lag, row) tuple per read value was the check's peak on big
    # histories); the worst lag's row is kept as we go: the last row with the largest lag, as a sort of the
    # pairs would have it.
    lags = array("q")
    worst, worst_row, last = NONE, NONE, BUCKETS - 1
    for row, state in enumerate(status):
        first_read = read_op[row]
        if state == OK:
            acknowledged += 1
            at = time_at(done[row])
            acked[min(last, at * BUCKETS // end)] += 1
            if first_read != NONE:
                lag = max(0, time_at(first_read) - at)
                seen[min(last, (at + lag) * BUCKETS // end)] += 1
                lags.append(lag)
                if lag >= worst:
                    worst, worst_row = lag, row
        elif state == FAIL:
            failed += 1
        elif state == INFO or state == PENDING:
            indeterminate += 1
        if first_read != NONE:
            read += 1
    counts = {"acknowledged": acknowledged, "failed": failed, "indeterminate": indeterminate, "read": read}
    over_time, total_acked, total_seen = [], 0, 0
    for b in range(BUCKETS):
        total_acked += acked[b]
        total_seen += seen[b]
        over_time.append({"until_s": round(end * (b + 1) / BUCKETS / 1e9, 3), "unseen": total_acked - total_seen})
    return {**counts, "unseen_over_time": over_time, "lag": _lag(ingest, lags, worst, worst_row)}


def _lag(ingest: Ingest, lags: array[int], worst: int, row: int) -> dict[str, Any]:
    """Realtime lag from an acknowledgement to the first read of that value, in milliseconds."""
    if not lags:
        return {"count": 0}
    ordered = sorted(lags)
    del lags
    log = ingest.log

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / MS, 3)

    return {"count": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "worst_ms": round(worst / MS, 3),
            "worst": {"value": log.value[row], "ack_op": log.done[row], "first_read_op": log.read_op[row]}}

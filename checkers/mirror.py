"""MirrorMaker 2 between active-active clusters: did every acknowledged record reach the other clusters, in order,
and never come back home? Decided from the mirror tracker's reads once the whole history is in.

A *flow* is one remote topic in one target cluster, copying the sends of one origin cluster's topic
(mirror_reads.Flow). Per flow:
- lost-in-mirror: a send acknowledged in the origin that no mirror poll in the target ever read, although an ok
  `mirror-drain` of that remote partition completed after the acknowledgement. Without such a drain: unmirrored.
- mirror-reorder: in one remote partition, the first occurrences of the source records, by mirrored offset, must
  follow their source offsets; mirror-wrong-partition: a record mirrored into another partition than its own.
- mirror-duplicate: a source record at more than one mirrored place (MirrorMaker 2 copies at least once).
- mirror-cycle: a remote topic whose copy path passes through its target or one cluster twice, or a record read
  through a mirror poll in the very cluster it was sent in.
- unexpected-value, aborted-read, inconsistent-offsets: as for local reads, for the remote partitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from checkers.evidence import Evidence
from checkers.log import FAIL, NONE, OK, UNSENT, Log, OpTimes, Value, qualify
from checkers.mirror_reads import MIRROR_OPS, Flow, MirrorTracker, RemotePartition
from checkers.result import Anomaly

Found = dict[str, list[Anomaly]]
SHOWN = 20  # values listed in one piece of evidence; the count says how many there were
Place = tuple[int, int, int]  # op, partition, offset: where a mirror poll read a record


def has_mirror_ops(ops: Mapping[tuple[str, str], int]) -> bool:
    return any(f in MIRROR_OPS for f, _ in ops)


def mirror_anomalies(tracker: MirrorTracker, log: Log, times: OpTimes, evidence: Evidence,
                     clusters: Iterable[str]) -> tuple[Found, dict[str, Any]]:
    """(anomalies, stats["mirror"]) for every remote topic the history read."""
    found: Found = {}
    origins = _Origins(log)
    flows: dict[str, FlowStats] = {}
    for flow in tracker.flows(clusters):
        copies = _Copies(flow, log, origins, evidence, found)
        for partition, reads in sorted(tracker.reads.get((flow.target, flow.remote_topic), {}).items()):
            copies.read(partition, reads)
        copies.report()
        stats = flows.setdefault(flow.name, FlowStats(flow.origin, flow.target))
        stats.topics.append(flow.remote_topic)
        stats.duplicates += len(copies.extra)
        stats.extra_copies += sum(len(more) for more in copies.extra.values())
        if not flow.cycle:
            _arrivals(flow, copies, tracker, log, times, evidence, found, stats)
    end = max(times.end, 1)
    return found, {"remote_topics": len(tracker.declared), "records_read": tracker.records,
                   "flows": {name: s.to_json(end) for name, s in sorted(flows.items())}}


class _Origins:
    """Value -> the row of its send, in whichever topic of whichever cluster (values are unique in a run)."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self._rows: dict[Value, int] | None = None

    def of(self, value: Value) -> int:
        if self._rows is None:
            status, values = self.log.status, self.log.value
            self._rows = {values[row]: row for row in range(len(values)) if status[row] != UNSENT}
        return self._rows.get(value, NONE)

    def cluster(self, row: int) -> str | None:
        cluster, colon, _ = self.log.topic[row].rpartition(":")
        return cluster if colon else None


def _source(log: Log, row: int) -> tuple[int, int]:
    """(pid, offset) where the origin cluster stored the row: its acknowledgement, else its first sighting."""
    if log.ack_pid[row] != NONE:
        return log.ack_pid[row], log.ack_offset[row]
    return log.loc_pid[row], log.loc_offset[row]


def _send_ops(log: Log, row: int) -> str:
    return f"send op {log.invoke[row]}" + (f"→{log.done[row]}" if log.done[row] != NONE else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@dataclass
class _Copies:
    """One pass over a flow's reads, partition by partition: what arrived where, and what should not have."""

    flow: Flow
    log: Log
    origins: _Origins
    evidence: Evidence
    found: Found
    first: dict[int, Place] = field(default_factory=dict)  # row -> its earliest read place in the target
    extra: dict[int, list[Place]] = field(default_factory=dict)  # row -> its further places
    home: dict[int, Place] = field(default_factory=dict)  # rows read back in the cluster they were sent in
    misplaced: set[int] = field(default_factory=set)  # rows already reported in a wrong partition
    reported: set[Value] = field(default_factory=set)  # values already reported unexpected or aborted

    def read(self, partition: int, reads: RemotePartition) -> None:
        flow, log, status = self.flow, self.log, self.log.status
        rows = log.rows.get(qualify(flow.origin, flow.topic), {})
        at: dict[int, tuple[Value, int]] = {}  # mirrored offset -> the first value read there, and the op
        conflicts: dict[int, list[tuple[Value, int]]] = {}
        lowest: dict[int, tuple[int, int]] = {}  # row -> (lowest mirrored offset in this partition, op)
        first, extra = self.first, self.extra
        home = flow.origin == flow.target
        for value, offset, op in zip(reads.values, reads.offsets, reads.ops, strict=True):
            known = at.get(offset)
            if known is not None:
                if known[0] != value and all(v != value for v, _ in conflicts.get(offset, ())):
                    conflicts.setdefault(offset, [known]).append((value, op))
                continue
            at[offset] = (value, op)
            row = rows.get(value, NONE)
            if row == NONE or status[row] == UNSENT or status[row] == FAIL:
                self._stray(row, value, (op, partition, offset))
                continue
            if home:
                self.home.setdefault(row, (op, partition, offset))
                continue
            place = (op, partition, offset)
            seen = first.get(row)
            if seen is None:
                first[row] = place
            else:
                if op < seen[0]:
                    first[row], place = place, seen
                extra.setdefault(row, []).append(place)
            low = lowest.get(row)
            if low is None or offset < low[0]:
                lowest[row] = (offset, op)
        for offset, values in sorted(conflicts.items()):
            self._inconsistent(partition, offset, values)
        if not flow.cycle:
            self._order(partition, lowest)

    def _stray(self, row: int, value: Value, place: Place) -> None:
        """A mirrored value that is not an acknowledged or possible send of the origin topic."""
        flow, log = self.flow, self.log
        op, partition, offset = place
        where = f"{flow.where(partition)} offset {offset}"
        facts = {"value": value, "topic": f"{flow.target}:{flow.remote_topic}", "partition": partition,
                 "offset": offset, "source": f"{flow.origin}:{flow.topic}"}
        if row != NONE and log.status[row] == FAIL:
            if value not in self.reported:
                self.reported.add(value)
                self.found.setdefault("aborted-read", []).append(self.evidence(
                    "aborted-read", [log.invoke[row], log.done[row], op],
                    f"op {op} read value {value!r} at {where}, a mirror of {flow.origin}:{flow.topic}, but its send "
                    f"certainly failed ({_send_ops(log, row)}).",
                    **facts, writer=log.invoke[row], reader=op))
            return
        elsewhere = self.origins.of(value)
        if elsewhere != NONE and self.origins.cluster(elsewhere) == flow.target:
            self.home.setdefault(elsewhere, place)
            return
        if value in self.reported:
            return
        self.reported.add(value)
        sent = (f"; it was sent to {log.topic[elsewhere]} ({_send_ops(log, elsewhere)})" if elsewhere != NONE
                else "")
        self.found.setdefault("unexpected-value", []).append(self.evidence(
            "unexpected-value", [op, *([log.invoke[elsewhere]] if elsewhere != NONE else [])],
            f"op {op} read value {value!r} at {where}, a mirror of {flow.origin}:{flow.topic}, but no send in "
            f"{flow.origin} ever carried it{sent}.", **facts))

    def _inconsistent(self, partition: int, offset: int, values: list[tuple[Value, int]]) -> None:
        listed = ", ".join(f"{v!r} (op {op})" for v, op in values)
        self.found.setdefault("inconsistent-offsets", []).append(self.evidence(
            "inconsistent-offsets", [op for _, op in values],
            f"{self.flow.where(partition)} offset {offset} was read with {len(values)} different values: {listed}.",
            topic=f"{self.flow.target}:{self.flow.remote_topic}", partition=partition, offset=offset,
            values=[{"value": v, "op": op} for v, op in values]))

    def _order(self, partition: int, lowest: dict[int, tuple[int, int]]) -> None:
        """mirror-reorder and mirror-wrong-partition: first occurrences by mirrored offset, against the source."""
        log = self.log
        copied = []
        for row, (mirrored, op) in lowest.items():
            pid, offset = _source(log, row)
            if pid == NONE:
                continue  # an indeterminate send nobody read in its origin: its place there is unknown
            if log.partitions[pid][1] != partition:
                if row not in self.misplaced:
                    self.misplaced.add(row)
                    self._wrong_partition(row, pid, offset, partition, mirrored, op)
                continue
            copied.append((mirrored, offset, row, op))
        copied.sort()
        for (m1, o1, r1, op1), (m2, o2, r2, op2) in zip(copied, copied[1:], strict=False):
            if o2 < o1:
                self._reorder(partition, (r2, o2, m2, op2), (r1, o1, m1, op1))

    def _reorder(self, partition: int, early: tuple[int, int, int, int], late: tuple[int, int, int, int]) -> None:
        """`early` is first in the source, `late` after it; the mirror has them the other way round."""
        log, flow = self.log, self.flow
        (r1, o1, m1, op1), (r2, o2, m2, op2) = early, late
        source = log.name(log.ack_pid[r1] if log.ack_pid[r1] != NONE else log.loc_pid[r1])
        self.found.setdefault("mirror-reorder", []).append(self.evidence(
            "mirror-reorder", [log.invoke[r1], log.done[r1], log.invoke[r2], log.done[r2], op1, op2],
            f"{source} stored value {log.value[r1]!r} at offset {o1} before {log.value[r2]!r} at offset {o2} "
            f"({_send_ops(log, r1)}; {_send_ops(log, r2)}), but {flow.where(partition)} first holds them at "
            f"offsets {m1} (op {op1}) and {m2} (op {op2}): MirrorMaker 2 copied them out of order.",
            source=flow.origin, target=flow.target, topic=flow.topic, remote_topic=flow.remote_topic,
            partition=partition, values=[log.value[r1], log.value[r2]], source_offsets=[o1, o2],
            mirrored_offsets=[m1, m2], reads=[op1, op2]))

    def _wrong_partition(self, row: int, pid: int, offset: int, partition: int, mirrored: int, op: int) -> None:
        log, flow = self.log, self.flow
        self.found.setdefault("mirror-wrong-partition", []).append(self.evidence(
            "mirror-wrong-partition", [log.invoke[row], log.done[row], op],
            f"value {log.value[row]!r} was stored at {log.name(pid)} offset {offset} ({_send_ops(log, row)}), but "
            f"op {op} read its copy at {flow.where(partition)} offset {mirrored}: MirrorMaker 2 keeps the "
            f"partition, so it belongs in partition {log.partitions[pid][1]}.",
            source=flow.origin, target=flow.target, topic=flow.topic, remote_topic=flow.remote_topic,
            value=log.value[row], partition=log.partitions[pid][1], offset=offset,
            mirrored={"partition": partition, "offset": mirrored, "op": op}))

    def report(self) -> None:
        """mirror-duplicate and mirror-cycle, once every partition has been read."""
        log, flow = self.log, self.flow
        for row, more in sorted(self.extra.items()):
            places = sorted([self.first[row], *more])
            listed = ", ".join(f"partition {p} offset {o} (op {op})" for op, p, o in places)
            self.found.setdefault("mirror-duplicate", []).append(self.evidence(
                "mirror-duplicate", [log.invoke[row], *(op for op, _, _ in places)],
                f"value {log.value[row]!r} ({_send_ops(log, row)} in {flow.origin}) was mirrored into "
                f"{flow.where()} at {len(places)} places: {listed}.",
                source=flow.origin, target=flow.target, topic=flow.topic, remote_topic=flow.remote_topic,
                value=log.value[row], places=[{"partition": p, "offset": o, "op": op} for op, p, o in places]))
        if flow.cycle or self.home:
            self._cycle()

    def _cycle(self) -> None:
        log, flow = self.log, self.flow
        why = []
        ops = [flow.first_op] if flow.cycle else []
        if flow.cycle:
            why.append(f"{flow.target} reads remote topic {flow.remote_topic!r} (op {flow.first_op}), copied along "
                       f"{' → '.join(flow.path)}: a replication path back into a cluster it already passed")
        home = sorted(self.home.items(), key=lambda h: h[1])
        if home:
            shown = ", ".join(f"{log.value[row]!r} ({_send_ops(log, row)}; read by op {op} at partition {p} offset "
                              f"{o})" for row, (op, p, o) in home[:SHOWN // 4])
            why.append(f"{_plural(len(home), 'record')} sent in {flow.target} came back to it through "
                       f"{flow.where()}: {shown}" + (", ..." if len(home) > SHOWN // 4 else ""))
            for row, (op, _, _) in home[:SHOWN]:
                ops += [log.invoke[row], log.done[row], op]
        self.found.setdefault("mirror-cycle", []).append(self.evidence(
            "mirror-cycle", ops, "; ".join(why) + ".",
            target=flow.target, remote_topic=flow.remote_topic, path=list(flow.path), cyclic_path=flow.cycle,
            returned=len(home), values=[log.value[row] for row, _ in home[:SHOWN]]))


@dataclass
class FlowStats:
    """Counts and lags of one origin → target path, over all its remote topics."""

    source: str
    target: str
    topics: list[str] = field(default_factory=list)
    acknowledged: int = 0
    mirrored: int = 0
    lost: int = 0
    unmirrored: int = 0
    duplicates: int = 0  # source records mirrored more than once
    extra_copies: int = 0  # ... and how many copies beyond the first
    lags: list[tuple[int, int, int]] = field(default_factory=list)  # (lag ns, ack time, row)
    unmirrored_at: list[int] = field(default_factory=list)  # ack times of records never seen in the target
    worst: dict[str, Any] = field(default_factory=dict)

    def to_json(self, end: int, buckets: int = 20) -> dict[str, Any]:
        lags = sorted(lag for lag, _, _ in self.lags)

        def ms(q: float) -> float | None:
            return round(lags[min(len(lags) - 1, int(q * len(lags)))] / 1e6, 3) if lags else None

        series: list[dict[str, Any]] = [{"until_s": round(end * (b + 1) / buckets / 1e9, 3), "acknowledged": 0,
                                         "mirrored": 0, "max_lag_ms": None} for b in range(buckets)]
        for lag, at, _ in self.lags:
            bucket = series[min(buckets - 1, at * buckets // end)]
            bucket["acknowledged"] += 1
            bucket["mirrored"] += 1
            bucket["max_lag_ms"] = max(bucket["max_lag_ms"] or 0.0, round(lag / 1e6, 3))
        for at in self.unmirrored_at:
            series[min(buckets - 1, at * buckets // end)]["acknowledged"] += 1
        return {"source": self.source, "target": self.target, "remote_topics": sorted(set(self.topics)),
                "acknowledged": self.acknowledged, "mirrored": self.mirrored, "lost": self.lost,
                "unmirrored": self.unmirrored, "duplicates": self.duplicates, "extra_copies": self.extra_copies,
                "lag": {"count": len(lags), "p50_ms": ms(0.5), "p95_ms": ms(0.95), "max_ms": ms(1.0),
                        **({"worst": self.worst} if self.worst else {})},
                "lag_over_time": series}


def _arrivals(flow: Flow, copies: _Copies, tracker: MirrorTracker, log: Log, times: OpTimes, evidence: Evidence,
              found: Found, stats: FlowStats) -> None:
    """lost-in-mirror, unmirrored, and the flow's counts and lags: every acknowledged send of the origin topic."""
    status, done = log.status, log.done
    first = copies.first
    worst = -1
    for row in log.rows.get(qualify(flow.origin, flow.topic), {}).values():
        if status[row] != OK:
            continue
        stats.acknowledged += 1
        acked = times.at(done[row])
        place = first.get(row)
        if place is not None:
            stats.mirrored += 1
            lag = max(0, times.at(place[0]) - acked)
            stats.lags.append((lag, acked, row))
            if lag > worst:
                worst = lag
                stats.worst = {"value": log.value[row], "ack_op": done[row], "first_read_op": place[0],
                               "lag_ms": round(lag / 1e6, 3)}
            continue
        pid, offset = log.ack_pid[row], log.ack_offset[row]
        partition = log.partitions[pid][1]
        high, drain = tracker.drains.get((flow.target, flow.remote_topic, partition), (NONE, NONE))
        acked_at = (f"value {log.value[row]!r} was acknowledged at {log.name(pid)} offset {offset} "
                    f"({_send_ops(log, row)})")
        facts = {"value": log.value[row], "source": flow.origin, "target": flow.target, "topic": flow.topic,
                 "remote_topic": flow.remote_topic, "partition": partition, "offset": offset}
        if drain > done[row]:
            stats.lost += 1
            found.setdefault("lost-in-mirror", []).append(evidence(
                "lost-in-mirror", [log.invoke[row], done[row], drain],
                f"{acked_at} but never reached {flow.target}: the final mirror drain (op {drain}) read "
                f"{flow.where(partition)} to its high watermark {high} without it.",
                **facts, drain={"op": drain, "high_watermark": high}))
        else:
            stats.unmirrored += 1
            stats.unmirrored_at.append(acked)
            found.setdefault("unmirrored", []).append(evidence(
                "unmirrored", [log.invoke[row], done[row]],
                f"{acked_at}; no mirror poll in {flow.target} read it, and no mirror drain of "
                f"{flow.where(partition)} completed after it, so nothing proves it lost.", **facts))

"""A disaster-recovery drill's figures, from the history alone: RTO, RPO, and what the application's consumer
group skipped or read twice when it failed over and back.

Marks in the history: the outage is the first `start-outage-<dc>` / `start-disaster-<dc>` nemesis event (its
completion, when the cut is in place on every node, is the moment of failure) and its `stop-…` (or a
`heal-all`) the return; the clients' moves are the `failover-clients` / `failback-clients` nemesis events.
The failed DC's producers are named `<dc>-…`; its application group's reads carry `"group"` in their value
(`poll` at home, `mirror-poll` in the other cluster).

- write RTO: from the failure to the first acknowledged send of the failed DC's producers invoked after it (on
  one stretched cluster, where no client moves: of any producer).
- read RTO: from the failure to the first read, anywhere, of a record those producers wrote after it.
- RPO: records acknowledged in the failed DC before the failure that no other cluster's mirror had shown by
  then (`unmirrored_at_failure`, and how many seconds of writes that is), and those that never reached another
  cluster and were not read at home after the DC returned either (`lost`: gone with the DC; on one stretched
  cluster: never read by anyone).
- skipped: records acknowledged at home that the application group never processed although it processed a
  later record of the same partition; each is charged to the phase (home, failover, failback) whose first read of
  that partition passed it. re-read: records it processed more than once, charged to the phase of the repeat.
- per_second: for each second of the run, acknowledged writes of the failed DC's clients and of the others, and
  the longest a record acknowledged in the failed DC that second took to show up in another cluster's mirror
  (replication lag by MirrorMaker 2; none on one stretched cluster).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]
PHASES = ("home", "failover", "failback")


@dataclass
class _Marks:
    dc: str | None = None
    failure: int | None = None
    back: int | None = None
    failover: int | None = None
    failback: int | None = None


@dataclass
class _Send:
    producer: str
    cluster: str | None
    partition: int
    offset: int
    invoked: int
    acked: int


@dataclass
class _Facts:
    marks: _Marks = field(default_factory=_Marks)
    sends: dict[Any, _Send] = field(default_factory=dict)  # value -> its acknowledged send
    first_read: dict[Any, int] = field(default_factory=dict)  # value -> first time any read saw it
    first_mirrored: dict[Any, int] = field(default_factory=dict)  # value -> first mirror read in another cluster
    last_local_read: dict[tuple[Any, str], int] = field(default_factory=dict)  # (value, cluster) -> last poll time
    app_reads: list[tuple[int, Any]] = field(default_factory=list)  # (time, value) of the app group, in order


def _scan(events: Iterable[Event]) -> _Facts:
    facts = _Facts()
    m = facts.marks
    invoked: dict[Any, int] = {}
    for e in events:
        f, t, type_, value = e["f"], e["time"], e["type"], e.get("value")
        if e["process"] == "nemesis":
            if type_ != "invoke" and m.failure is None and f in (f"start-outage-{m.dc}", f"start-disaster-{m.dc}"):
                m.failure = t  # the cut is in place once the start completed: the moment of failure
                continue
            if type_ != "invoke":
                if (f.startswith("stop-outage-") or f.startswith("stop-disaster-") or f.startswith("heal")) \
                        and m.failure is not None and m.back is None:
                    m.back = t
                continue
            for kind in ("start-outage-", "start-disaster-"):
                if f.startswith(kind) and m.dc is None:
                    m.dc = f[len(kind):]
            if f == "failover-clients" and m.failover is None:
                m.failover = t
            elif f == "failback-clients" and m.failback is None:
                m.failback = t
            continue
        if type_ == "invoke":
            invoked[e["process"]] = t
            continue
        started = invoked.pop(e["process"], t)
        if type_ != "ok" or not isinstance(value, dict):
            continue
        if f == "send":
            facts.sends[value["value"]] = _Send(value.get("producer", ""), value.get("cluster"), value["partition"],
                                                value["offset"], started, t)
        elif f in ("poll", "mirror-poll"):
            app = "group" in value
            cluster = value.get("cluster")
            for r in value.get("records", ()):
                facts.first_read.setdefault(r["value"], t)
                if f == "poll" and cluster is not None:
                    facts.last_local_read[(r["value"], cluster)] = t
                if f == "mirror-poll":
                    facts.first_mirrored.setdefault(r["value"], t)
                if app:
                    facts.app_reads.append((t, r["value"]))
    return facts


def _phase(m: _Marks, t: int) -> str:
    if m.failback is not None and t >= m.failback:
        return "failback"
    if m.failover is not None and t >= m.failover:
        return "failover"
    return "home"


def drill_figures(events: Iterable[Event]) -> dict[str, Any]:
    facts = _scan(events)
    m = facts.marks
    if m.failure is None or m.dc is None:
        return {"error": "no outage-<dc> or disaster-<dc> fault in the history"}
    home, failure = m.dc, m.failure
    own = {v: s for v, s in facts.sends.items() if s.producer.startswith(f"{home}-")}
    stretched = not any(s.cluster for s in facts.sends.values())
    if stretched:  # one cluster over every DC: every client depends on it, none moves
        own = facts.sends
    after = [s for s in own.values() if s.invoked > failure]
    write_rto = min((s.acked for s in after), default=None)
    read_rto = min((facts.first_read[v] for v, s in own.items() if s.invoked > failure and v in facts.first_read),
                   default=None)
    before = {v: s for v, s in facts.sends.items() if (stretched or s.cluster == home) and s.acked < failure}
    unmirrored = [] if stretched else [v for v in before if facts.first_mirrored.get(v, failure + 1) > failure]
    back = m.back if m.back is not None else failure

    def gone(v: Any) -> bool:
        if stretched:
            return v not in facts.first_read
        # Never copied to another cluster, and not read at home after the DC returned: it went down with it.
        return v not in facts.first_mirrored and facts.last_local_read.get((v, home), -1) <= back

    lost = sorted((v for v in before if gone(v)), key=lambda v: (before[v].partition, before[v].offset))
    oldest = min((before[v].acked for v in unmirrored), default=None)
    skipped, reread = _app(facts, home)

    def seconds(t: int | None) -> float | None:
        return None if t is None else round((t - failure) / 1e9, 3)

    return {
        "dc": home, "failure_s": round(failure / 1e9, 3),
        "per_second": _per_second(facts, home),
        "return_s": None if m.back is None else round(m.back / 1e9, 3),
        "failover_s": None if m.failover is None else round(m.failover / 1e9, 3),
        "failback_s": None if m.failback is None else round(m.failback / 1e9, 3),
        "rto_write_s": seconds(write_rto), "rto_read_s": seconds(read_rto),
        "model": "stretch" if stretched else "active-active",
        "rpo": {"acknowledged_before_failure": len(before),
                "unmirrored_at_failure": None if stretched else len(unmirrored),
                "unmirrored_seconds": None if oldest is None else round((failure - oldest) / 1e9, 3),
                "lost": len(lost), "lost_values": lost[:20]},
        "app": {"reads": len(facts.app_reads),
                "reads_by_phase": {p: sum(1 for t, _ in facts.app_reads if _phase(m, t) == p) for p in PHASES},
                "skipped": {p: len(v) for p, v in skipped.items()},
                "skipped_values": {p: v[:20] for p, v in skipped.items() if v},
                "reread": {p: len(v) for p, v in reread.items()}},
    }


def _per_second(facts: _Facts, home: str) -> dict[str, list[Any]]:
    """Acknowledged writes per second (the failed DC's clients, the others) and the worst mirror lag per second."""
    home_writes: dict[int, int] = {}
    other_writes: dict[int, int] = {}
    lag: dict[int, int] = {}
    prefix = f"{home}-"
    for v, send in facts.sends.items():
        second = send.acked // 1_000_000_000
        mine = send.producer.startswith(prefix)
        counts = home_writes if mine else other_writes
        counts[second] = counts.get(second, 0) + 1
        mirrored = facts.first_mirrored.get(v)
        if mine and mirrored is not None and send.cluster == home:
            lag[second] = max(lag.get(second, 0), mirrored - send.acked)
    seconds = range(max([*home_writes, *other_writes], default=-1) + 1)
    return {"second": list(seconds), "home_writes": [home_writes.get(t, 0) for t in seconds],
            "other_writes": [other_writes.get(t, 0) for t in seconds],
            "mirror_lag_max_s": [round(lag[t] / 1e9, 3) if t in lag else None for t in seconds]}


def _app(facts: _Facts, home: str) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Skips and re-reads of the application group, by phase (see the module docstring)."""
    skipped: dict[str, list[Any]] = {p: [] for p in PHASES}
    reread: dict[str, list[Any]] = {p: [] for p in PHASES}
    if not facts.app_reads:
        return skipped, reread
    m = facts.marks
    sources = {v: s for v, s in facts.sends.items() if s.cluster == home}
    read: set[Any] = set()
    first_in_phase: dict[tuple[str, int], int] = {}  # (phase, partition) -> source offset of its first read
    for t, value in facts.app_reads:
        phase = _phase(m, t)
        if value in read:
            reread[phase].append(value)
        read.add(value)
        source = sources.get(value)
        if source is not None:
            first_in_phase.setdefault((phase, source.partition), source.offset)
    highest: dict[int, int] = {}
    for v in read:
        s = sources.get(v)
        if s is not None:
            highest[s.partition] = max(highest.get(s.partition, -1), s.offset)
    for v, s in sorted(sources.items(), key=lambda kv: (kv[1].partition, kv[1].offset)):
        if v in read or s.offset > highest.get(s.partition, -1):
            continue
        # The phase whose first read of the partition passed it: the last phase starting above it.
        passed = [p for p in PHASES if first_in_phase.get((p, s.partition), -1) > s.offset]
        skipped[passed[-1] if passed else "home"].append(v)
    return skipped, reread

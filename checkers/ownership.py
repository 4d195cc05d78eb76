"""Who owned which partition of a consumer group, from the members' own rebalance ops, and what a member did after
the group had given its partition to another.

A *claim* is one member (process) holding one partition of its group: it opens at the completion of an `ok`
`rebalance` of that process whose `assigned` names the partition, and closes at the invoke of the process's next
`rebalance` whose `revoked` names it (a *handover*; with `"lost": true` it is a *loss*: the coordinator took it), at
the completion of any op of the process that ended `info` (the process acts no more), or at the start of a
`crash-member` fault naming the process. A claim still open when another process's claim of the same partition
opens is *superseded* by it: the group gave the partition to another while this member still believed it held it.
Where both rebalances carry a `generation` (on the consumer protocol the member epoch) and the new one is *lower*,
the new claim is the outdated one: an assignment delivered late (a stalled member's queued callback, seen on
4.3.1), so the new claim is *stale*, superseded from the start by the open one, and the open one goes on. A
process assigned a partition it already holds keeps its claim, or, at a higher generation, starts a fresh one.

- shared-partition: a superseded claim, not stale, that then closed with a handover (its member revoked it in its own
  rebalance callback, as a live member does), while its member showed no sign of having been fenced: no
  `stall-member` or `crash-member` fault naming it between the superseding claim's opening and the revoke, and
  no commit of its ended `fail` or `info` with a fencing error (`unknown-member-id`, `illegal-generation`,
  `fenced-member-epoch`, `stale-member-epoch`, `fenced-instance-id`) in that window. Two live members held one
  partition at once.
  A claim that closed with a loss, an info or a crash belonged to a zombie: the group had fenced it (its session
  or poll interval ran out), so it was no second owner.
- zombie-commit: an `ok` commit of a partition by a process whose claim of it was superseded before the commit
  was invoked and was still open then: the member had been fenced (the partition moved without its handover) and
  the coordinator accepted its commit anyway. Commits marked `"auto": true` (reported by an auto-commit callback,
  invoked in the history after the client sent them) are not judged.
- Reads of a partition by a member whose claim of it was superseded are *zombie reads*: Kafka does not fence
  fetches, so they are counted (stats), not failed; the zombie-commit evidence lists the first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from checkers.evidence import Evidence
from checkers.log import Log
from checkers.result import Anomaly

Process = int | str
FENCING_ERRORS = frozenset({"unknown-member-id", "illegal-generation", "fenced-member-epoch", "stale-member-epoch",
                            "fenced-instance-id"})
MEMBER_FAULTS = frozenset({"stall-member", "crash-member"})


@dataclass
class Claim:
    group: str
    pid: int
    process: Process
    opened: int  # completion index of the rebalance that assigned it
    member: dict[str, Any]  # member_id / generation the rebalance reported, if any
    superseded_by: Claim | None = None
    zombie_read: int | None = None  # the first op that read it after it was superseded
    stale: bool = False  # opened at an older generation than a claim it found open: a zombie's from the start


@dataclass(frozen=True)
class SharedPartition:
    old: Claim
    new: Claim
    revoke: int


@dataclass(frozen=True)
class ZombieCommit:
    claim: Claim
    offset: int
    invoke: int
    done: int
    member: dict[str, Any]


@dataclass
class GroupOwnership:
    protocols: dict[str, int] = field(default_factory=dict)  # protocol -> members that subscribed with it
    rebalances: dict[str, int] = field(default_factory=dict)  # protocol -> rebalance ops that assigned something
    redelivered: dict[str, int] = field(default_factory=dict)  # protocol -> records read again
    zombie_reads: int = 0
    fenced_commits: int = 0


class OwnershipTracker:
    def __init__(self) -> None:
        self.group_of: dict[Process, str] = {}
        self.protocol_of: dict[Process, str] = {}
        self.open: dict[tuple[str, int], dict[Process, Claim]] = {}  # (group, pid) -> open claims by process
        self.held: dict[Process, dict[int, Claim]] = {}  # process -> pid -> its open claim
        self.member_faults: dict[Process, list[list[int | None]]] = {}  # process -> [start, stop] windows
        self.fenced: dict[Process, list[int]] = {}  # process -> completions of commits refused as fenced
        self.groups: dict[str, GroupOwnership] = {}
        self.shared: list[SharedPartition] = []
        self.zombie_commits: list[ZombieCommit] = []

    def _stats(self, group: str) -> GroupOwnership:
        stats = self.groups.get(group)
        if stats is None:
            stats = self.groups[group] = GroupOwnership()
        return stats

    # ---- membership --------------------------------------------------------------------------------------

    def subscribed(self, process: Process, group: str, protocol: Any) -> None:
        self.group_of[process] = group
        name = protocol if isinstance(protocol, str) else "unknown"
        self.protocol_of[process] = name
        stats = self._stats(group)
        stats.protocols[name] = stats.protocols.get(name, 0) + 1

    def rebalanced(self, process: Process, value: Any, invoke: int, done: int, ok: bool,
                   pid_of: Callable[[Any, Any], int]) -> None:
        group = self.group_of.get(process)
        if group is None or not isinstance(value, dict):
            return
        lost = value.get("lost") is True
        for topic, partition in value.get("revoked") or ():
            self._close(process, pid_of(topic, partition), invoke, "lost" if lost else "handover")
        assigned = value.get("assigned") or ()
        if ok and assigned:
            protocol = self.protocol_of.get(process, "unknown")
            stats = self._stats(group)
            stats.rebalances[protocol] = stats.rebalances.get(protocol, 0) + 1
            member = {k: value[k] for k in ("member_id", "generation") if k in value}
            for topic, partition in assigned:
                self._open(process, group, pid_of(topic, partition), done, member)

    def _open(self, process: Process, group: str, pid: int, done: int, member: dict[str, Any]) -> None:
        held = self.held.setdefault(process, {})
        now = _generation(member)
        if pid in held:  # assigned again without a revoke: the same claim goes on, unless at a newer generation
            before = _generation(held[pid].member)
            if now is None or before is None or now <= before:
                return
            self.open[(group, pid)].pop(process, None)  # the member's fresh claim replaces its older one
        claim = Claim(group, pid, process, done, member)
        others = self.open.setdefault((group, pid), {})
        for other in others.values():
            theirs = _generation(other.member)
            if now is not None and theirs is not None and now < theirs:
                # An assignment older than the one it would replace, delivered late (a stalled member's queued
                # callback): this member is the zombie, from the start.
                claim.stale = True
                claim.superseded_by = claim.superseded_by or other
            elif other.superseded_by is None:
                other.superseded_by = claim
        others[process] = claim
        held[pid] = claim

    def _close(self, process: Process, pid: int, at: int, how: str) -> None:
        claim = self.held.get(process, {}).pop(pid, None)
        if claim is None:
            return
        self.open[(claim.group, pid)].pop(process, None)
        new = claim.superseded_by
        if new is not None and how == "handover" and not claim.stale and not self._fenced_between(
                process, new.opened, at):
            self.shared.append(SharedPartition(claim, new, at))

    def ended(self, process: Process, at: int) -> None:
        """The process completed an op with info (or crashed): it holds nothing from here on."""
        for pid in list(self.held.get(process, ())):
            self._close(process, pid, at, "ended")

    def member_fault(self, f: str, value: Any, index: int) -> None:
        if not isinstance(value, dict) or value.get("nemesis") not in MEMBER_FAULTS:
            return
        for process in value.get("targets") or ():
            if isinstance(process, (int, str)):
                windows = self.member_faults.setdefault(process, [])
                if f.startswith("start-"):
                    windows.append([index, None])
                    if value.get("nemesis") == "crash-member":
                        self.ended(process, index)
                elif windows and windows[-1][1] is None:
                    windows[-1][1] = index

    def _fenced_between(self, process: Process, start: int, end: int) -> bool:
        for begin, stop in self.member_faults.get(process, ()):
            if begin is not None and begin <= end and (stop is None or stop >= start):
                return True
        return any(start <= at <= end for at in self.fenced.get(process, ()))

    # ---- reads and commits -------------------------------------------------------------------------------

    def read(self, process: Process, pids: Iterable[int], op: int, redelivered: int) -> None:
        """One op of a group member read `pids`, `redelivered` of its records again."""
        group = self.group_of.get(process)
        if group is None:
            return
        stats = self._stats(group)
        if redelivered:
            protocol = self.protocol_of.get(process, "unknown")
            stats.redelivered[protocol] = stats.redelivered.get(protocol, 0) + redelivered
        held = self.held.get(process)
        if not held:
            return
        for pid in pids:
            claim = held.get(pid)
            if claim is not None and claim.superseded_by is not None:
                stats.zombie_reads += 1
                if claim.zombie_read is None:
                    claim.zombie_read = op

    def commit_done(self, process: Process, value: Any, entries: Iterable[tuple[int, int]], invoke: int, done: int,
                    type_: str, error: Any) -> None:
        """A commit of (pid, offset) `entries` completed; `value` is its invoke's value."""
        group = self.group_of.get(process)
        if type_ != "ok" and error in FENCING_ERRORS:
            self.fenced.setdefault(process, []).append(done)
            if group is not None:
                self._stats(group).fenced_commits += 1
            return
        if type_ != "ok" or group is None or not isinstance(value, dict) or value.get("auto") is True:
            return
        held = self.held.get(process)
        if not held:
            return
        member = {k: value[k] for k in ("member_id", "generation") if k in value}
        for pid, offset in entries:
            claim = held.get(pid)
            if claim is not None and claim.superseded_by is not None and claim.superseded_by.opened < invoke:
                self.zombie_commits.append(ZombieCommit(claim, offset, invoke, done, member))


def _generation(member: dict[str, Any]) -> int | None:
    generation = member.get("generation")
    return generation if type(generation) is int and generation >= 0 else None


def _member(member: dict[str, Any]) -> str:
    if not member:
        return ""
    parts = [f"member {member['member_id']!r}" if "member_id" in member else "",
             f"generation/epoch {member['generation']}" if "generation" in member else ""]
    return " (" + ", ".join(p for p in parts if p) + ")"


def ownership_anomalies(tracker: OwnershipTracker, log: Log, evidence: Evidence) -> tuple[dict[str, list[Anomaly]],
                                                                                         dict[str, Any]]:
    found: dict[str, list[Anomaly]] = {}
    for s in tracker.shared:
        old, new = s.old, s.new
        found.setdefault("shared-partition", []).append(evidence(
            "shared-partition", [old.opened, new.opened, s.revoke],
            f"group {old.group!r}: process {old.process!r}{_member(old.member)} was assigned {log.name(old.pid)} "
            f"(op {old.opened}); process {new.process!r}{_member(new.member)} was assigned it too (op {new.opened}) "
            f"before the first revoked it (op {s.revoke}), and the first showed no sign of being fenced (no loss, "
            f"no fencing error, no stall or crash): two live members held one partition at once.",
            group=old.group, topic=log.partitions[old.pid][0], partition=log.partitions[old.pid][1],
            processes=[old.process, new.process], members=[old.member, new.member]))
    for z in tracker.zombie_commits:
        claim = z.claim
        owner = claim.superseded_by
        if owner is None:  # a zombie commit is one of a superseded claim
            continue
        ops = [claim.opened, owner.opened, z.invoke, z.done]
        read = f"; it had read the partition after that too (op {claim.zombie_read})" if claim.zombie_read else ""
        found.setdefault("zombie-commit", []).append(evidence(
            "zombie-commit", ops,
            f"group {claim.group!r}: process {claim.process!r} held {log.name(claim.pid)} (op {claim.opened}) and "
            f"never handed it over, but the group assigned it to process {owner.process!r} (op {owner.opened}): the "
            f"first was fenced by then{read}. Its commit of offset {z.offset}{_member(z.member)} (op {z.invoke}→"
            f"{z.done}) was accepted: a fenced member's commit.",
            group=claim.group, topic=log.partitions[claim.pid][0], partition=log.partitions[claim.pid][1],
            offset=z.offset, process=claim.process, new_owner=owner.process, member=z.member,
            zombie_read=claim.zombie_read))
    stats = {name: {"protocols": dict(sorted(g.protocols.items())), "rebalances": dict(sorted(g.rebalances.items())),
                    "redelivered_by_protocol": dict(sorted(g.redelivered.items())),
                    "redelivered_per_rebalance": {p: round(g.redelivered.get(p, 0) / n, 2)
                                                  for p, n in sorted(g.rebalances.items()) if n},
                    "zombie_reads": g.zombie_reads, "fenced_commits": g.fenced_commits}
             for name, g in sorted(tracker.groups.items())}
    return found, stats

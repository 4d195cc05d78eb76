"""Consumer groups: who is in which group, what the group consumed and committed, and where members resumed.

- group-skip: a member that (re)joined (subscribe or rebalance) read a partition first at offset f, while the
  group's last committed offset there was c < f; records that exist at offsets c..f-1 were never consumed by
  any member of the group, before or after. At-least-once is broken: those records were skipped.
  Only checked once the group has committed that partition (before that, auto.offset.reset decides).
- commit-past-unconsumed: the group committed offset c for a partition (ok) while records that exist below c were
  never consumed by any member of the group, before or after: the group's position passed them unread, so they
  are skipped for good (auto-commit committed what the client had returned, not what the application had
  processed). "Below c" starts at the log's first record for a group that subscribed with
  `"offset_reset": "earliest"`, else at the lowest offset the group read there. Offsets already reported as a
  group-skip are not reported again.
- commit-regression: an ok commit of offset o for a partition, invoked after another ok commit of a higher
  offset for the same group and partition had completed, by a process that did not seek that partition.
- Redeliveries (a member read an offset some member of its group had already read) are allowed under
  at-least-once and only counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checkers.evidence import Evidence
from checkers.log import Log
from checkers.result import Anomaly

Process = int | str
Found = dict[str, list[Anomaly]]


@dataclass
class Group:
    name: str
    # pid -> offsets read by any member; filled by the intake's read loop, which counts a re-read as redelivered
    consumed: dict[int, set[int]] = field(default_factory=dict)
    members: set[Process] = field(default_factory=set)
    from_earliest: bool = False  # a member subscribed with offset_reset "earliest": the group owes the whole log
    redelivered: int = 0
    commits: int = 0


@dataclass(frozen=True)
class Resume:
    group: str
    pid: int
    process: Process
    committed: int
    commit_invoke: int
    commit_done: int
    first: int
    op: int


@dataclass(frozen=True)
class Regression:
    group: str
    pid: int
    process: Process
    offset: int
    invoke: int
    done: int
    higher: int
    higher_invoke: int
    higher_done: int


class GroupTracker:
    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.group_of: dict[Process, Group] = {}
        self.seeks: dict[Process, set[int]] = {}  # partitions each member sought since it joined
        self.commits: dict[tuple[str, int], list[tuple[int, int, int]]] = {}  # -> (done, offset, invoke)
        self.highest: dict[tuple[str, int], tuple[int, int, int]] = {}  # -> (offset, invoke, done)
        self.resumes: list[Resume] = []
        self.regressions: list[Regression] = []

    def _group(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = Group(name)
        return group

    def joined(self, process: Process, group: Any, subscribed: bool, from_earliest: bool = False) -> None:
        if subscribed and isinstance(group, str):
            joined = self.group_of[process] = self._group(group)
            joined.members.add(process)
            joined.from_earliest = joined.from_earliest or from_earliest
        self.seeks.pop(process, None)

    def sought(self, process: Process, pid: int) -> None:
        self.seeks.setdefault(process, set()).add(pid)

    def consumed_by(self, process: Process) -> Group | None:
        return self.group_of.get(process)

    def resumed(self, process: Process, pid: int, offset: int, op: int, invoke: int) -> None:
        """`process` read `pid` for the first time since it joined (or since a seek elsewhere)."""
        group = self.group_of[process]
        if pid in self.seeks.get(process, ()):
            return
        commits = self.commits.get((group.name, pid))
        for done, committed, commit_invoke in reversed(commits or ()):
            if done < invoke:
                self.resumes.append(Resume(group.name, pid, process, committed, commit_invoke, done, offset, op))
                return

    def commit_invoked(self, process: Process, value: Any, index: int, pid_of: Callable[[str, int], int]) -> Any:
        member = self.group_of.get(process)
        name = value.get("group") or (member.name if member else None)
        if not isinstance(name, str):
            return None
        entries = []
        for entry in value["offsets"]:
            pid = pid_of(entry["topic"], entry["partition"])
            entries.append((pid, entry["offset"], self.highest.get((name, pid))))
        return name, entries

    def committed(self, process: Process, invoke: int, done: int, kept: Any) -> None:
        if kept is None:
            return
        name, entries = kept
        group = self._group(name)
        group.commits += 1
        for pid, offset, before in entries:
            if before is not None and offset < before[0] and pid not in self.seeks.get(process, ()):
                self.regressions.append(Regression(name, pid, process, offset, invoke, done, *before))
            self.commits.setdefault((name, pid), []).append((done, offset, invoke))
            best = self.highest.get((name, pid))
            if best is None or offset > best[0]:
                self.highest[(name, pid)] = (offset, invoke, done)


def group_anomalies(tracker: GroupTracker, log: Log, evidence: Evidence) -> tuple[Found, dict[str, Any]]:
    found: Found = {}
    cache: dict[int, list[int]] = {}
    reported: set[tuple[str, int, int]] = set()  # (group, pid, offset) already shown as a group-skip
    for r in tracker.resumes:
        if r.first <= r.committed:
            continue
        consumed = tracker.groups[r.group].consumed.get(r.pid, set())
        missing = [o for o in log.existing_between(r.pid, r.committed - 1, r.first, cache) if o not in consumed]
        if not missing:
            continue
        reported.update((r.group, r.pid, o) for o in missing)
        found.setdefault("group-skip", []).append(evidence(
            "group-skip", [r.commit_invoke, r.commit_done, r.op],
            f"group {r.group!r} had committed {log.name(r.pid)} offset {r.committed} (commit op {r.commit_invoke}→"
            f"{r.commit_done}), but process {r.process!r}, reading it after joining, began at offset {r.first} "
            f"(op {r.op}); {len(missing)} record{'s' if len(missing) != 1 else ''} in between "
            f"({evidence.offsets(missing)}) were never consumed by any member of the group.",
            group=r.group, topic=log.partitions[r.pid][0], partition=log.partitions[r.pid][1],
            committed=r.committed, first_read=r.first, process=r.process, skipped=len(missing),
            skipped_offsets=missing[:20], skipped_values=[log.value_at(r.pid, o) for o in missing[:20]]))
    _commits_past_unconsumed(tracker, log, evidence, found, cache, reported)
    for g in tracker.regressions:
        found.setdefault("commit-regression", []).append(evidence(
            "commit-regression", [g.higher_invoke, g.higher_done, g.invoke, g.done],
            f"group {g.group!r} committed {log.name(g.pid)} offset {g.higher} (op {g.higher_invoke}→{g.higher_done}),"
            f" and afterwards process {g.process!r} committed offset {g.offset} (op {g.invoke}→{g.done}): the "
            f"committed offset went backwards.",
            group=g.group, topic=log.partitions[g.pid][0], partition=log.partitions[g.pid][1],
            offsets=[g.higher, g.offset], process=g.process))
    stats = {name: {"members": len(g.members), "commits": g.commits, "redelivered": g.redelivered,
                    "consumed": sum(len(s) for s in g.consumed.values()),
                    "resumes": sum(1 for r in tracker.resumes if r.group == name)}
             for name, g in sorted(tracker.groups.items())}
    return found, stats



def _commits_past_unconsumed(tracker: GroupTracker, log: Log, evidence: Evidence, found: Found,
                             cache: dict[int, list[int]], reported: set[tuple[str, int, int]]) -> None:
    """One pass per (group, partition): existing offsets below the highest ok commit that no member consumed."""
    for (name, pid), (highest, _, _) in sorted(tracker.highest.items()):
        group = tracker.groups[name]
        consumed = group.consumed.get(pid, set())
        if group.from_earliest:
            low = -1
        elif consumed:
            low = min(consumed) - 1
        else:
            continue
        missing = [o for o in log.existing_between(pid, low, highest, cache)
                   if o not in consumed and (name, pid, o) not in reported]
        if not missing:
            continue
        # The evidence is the first ok commit (in completion order) that moved the position past the records.
        done, committed, invoke = next(c for c in tracker.commits[(name, pid)] if c[1] > missing[0])
        ops = [invoke, done]
        how = f"the group committed offset {committed} (op {invoke}→{done})"
        found.setdefault("commit-past-unconsumed", []).append(evidence(
            "commit-past-unconsumed", ops,
            f"group {name!r}: {how}, but {len(missing)} record{'s' if len(missing) != 1 else ''} of "
            f"{log.name(pid)} below it ({evidence.offsets(missing)}) {'were' if len(missing) != 1 else 'was'} never "
            f"consumed by any member of the "
            f"group, before or after: its position passed them unread.",
            group=name, topic=log.partitions[pid][0], partition=log.partitions[pid][1], committed=committed,
            highest_commit=highest, skipped=len(missing), skipped_offsets=missing[:20],
            skipped_values=[log.value_at(pid, o) for o in missing[:20]]))

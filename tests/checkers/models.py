"""Histories generated from a correct model of a Kafka log, for property-based tests.

Queue: producers append to partition logs (ok = appended and acknowledged; info = maybe appended; fail = not),
markers take offsets that hold no record (as transaction markers do), consumers read contiguous records from
their positions, seek, and crash; a final consumer drains every partition. Txn: transactions run one at a time,
read every committed record after their position, write, and commit or abort (aborted records and markers take
offsets nobody reads). Mirror: active-active clusters joined by MirrorMaker 2, which may copy records twice.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.checkers.notation import History, poll, send


@dataclass
class QueueModel:
    rng: random.Random
    partitions: int
    h: History = field(default_factory=History)
    logs: list[list[tuple[int, int]]] = field(default_factory=list)  # partition -> (offset, value) records
    next_offset: list[int] = field(default_factory=list)
    value: int = 0
    next_process: int = 10

    def __post_init__(self) -> None:
        self.logs = [[] for _ in range(self.partitions)]
        self.next_offset = [0] * self.partitions

    def fresh(self) -> int:
        self.next_process += 1
        return self.next_process

    def append(self, p: int, value: int) -> int:
        offset = self.next_offset[p]
        self.logs[p].append((offset, value))
        self.next_offset[p] += 1
        return offset


def queue_history(seed: int, steps: int = 40, partitions: int = 2) -> History:
    rng = random.Random(seed)
    m = QueueModel(rng, partitions)
    producers = {k: k for k in range(3)}  # producer name index -> current process
    consumers: dict[int, list[int]] = {}  # process -> next index into each partition's records
    for _ in range(2):
        c = m.fresh()
        m.h.assign(c, *range(partitions))
        consumers[c] = [0] * partitions
    for _ in range(steps):
        kind = rng.choice(["send"] * 4 + ["poll"] * 3 + ["seek", "marker", "crash"])
        p = rng.randrange(partitions)
        if kind == "send":
            k = rng.randrange(3)
            m.value += 1
            outcome = rng.choices(["ok", "info", "fail"], [6, 1, 1])[0]
            if outcome == "ok":
                m.h.send(producers[k], m.value, at=(p, m.append(p, m.value)), producer=f"p{k}")
            else:
                if outcome == "info" and rng.random() < 0.5:
                    m.append(p, m.value)
                m.h.send(producers[k], m.value, outcome=outcome, producer=f"p{k}")
                if outcome == "info":
                    producers[k] = m.fresh()
        elif kind == "marker":
            m.next_offset[p] += 1
        elif kind == "poll":
            c = rng.choice(list(consumers))
            got: list[tuple[int, int, int]] = []
            for q in rng.sample(range(partitions), partitions):
                start = consumers[c][q]
                take = m.logs[q][start:start + rng.randrange(0, 4)]
                consumers[c][q] += len(take)
                got.extend((q, o, v) for o, v in take)
            m.h.poll(c, *got)
        elif kind == "seek":
            c = rng.choice(list(consumers))
            i = rng.randrange(len(m.logs[p]) + 1)
            offset = m.logs[p][i][0] if i < len(m.logs[p]) else m.next_offset[p]
            m.h.seek(c, p, offset)
            consumers[c][p] = i
        else:
            c = rng.choice(list(consumers))
            m.h.poll(c, outcome="info")
            del consumers[c]
            c = m.fresh()
            m.h.assign(c, *range(partitions))
            consumers[c] = [0] * partitions
    drainer = m.fresh()
    m.h.assign(drainer, *range(partitions))
    for q in range(partitions):
        for i in range(0, len(m.logs[q]), 3):
            m.h.poll(drainer, *((q, o, v) for o, v in m.logs[q][i:i + 3]))
    for q in range(partitions):
        m.h.drain(drainer, q, m.next_offset[q])
    return m.h


def txn_history(seed: int, txns: int = 25, partitions: int = 2) -> History:
    rng = random.Random(seed)
    m = QueueModel(rng, partitions)
    positions: dict[int, list[int]] = {k: [0] * partitions for k in range(3)}
    procs = list(positions)
    for _ in range(txns):
        slot = rng.randrange(len(procs))
        proc = procs[slot]
        ops: list[dict[str, Any]] = []
        before = list(positions[proc])
        for q in rng.sample(range(partitions), rng.randrange(partitions + 1)):
            got = m.logs[q][positions[proc][q]:]
            positions[proc][q] = len(m.logs[q])
            ops.append(poll(*((q, o, v) for o, v in got)))
        outcome = rng.choices(["ok", "fail", "info"], [8, 1, 1])[0]
        commits = outcome == "ok" or (outcome == "info" and rng.random() < 0.5)
        written = set()
        for _ in range(rng.randrange(1, 4)):
            q = rng.randrange(partitions)
            m.value += 1
            if commits:
                ops.append(send(m.value, at=(q, m.append(q, m.value))))
            else:
                m.next_offset[q] += 1  # an aborted record: takes an offset, never readable
                ops.append(send(m.value))
            written.add(q)
        for q in written:
            m.next_offset[q] += 1  # the commit or abort marker
        if outcome == "ok":
            m.h.txn(proc, ops)
        else:
            m.h.txn(proc, ops, outcome=outcome)
            positions[proc] = before
            if outcome == "info":
                procs[slot] = m.fresh()
                positions[procs[slot]] = [0] * partitions
    return m.h


def group_history(seed: int, auto_commit: bool, steps: int = 60, partitions: int = 2) -> tuple[History, int]:
    """A consumer group from offset 0 (`offset_reset: earliest`): members are handed records, process them
    (a `poll` op lists what was processed) some steps later, commit, crash, and their partitions move to another
    member, which resumes from the group's committed offset. Manual commits cover processed records only; with
    `auto_commit` the client commits what it handed out, processed or not. Returns the history and how many
    records no member ever processed sit below a commit (what at-least-once must report)."""
    rng = random.Random(seed)
    m = QueueModel(rng, partitions)
    h, g = m.h, "g"
    committed = [0] * partitions
    owner: dict[int, int] = {}  # partition -> member process
    handed: dict[int, int] = {}  # partition -> next offset the client hands out (its auto-stored offset)
    pending: dict[int, list[tuple[int, int, int]]] = {}  # member -> handed, unprocessed (partition, offset, value)
    processed: dict[int, int] = {}  # partition -> next offset after what its owner processed

    def join() -> int:
        member = m.fresh()
        h.subscribe(member, g, offset_reset="earliest")
        pending[member] = []
        return member

    def take(member: int, p: int) -> None:
        owner[p] = member
        handed[p] = processed[p] = committed[p]
        h.rebalance(member, [p])

    members = [join(), join()]
    for p in range(partitions):
        take(members[p % 2], p)
    dropped: set[tuple[int, int]] = set()  # handed to a member that crashed before processing, below a commit
    consumed: set[tuple[int, int]] = set()
    for _ in range(steps):
        action = rng.random()
        if action < 0.35:
            p = rng.randrange(partitions)
            offset = m.append(p, m.value)
            h.send(0, m.value, at=(p, offset))
            m.value += 1
        elif action < 0.6:  # a member is handed records, and processes the oldest ones
            member = rng.choice(members)
            for p in [p for p, o in owner.items() if o == member]:
                for offset, value in m.logs[p][handed[p]:handed[p] + rng.randint(0, 3)]:
                    pending[member].append((p, offset, value))
                    handed[p] = offset + 1
            k = rng.randint(0, 3)
            done, pending[member] = pending[member][:k], pending[member][k:]
            h.poll(member, *[(p, o, v) for p, o, v in done])
            for p, o, _ in done:
                processed[p] = o + 1
                consumed.add((p, o))
        elif action < 0.8:  # a commit
            member = rng.choice(members)
            mine = {p: (handed[p] if auto_commit else processed[p]) for p, o in owner.items() if o == member}
            if mine:
                h.commit(member, g, mine)
                for p, offset in mine.items():
                    committed[p] = offset
        else:  # a crash: pending records are never processed; a new member takes the partitions over
            crashed = rng.choice(members)
            dropped.update((p, o) for p, o, _ in pending[crashed] if o < committed[p])
            members[members.index(crashed)] = joined = join()
            for p in [p for p, o in owner.items() if o == crashed]:
                take(joined, p)
    for member in members:  # the run ends: live members finish processing what they were handed
        h.poll(member, *pending[member])
    final = join()  # reads every partition from the group's commits to the end
    for p in range(partitions):
        h.rebalance(final, [p])
        h.poll(final, *[(p, o, v) for o, v in m.logs[p][committed[p]:]])
    drainer = m.fresh()
    for p in range(partitions):
        h.assign(drainer, p)
        h.poll(drainer, *[(p, o, v) for o, v in m.logs[p]])
        h.drain(drainer, p, m.next_offset[p])
    return h, len(dropped - consumed)  # a record another member had processed before is not skipped


def mirror_history(seed: int, steps: int = 80, partitions: int = 2, clusters: tuple[str, ...] = ("dc1", "dc2"),
                   restarts: bool = True) -> tuple[History, dict[str, int]]:
    """Active-active clusters joined by a correct MirrorMaker 2: each cluster's producers append to its topic "t"
    (ok, info that may have appended, fail), a local consumer reads it, and for every other cluster MirrorMaker 2
    copies each partition, in order, into that cluster's remote topic "<source>.t" (same partition, its own
    offsets). It commits its source position now and then; a restart (`restarts`) goes back to the last commit
    and copies again, so records arrive twice. Mirror readers follow each remote topic. At the end everything is
    copied and read, and every local and remote partition is drained. Returns the history and, per flow
    ("dc1→dc2"), how many source records were copied more than once."""
    rng = random.Random(seed)
    h = History()
    processes = iter(range(1000, 10**6))
    logs = {c: [[] for _ in range(partitions)] for c in clusters}  # cluster -> partition -> values (offset = index)
    flows = [(source, target) for source in clusters for target in clusters if source != target]
    remote: dict[tuple[str, str], list[list[int]]] = {f: [[] for _ in range(partitions)] for f in flows}
    copied = {f: [0] * partitions for f in flows}  # next source offset MirrorMaker 2 copies
    committed = {f: [0] * partitions for f in flows}
    producers = {c: next(processes) for c in clusters}
    local = {c: next(processes) for c in clusters}
    local_read = {c: [0] * partitions for c in clusters}
    mirror_read = {f: [0] * partitions for f in flows}
    readers = {f: next(processes) for f in flows}
    value = 0
    for c in clusters:
        h.assign(local[c], *range(partitions), cluster=c)

    def copy(flow: tuple[str, str], p: int, n: int) -> None:
        source = logs[flow[0]][p]
        take = source[copied[flow][p]:copied[flow][p] + n]
        remote[flow][p].extend(take)
        copied[flow][p] += len(take)

    def read_mirror(flow: tuple[str, str], n: int) -> None:
        got = []
        for p in range(partitions):
            take = remote[flow][p][mirror_read[flow][p]:mirror_read[flow][p] + n]
            got += [(p, mirror_read[flow][p] + i, v) for i, v in enumerate(take)]
            mirror_read[flow][p] += len(take)
        h.mirror_poll(readers[flow], flow[1], flow[0], *got)

    def read_local(c: str, n: int) -> None:
        got = []
        for p in range(partitions):
            take = logs[c][p][local_read[c][p]:local_read[c][p] + n]
            got += [(p, local_read[c][p] + i, v) for i, v in enumerate(take)]
            local_read[c][p] += len(take)
        h.poll(local[c], *got, cluster=c)

    for _ in range(steps):
        kind = rng.choice(["send"] * 4 + ["copy"] * 3 + ["mirror-poll"] * 2 + ["poll", "restart"])
        flow = rng.choice(flows)
        p = rng.randrange(partitions)
        if kind == "send":
            c = rng.choice(clusters)
            value += 1
            outcome = rng.choices(["ok", "info", "fail"], [6, 1, 1])[0]
            if outcome == "ok":
                logs[c][p].append(value)
                h.send(producers[c], value, at=(p, len(logs[c][p]) - 1), producer=f"{c}-p", cluster=c)
            else:
                if outcome == "info" and rng.random() < 0.5:
                    logs[c][p].append(value)
                h.send(producers[c], value, outcome=outcome, producer=f"{c}-p", cluster=c)
                if outcome == "info":
                    producers[c] = next(processes)
        elif kind == "copy":
            copy(flow, p, rng.randrange(1, 4))
            if rng.random() < 0.5:
                committed[flow][p] = copied[flow][p]
        elif kind == "restart" and restarts:
            copied[flow] = list(committed[flow])
        elif kind == "mirror-poll":
            read_mirror(flow, rng.randrange(0, 3))
        elif kind == "poll":
            read_local(rng.choice(clusters), rng.randrange(0, 3))
    for c in clusters:  # the final reads, after every fault healed
        read_local(c, 10**6)
        for p in range(partitions):
            h.drain(local[c], p, len(logs[c][p]), cluster=c)
    twice = {}
    for flow in flows:
        for p in range(partitions):
            copy(flow, p, 10**6)
        read_mirror(flow, 10**6)
        for p in range(partitions):
            h.mirror_drain(readers[flow], flow[1], flow[0], p, len(remote[flow][p]))
        counts = Counter(v for part in remote[flow] for v in part)
        twice[f"{flow[0]}→{flow[1]}"] = sum(1 for n in counts.values() if n > 1)
    return h, twice


# ---- share groups (KIP-932) -----------------------------------------------------------------------------------

@dataclass
class ShareModel:
    """A correct share group over one partition: a record is available, acquired by one member, or settled
    (accepted, rejected, archived at the delivery limit). Each acquisition raises its delivery count; a lock may
    expire at any step, and the holder's later ack of that partition is then refused."""

    rng: random.Random
    limit: int = 3
    members: int = 3
    h: History = field(default_factory=History)
    count: dict[int, int] = field(default_factory=dict)  # offset -> delivery count
    state: dict[int, Any] = field(default_factory=dict)  # offset -> "available" | member | "settled"
    held: dict[int, list[int]] = field(default_factory=dict)  # member -> offsets of its last poll
    offset: int = 0

    def send(self) -> None:
        self.h.send(0, self.offset + 1000, at=(0, self.offset))
        self.state[self.offset], self.count[self.offset] = "available", 0
        self.offset += 1

    def release(self, offset: int) -> None:
        self.state[offset] = "settled" if self.count[offset] >= self.limit else "available"

    def poll(self, member: int, most: int = 3) -> None:
        free = [o for o in sorted(self.state) if self.state[o] == "available"][:self.rng.randint(0, most)]
        for o in free:
            self.state[o], self.count[o] = member, self.count[o] + 1
        self.held[member] = free
        self.h.share_poll(member, *((0, o, o + 1000, self.count[o]) for o in free))

    def expire(self) -> None:
        locked = [o for o, s in self.state.items() if isinstance(s, int) and not isinstance(s, bool)]
        if locked:
            self.release(self.rng.choice(locked))

    def ack(self, member: int, answers: tuple[str, ...] = ("accept", "release", "reject")) -> None:
        offsets = self.held.pop(member, [])
        if not offsets:
            return
        acks = [(0, o, self.rng.choice(answers)) for o in offsets]
        if any(self.state[o] != member for o in offsets):  # a lock expired: the partition's acks are refused
            self.h.share_ack(member, *acks, refused=(0,))
            for o in offsets:
                if self.state[o] == member:
                    self.release(o)  # ... and the rest of its locks run out later, here at once
            return
        self.h.share_ack(member, *acks)
        for _, o, kind in acks:
            if kind == "release":
                self.release(o)
            else:
                self.state[o] = "settled"


def share_history(seed: int, steps: int = 60, limit: int = 3) -> History:
    """Sends, polls, acks and lock expiries in random order, then a last member that accepts everything and a
    share drain once nothing is left."""
    m = ShareModel(random.Random(seed), limit=limit)
    for member in range(1, m.members + 1):
        m.h.share_subscribe(member, limit=limit)
    for _ in range(steps):
        step = m.rng.random()
        member = m.rng.randint(1, m.members)
        if step < 0.3:
            m.send()
        elif step < 0.4:
            m.expire()
        elif member in m.held:
            m.ack(member)
        else:
            m.poll(member)
    for member in list(m.held):
        m.ack(member)
    last = m.members + 1
    m.h.share_subscribe(last, limit=limit)
    while any(s == "available" for s in m.state.values()):
        m.poll(last, most=5)
        m.ack(last, ("accept",))
    m.h.share_drain(last)
    return m.h

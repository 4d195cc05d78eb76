"""Checker speed: a 1,000,000-line queue history against a bare json.loads loop, and 100,000 transactions.

    python benchmarks/checker.py [--lines 1000000] [--txns 100000] [--repeat 3]
    python benchmarks/checker.py --shapes all [--big] [--repeat 3]     # every named history shape, one row each
    python benchmarks/checker.py --shape issue --shape txn --repeat 1  # some of them (names: SHAPES)

Each measurement runs in a fresh subprocess (so peak RSS is the checker's own) and the median of `--repeat`
runs is reported. Targets (issue 4): queue check <= 3x the bare json.loads loop, peak <= 1.5 GB; 100k txns <= 10 s.
Issue 19: every shape <= 2x its own json.loads loop and <= 1 GB. The generated histories are deterministic and
valid (the measurement asserts that the checker says so); `--big` adds the default shape at 10,000,000 lines,
measured once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
MS = 1_000_000


class Writer:
    def __init__(self, path: Path) -> None:
        self.file = path.open("wb")
        self.index = 0

    def event(self, process: object, type_: str, f: str, value: object) -> None:
        self.file.write(orjson.dumps({"index": self.index, "time": self.index * MS // 10, "process": process,
                                      "type": type_, "f": f, "value": value}) + b"\n")
        self.index += 1

    def close(self) -> None:
        self.file.close()


def assign(w: Writer, consumers: Iterable[int], partitions: int) -> None:
    for c in consumers:
        w.event(c, "invoke", "assign", {"topic": "t", "partitions": list(range(partitions))})
        w.event(c, "ok", "assign", {"topic": "t", "partitions": list(range(partitions))})


def send(w: Writer, logs: list[list[int]], value: int) -> None:
    """Value `value` acknowledged by producer value % 4 at the end of partition value % partitions."""
    p, producer = value % len(logs), value % 4
    sent = {"topic": "t", "value": value, "producer": f"p{producer}", "partition": p}
    w.event(producer, "invoke", "send", sent)
    logs[p].append(value)
    w.event(producer, "ok", "send", {**sent, "offset": len(logs[p]) - 1})


def drain(w: Writer, logs: list[list[int]]) -> None:
    """Consumer 100 drains every partition to its log end."""
    for p, log in enumerate(logs):
        w.event(100, "invoke", "drain", {"topic": "t", "partition": p, "high_watermark": len(log)})
        w.event(100, "ok", "drain", {"topic": "t", "partition": p, "high_watermark": len(log)})


def queue_history(path: Path, lines: int, partitions: int = 3, seed: int = 1) -> None:
    """Like a run of the queue workload: 4 producers, 2 consumers reading everything, faults now and then."""
    rng = random.Random(seed)
    w = Writer(path)
    logs: list[list[int]] = [[] for _ in range(partitions)]
    read = {c: [0] * partitions for c in (100, 101)}
    assign(w, read, partitions)
    value, fault = 0, 0
    while w.index < lines - 2 * partitions - 10:
        roll = rng.random()
        if roll < 0.6:
            send(w, logs, value)
            value += 1
        elif roll < 0.9995:
            c = 100 + (w.index & 1)
            records = []
            for p in range(partitions):
                start = read[c][p]
                take = logs[p][start:start + rng.randrange(0, 3)]
                records += [{"topic": "t", "partition": p, "offset": start + i, "value": v} for i, v in enumerate(take)]
                read[c][p] += len(take)
            w.event(c, "invoke", "poll", None)
            w.event(c, "ok", "poll", {"records": records})
        else:
            name = rng.choice(["partition-dc", "kill"])
            for f in ("start", "stop"):
                w.event("nemesis", "invoke", f"{f}-{name}", {"nemesis": name, "fault": fault})
                w.event("nemesis", "info", f"{f}-{name}", {"nemesis": name, "fault": fault, "targets": ["n1"]})
            fault += 1
    # The final read: consumer 100 reads the rest of every partition, then drains it to its log end (a drain
    # below an acknowledged offset would be a truncated log, a lost write).
    rest = [{"topic": "t", "partition": p, "offset": o, "value": logs[p][o]}
            for p in range(partitions) for o in range(read[100][p], len(logs[p]))]
    w.event(100, "invoke", "poll", None)
    w.event(100, "ok", "poll", {"records": rest})
    drain(w, logs)
    w.close()


CHUNK = 500  # records a consumer's catch-up poll returns at most (max.poll.records' default)


@dataclass(frozen=True)
class QueueShape:
    """A queue history's shape: partitions and consumers; each round, `sends` sends round-robin over the
    partitions, then `polls` polls, each by the next consumer in turn, taking up to `records` new records (a random
    1..records, all partitions together). Every consumer reads everything; what it has not read when the history
    ends it reads in catch-up polls of at most CHUNK records (no real poll returns the whole log at once)."""

    partitions: int
    consumers: int
    sends: int
    polls: int
    records: int


def shaped_queue_history(path: Path, lines: int, shape: QueueShape, seed: int = 3) -> None:
    rng = random.Random(seed)
    w = Writer(path)
    partitions, consumers = shape.partitions, [100 + c for c in range(shape.consumers)]
    logs: list[list[int]] = [[] for _ in range(partitions)]
    read = {c: [0] * partitions for c in consumers}
    assign(w, consumers, partitions)
    value, turn = 0, 0

    def poll(c: int, budget: int, first: int) -> int:
        records: list[dict[str, int | str]] = []
        for k in range(partitions):
            p = (first + k) % partitions
            take = logs[p][read[c][p]:read[c][p] + budget - len(records)]
            records += [{"topic": "t", "partition": p, "offset": read[c][p] + i, "value": v}
                        for i, v in enumerate(take)]
            read[c][p] += len(take)
            if len(records) >= budget:
                break
        w.event(c, "invoke", "poll", None)
        w.event(c, "ok", "poll", {"records": records})
        return len(records)

    # Room for the catch-up polls and the drain: estimated from how far the consumers fall behind as we go.
    while w.index < lines - 2 * partitions - 10 - 2 * sum(
            (value - sum(read[c]) + CHUNK - 1) // CHUNK + 1 for c in consumers):
        for _ in range(shape.sends):
            send(w, logs, value)
            value += 1
        for _ in range(shape.polls):
            poll(consumers[turn % len(consumers)], rng.randrange(1, shape.records + 1), turn)
            turn += 1
    for c in consumers:  # each reads the rest
        while poll(c, CHUNK, 0):
            pass
    drain(w, logs)
    w.close()


def group_history(path: Path, lines: int, partitions: int = 12, members: int = 4, seed: int = 4) -> None:
    """A consumer group: `members` subscribe to group g; each round 16 sends, then every member polls its own
    partitions (up to 32 records) and commits what it read; every 200 rounds the partitions move one member on:
    each member commits, revokes all it holds, then each is assigned its new share at the next generation and
    resumes from the group's committed offsets. The members read the rest, and a drain ends it."""
    rng = random.Random(seed)
    w = Writer(path)
    group = [200 + m for m in range(members)]
    logs: list[list[int]] = [[] for _ in range(partitions)]
    committed = [0] * partitions
    position = [0] * partitions
    generation, shift = 1, 0

    def owned(m: int) -> list[int]:
        return [p for p in range(partitions) if (p + shift) % members == group.index(m)]

    def rebalance(m: int, assigned: list[int], revoked: list[int]) -> None:
        change = {"assigned": [["t", p] for p in assigned], "revoked": [["t", p] for p in revoked],
                  "member_id": f"m{m}", "generation": generation}
        w.event(m, "invoke", "rebalance", change)
        w.event(m, "ok", "rebalance", change)

    def poll_and_commit(m: int, budget: int) -> int:
        records: list[dict[str, int | str]] = []
        for p in owned(m):
            take = logs[p][position[p]:position[p] + budget - len(records)]
            records += [{"topic": "t", "partition": p, "offset": position[p] + i, "value": v}
                        for i, v in enumerate(take)]
            position[p] += len(take)
        w.event(m, "invoke", "poll", None)
        w.event(m, "ok", "poll", {"records": records})
        commit = {"group": "g", "offsets": [{"topic": "t", "partition": p, "offset": position[p]} for p in owned(m)],
                  "member_id": f"m{m}", "generation": generation}
        w.event(m, "invoke", "commit", commit)
        w.event(m, "ok", "commit", commit)
        for p in owned(m):
            committed[p] = position[p]
        return len(records)

    for m in group:
        sub = {"topics": ["t"], "group": "g", "offset_reset": "earliest"}
        w.event(m, "invoke", "subscribe", sub)
        w.event(m, "ok", "subscribe", sub)
    for m in group:
        rebalance(m, owned(m), [])
    value, rounds = 0, 0
    while w.index < lines - 4 * members * (1 + (value - sum(position)) // CHUNK) - 2 * partitions - 10:
        for _ in range(16):
            send(w, logs, value)
            value += 1
        for m in group:
            poll_and_commit(m, rng.randrange(1, 33))
        rounds += 1
        if rounds % 200 == 0:  # commit, revoke everything, then hand each member its next share
            for m in group:
                rebalance(m, [], owned(m))
            shift, generation = shift + 1, generation + 1
            for m in group:
                rebalance(m, owned(m), [])
            assert position == committed
    for m in group:  # each reads the rest of its partitions
        while poll_and_commit(m, CHUNK):
            pass
    drain(w, logs)
    w.close()


def txn_history(path: Path, txns: int, partitions: int = 4, seed: int = 2) -> None:
    """Consume-transform-produce: each transaction reads what is new in one partition and writes 1-3 values."""
    rng = random.Random(seed)
    w = Writer(path)
    logs: list[list[tuple[int, int]]] = [[] for _ in range(partitions)]
    next_offset = [0] * partitions
    position: dict[int, list[int]] = {k: [0] * partitions for k in range(8)}
    value = 0
    for _ in range(txns):
        process = rng.randrange(8)
        q = rng.randrange(partitions)
        got = logs[q][position[process][q]:]
        position[process][q] = len(logs[q])
        if len(got) > 50:  # the consumer seeks ahead and reads only the newest 50
            got = got[-50:]
            sought = {"topic": "t", "partition": q, "offset": got[0][0]}
            w.event(process, "invoke", "seek", sought)
            w.event(process, "ok", "seek", sought)
        ops: list[dict[str, object]] = [{"f": "poll", "records": [
            {"topic": "t", "partition": q, "offset": o, "value": v} for o, v in got]}]
        sends = []
        for _ in range(rng.randrange(1, 4)):
            p = rng.randrange(partitions)
            sends.append({"f": "send", "topic": "t", "value": value, "partition": p, "offset": next_offset[p]})
            logs[p].append((next_offset[p], value))
            next_offset[p] += 1
            value += 1
        for p in {int(str(s["partition"])) for s in sends}:
            next_offset[p] += 1  # the commit marker
        invoked = [{"f": "poll"}, *({k: s[k] for k in ("f", "topic", "value")} for s in sends)]
        w.event(process, "invoke", "txn", {"ops": invoked})
        w.event(process, "ok", "txn", {"ops": ops + sends})
    w.close()


# ---- measurement (each in a fresh process) -------------------------------------------------------------------

def measure(kind: str, path: str, workload: str) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    if kind == "json":
        with open(path, "rb") as handle:
            for line in handle:
                json.loads(line)
    elif kind == "orjson":
        with open(path, "rb") as handle:
            for line in handle:
                orjson.loads(line)
    else:
        sys.path.insert(0, str(ROOT))
        import checkers

        result = checkers.check_file(path, workload)
        assert result.valid is True, checkers.render_text(result)[:2000]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mb": peak_kb / 1024}))


def run(kind: str, path: Path, workload: str, repeat: int) -> tuple[float, float, float]:
    """(median wall seconds, median CPU seconds, highest peak RSS in MB) over `repeat` fresh processes."""
    seconds, cpus, peaks = [], [], []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--measure", kind, str(path), workload],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        data = json.loads(out.stdout)
        seconds.append(data["seconds"])
        cpus.append(data["cpu"])
        peaks.append(data["peak_mb"])
    return statistics.median(seconds), statistics.median(cpus), max(peaks)


@dataclass(frozen=True)
class Case:
    """One named history of the shapes table: its title, the workload it is checked as, and how to write it."""

    title: str
    workload: str
    write: Callable[[Path, int, int], None]  # (path, lines, txns)


def _queue(shape: QueueShape) -> Callable[[Path, int, int], None]:
    return lambda path, lines, txns: shaped_queue_history(path, lines, shape)


SHAPES: dict[str, Case] = {
    "default": Case("default: 3 partitions, 2 consumers, 0-2 records a partition a poll, faults", "queue",
                    lambda path, lines, txns: queue_history(path, lines)),
    "p3": Case("3 partitions, 2 consumers, 4 sends a round, <= 8 records a poll", "queue",
               _queue(QueueShape(3, 2, 4, 2, 8))),
    "p64": Case("64 partitions, 2 consumers, 64 sends a round, <= 128 records a poll", "queue",
                _queue(QueueShape(64, 2, 64, 2, 128))),
    "r1": Case("8 partitions, 2 consumers, 1 record a poll", "queue", _queue(QueueShape(8, 2, 1, 2, 1))),
    "r500": Case("8 partitions, 2 consumers, 250 sends a round, <= 500 records a poll", "queue",
                 _queue(QueueShape(8, 2, 250, 2, 500))),
    "issue": Case("8 partitions, a poll every 8 sends, <= 8 records (issue 19)", "queue",
                  _queue(QueueShape(8, 2, 8, 1, 8))),
    "c32": Case("16 partitions, 32 consumers, 32 sends a round, <= 64 records a poll", "queue",
                _queue(QueueShape(16, 32, 32, 32, 64))),
    "txn": Case("txn: consume-transform-produce, --txns transactions", "txn",
                lambda path, lines, txns: txn_history(path, txns)),
    "group": Case("group: 4 members, 12 partitions, commit after each poll, a rebalance every 200 rounds", "group",
                  lambda path, lines, txns: group_history(path, lines)),
}
BIG = Case("default shape, 10,000,000 lines (--big)", "queue",
           lambda path, lines, txns: queue_history(path, 10_000_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--txns", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shape", action="append", default=[], choices=sorted(SHAPES),
                        help="measure this named history shape (repeatable), one table row each")
    parser.add_argument("--shapes", choices=["all"], help="measure every named shape")
    parser.add_argument("--big", action="store_true", help="with --shape/--shapes: add the 10,000,000-line queue "
                        "history (measured once, whatever --repeat says)")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    if args.shapes or args.shape or args.big:
        names = list(SHAPES) if args.shapes == "all" else args.shape
        shapes([SHAPES[n] for n in names] + ([BIG] if args.big else []), args.lines, args.txns, args.repeat)
        return
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; wall and CPU seconds are medians "
          f"of {args.repeat} fresh processes", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        queue = Path(tmp) / "queue.jsonl"
        queue_history(queue, args.lines)
        size = os.path.getsize(queue) / 1e6
        bare, bare_cpu, bare_peak = run("json", queue, "queue", args.repeat)
        fast, fast_cpu, _ = run("orjson", queue, "queue", args.repeat)
        checked, checked_cpu, peak = run("check", queue, "queue", args.repeat)
        print(f"queue history: {args.lines:,} lines, {size:.0f} MB")
        print(f"  bare json.loads loop    {bare:6.2f} s wall {bare_cpu:6.2f} s CPU  (peak {bare_peak:.0f} MB)")
        print(f"  bare orjson.loads loop  {fast:6.2f} s wall {fast_cpu:6.2f} s CPU")
        print(f"  check_file (queue)      {checked:6.2f} s wall {checked_cpu:6.2f} s CPU  peak {peak:.0f} MB")
        print(f"  ratio check / json.loads loop = {checked / bare:.2f}x wall, {checked_cpu / bare_cpu:.2f}x CPU "
              f"(target <= 3x); peak {peak:.0f} MB (target <= 1536 MB)", flush=True)
        txn = Path(tmp) / "txn.jsonl"
        txn_history(txn, args.txns)
        txn_bare, txn_bare_cpu, _ = run("json", txn, "txn", args.repeat)
        txn_time, txn_cpu, txn_peak = run("check", txn, "txn", args.repeat)
        print(f"txn history: {args.txns:,} transactions, {os.path.getsize(txn) / 1e6:.0f} MB")
        print(f"  bare json.loads loop    {txn_bare:6.2f} s wall {txn_bare_cpu:6.2f} s CPU")
        print(f"  check_file (txn)        {txn_time:6.2f} s wall {txn_cpu:6.2f} s CPU  peak {txn_peak:.0f} MB "
              f"(target <= 10 s)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def shapes(cases: list[Case], lines: int, txns: int, repeat: int) -> None:
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; wall seconds are medians of "
          f"{repeat} fresh processes each; ratio = check / bare json.loads loop over the same file", flush=True)
    print("| shape | lines | MB | json.loads loop (s) | check (s) | ratio wall | ratio CPU | check peak RSS (MB) | "
          "loop peak RSS (MB) | load |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            path = Path(tmp) / "history.jsonl"
            case.write(path, lines, txns)
            _row(case, path, 1 if case is BIG else repeat)
            path.unlink()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _row(case: Case, path: Path, repeat: int) -> None:
    with path.open("rb") as handle:
        count = sum(1 for _ in handle)
    bare, bare_cpu, bare_peak = run("json", path, case.workload, repeat)
    checked, checked_cpu, peak = run("check", path, case.workload, repeat)
    print(f"| {case.title} | {count:,} | {os.path.getsize(path) / 1e6:.0f} | {bare:.2f} | {checked:.2f} | "
          f"{checked / bare:.2f}x | {checked_cpu / bare_cpu:.2f}x | {peak:.0f} | {bare_peak:.0f} | "
          f"{os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()

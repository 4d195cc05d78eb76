"""Checker speed: a 1,000,000-line queue history against a bare json.loads loop, and 100,000 transactions.

    python benchmarks/checker.py [--lines 1000000] [--txns 100000] [--repeat 3]

Each measurement runs in a fresh subprocess (so peak RSS is the checker's own) and the median of `--repeat`
runs is reported. Targets (issue 4): queue check <= 3x the bare json.loads loop, peak <= 1.5 GB; 100k txns <= 10 s.
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


def queue_history(path: Path, lines: int, partitions: int = 3, seed: int = 1) -> None:
    """Like a run of the queue workload: 4 producers, 2 consumers reading everything, faults now and then."""
    rng = random.Random(seed)
    w = Writer(path)
    logs: list[list[int]] = [[] for _ in range(partitions)]
    read = {c: [0] * partitions for c in (100, 101)}
    for c in read:
        w.event(c, "invoke", "assign", {"topic": "t", "partitions": list(range(partitions))})
        w.event(c, "ok", "assign", {"topic": "t", "partitions": list(range(partitions))})
    value, fault = 0, 0
    while w.index < lines - 2 * partitions - 10:
        roll = rng.random()
        if roll < 0.6:
            p, producer = value % partitions, value % 4
            sent = {"topic": "t", "value": value, "producer": f"p{producer}", "partition": p}
            w.event(producer, "invoke", "send", sent)
            logs[p].append(value)
            w.event(producer, "ok", "send", {**sent, "offset": len(logs[p]) - 1})
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
    for p in range(partitions):
        w.event(100, "invoke", "drain", {"topic": "t", "partition": p, "high_watermark": len(logs[p])})
        w.event(100, "ok", "drain", {"topic": "t", "partition": p, "high_watermark": len(logs[p])})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--txns", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
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


if __name__ == "__main__":
    main()

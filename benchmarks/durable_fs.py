"""What the durable filesystem (infra/durable_fs) costs: sends/s and ack latency with and without it.

    flock /tmp/harness-cluster.lock nice -n 5 python benchmarks/durable_fs.py [--seconds 30] [--repeat 1] [--rate 100]

Each measurement is one `harness run --nemesis none` of the default cluster (3 DCs, RF 3, min.insync 2,
acks=all, idempotent) at the workload's default rate, once on the containers' own disks and once with
`--durable-fs` (every broker's data dir on the filesystem), alternated --repeat times. From each history: the
acknowledged sends per second over the fault window, and the median and p99 of invoke -> ok of every
acknowledged send. The run's own verdict must be valid: an unhealthy cluster is a failed measurement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.history import op_fields, read_events  # noqa: E402


def measure(history: Path) -> dict[str, float]:
    invoked: dict[object, float] = {}
    latencies: list[float] = []
    acked_at: list[float] = []
    for line, event in read_events(history):
        _, time_ns, process, kind, f = op_fields(line, event)
        if f != "send":
            continue
        if kind == "invoke":
            invoked[process] = float(time_ns)
        elif kind == "ok" and process in invoked:
            latencies.append((float(time_ns) - invoked.pop(process)) / 1e6)
            acked_at.append(float(time_ns) / 1e9)
        else:
            invoked.pop(process, None)
    latencies.sort()
    span = (acked_at[-1] - acked_at[0]) if len(acked_at) > 1 else float("nan")
    return {"acked": len(latencies), "sends_per_s": len(latencies) / span,
            "p50_ms": latencies[len(latencies) // 2], "p99_ms": latencies[int(len(latencies) * 0.99)]}


def one_run(durable: bool, seconds: float, rate: float | None, root: Path) -> dict[str, float]:
    results = root / ("durable" if durable else "plain")
    argv = [sys.executable, "-m", "harness.cli.main", "run", "--nemesis", "none", "--time-limit", f"{seconds:g}",
            "--results-dir", str(results), "--seed", "1"] + (["--rate", f"{rate:g}"] if rate else []) + (
            ["--durable-fs"] if durable else [])
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"harness run{' --durable-fs' if durable else ''} exited {done.returncode}:\n"
                         + done.stderr[-2000:])
    history = max(results.rglob("history.jsonl"), key=lambda p: p.stat().st_mtime)
    return measure(history)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rate", type=float, help="sends/s asked (default: the workload's default)")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "durable": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for durable in (False, True):
                runs["durable" if durable else "plain"].append(one_run(durable, args.seconds, args.rate, Path(tmp)))
    summary = {name: {key: statistics.median(r[key] for r in rs) for key in rs[0]} for name, rs in runs.items()}
    summary["ratio"] = {key: summary["durable"][key] / summary["plain"][key] for key in ("sends_per_s", "p99_ms")}
    print(json.dumps({"runs": runs, "median": summary}, indent=2))


if __name__ == "__main__":
    main()

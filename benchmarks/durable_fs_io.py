"""The durable filesystem's own cost, without Kafka or Docker: Kafka-like appends on the FUSE mount against the
same appends on the backing directory's filesystem.

    nice -n 19 python benchmarks/durable_fs_io.py [--seconds 5] [--size 1024]

Two loops, each --seconds long, each on a fresh file: `append` (write() of --size bytes at the end, as a broker
appends a batch; no fsync, the default flush settings) and `append+fsync` (each append fsynced, as with
log.flush.interval.messages=1). Reported: operations per second and the median and p99 latency of one
operation, on the backing dir and through the mount, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra import host_processes  # noqa: E402
from infra.durable_fs import disks  # noqa: E402


def loop(path: Path, seconds: float, size: int, fsync: bool) -> dict[str, float]:
    data = os.urandom(size)
    latencies = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        end = time.monotonic() + seconds
        while (start := time.monotonic()) < end:
            os.write(fd, data)
            if fsync:
                os.fsync(fd)
            latencies.append(time.monotonic() - start)
    finally:
        os.close(fd)
    latencies.sort()
    return {"ops_per_s": len(latencies) / seconds, "p50_us": latencies[len(latencies) // 2] * 1e6,
            "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        disks.DISK_ROOT = Path(tmp) / "disks"
        host_processes.STATE_ROOT = Path(tmp) / "state"
        run = disks.DurableDisks("kj-bench-io")
        try:
            disk = run.mount("bench")
            plain_dir = Path(tmp) / "plain"
            plain_dir.mkdir()
            out: dict[str, dict[str, dict[str, float]]] = {}
            for name, fsync in (("append", False), ("append+fsync", True)):
                plain = loop(plain_dir / name, args.seconds, args.size, fsync)
                durable = loop(disk.mount / name, args.seconds, args.size, fsync)
                out[name] = {"backing dir": plain, "durable fs": durable,
                             "ratio": {k: durable[k] / plain[k] for k in plain}}
        finally:
            problems = run.teardown()
    print(json.dumps({"size": args.size, "seconds": args.seconds, "loops": out, "teardown": problems}, indent=2))


if __name__ == "__main__":
    main()

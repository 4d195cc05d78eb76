"""Sends per second of the two clients, and what recording the history costs each of them.

    flock /tmp/harness-cluster.lock python benchmarks/clients.py [--seconds 20] [--repeat 3] [--rate 300]
        [--client librdkafka|java]

One default cluster (3 DCs, RF 3, min.insync 2, acks=all, idempotent), no faults, no consumers, 6 producer
processes each with one send outstanding (the queue workload's producers), on one topic. The
loops, run --repeat times (every other time in reverse order), medians reported:

- paced: --rate sends/s asked of each client through the workload the harness runs (librdkafka: QueueWorkload
  in this process; java: the driver in its container, its stream recorded by the harness);
- unpaced, recorded: the same workloads with no pacing (each producer sends again as soon as its ack arrives);
- unpaced, bare: the same client loops without any history: QueueWorkload with a recorder that does nothing
  (NullHistory), and the Java driver with recording=false (no line written, no stream read: it only counts,
  and reports the count when it stops);
- java unpaced, recorded through docker exec: the driver's events on the exec stream's stdout instead of the
  FIFO the harness reads from the container's filesystem (infra/event_pipe.py), the path when the Docker engine
  is not on this host.

Recording overhead = 1 - recorded / bare (unpaced sends/s), of the medians, and the median of each repeat's
own recorded / bare (the loops run back to back, so a slow phase of the machine hits both). Target (issue 15):
<= 20 % for both clients.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.topology import default_topology  # noqa: E402
from harness.runner import librdkafka_client  # noqa: E402
from infra import engine, image, java_driver  # noqa: E402
from infra.admin import Admin  # noqa: E402
from infra.cluster import Cluster, new_run_id  # noqa: E402
from infra.event_pipe import TRANSPORT_EXEC, TRANSPORT_FIFO  # noqa: E402
from infra.recorder import ClientHistory, HistoryRecorder  # noqa: E402
from workloads.java_queue import JavaQueueWorkload  # noqa: E402
from workloads.options import ClientOptions
from workloads.queue import QueueWorkload  # noqa: E402

UNPACED = 1_000_000.0  # sends/s asked: the loops never wait for their next slot


def quiet_logger() -> logging.Logger:
    logger = logging.getLogger("bench.clients")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger


def librdkafka_recorded(options: ClientOptions, bootstrap: str, seconds: float, run_id: str) -> float:
    with tempfile.TemporaryDirectory() as tmp, HistoryRecorder(Path(tmp) / "h.jsonl") as history:
        workload = QueueWorkload(options, bootstrap, ClientHistory(history, librdkafka_client()), run_id,
                                 quiet_logger())
        workload.start()
        time.sleep(seconds)
        workload.stop()
        return history.counts.get(("send", "ok"), 0) / seconds


class NullHistory:
    """The recorder's interface doing nothing but count ok sends: QueueWorkload's own loop without a history."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self._processes = itertools.count()
        self._lock = threading.Lock()

    def new_process(self) -> int:
        return next(self._processes)

    def record(self, process: object, type_: str, f: str, value: object, error: str | None = None) -> int:
        if type_ == "ok" and f == "send":
            with self._lock:  # the workload's threads share it, as they share the recorder
                self.counts[("send", "ok")] = self.counts.get(("send", "ok"), 0) + 1
        return 0

    def invoke(self, process: object, f: str, value: object) -> int:
        return 0


def librdkafka_bare(options: ClientOptions, bootstrap: str, seconds: float) -> float:
    """The same producer code (QueueWorkload's lanes), its history calls doing nothing."""
    history = NullHistory()
    workload = QueueWorkload(options, bootstrap, history, "b", quiet_logger())  # type: ignore[arg-type]
    workload.start()
    time.sleep(seconds)
    workload.stop()
    return history.counts.get(("send", "ok"), 0) / seconds


class ExecOnly:
    """The client container without `host_path`: the driver's events come on the docker exec stream, as they do
    when the engine is not on this host (the A/B of infra/event_pipe.py)."""

    def __init__(self, machine: object) -> None:
        self._machine = machine

    def __getattr__(self, name: str) -> object:
        if name == "host_path":
            raise AttributeError(name)
        return getattr(self._machine, name)


def java_run(options: ClientOptions, cluster: Cluster, libs: Path, seconds: float, run_id: str,
             recording: bool, machine: object, transport: str = TRANSPORT_FIFO) -> float:
    with tempfile.TemporaryDirectory() as tmp, HistoryRecorder(Path(tmp) / "h.jsonl") as history:
        workload = JavaQueueWorkload(options, cluster.bootstrap_servers, history, run_id, quiet_logger(),
                                     machine, libs, image.DEFAULT_KAFKA_VERSION, librdkafka_client(),
                                     recording=recording)
        workload.start()
        assert workload.transport == transport, f"the events came through {workload.transport}, not {transport}"
        time.sleep(seconds)
        workload.stop()
        if recording:
            return history.counts.get(("send", "ok"), 0) / seconds
        assert workload.stream.bye is not None, "the bare driver reports its counters when it stops"
        return float(workload.stream.bye["acknowledged"]) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--client", choices=("librdkafka", "java"),
                        help="run only this client's loops (an A/B of one client's recording path)")
    args = parser.parse_args()
    client = engine.connect()
    tag = image.ensure_image(client)
    libs = java_driver.driver_libs(image.DEFAULT_KAFKA_VERSION)
    topology = default_topology()
    results: dict[str, list[float]] = {}
    with Cluster(client, topology, tag, new_run_id()) as cluster:
        admin = Admin(cluster.bootstrap_servers)
        admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=180)
        machine = cluster.add_client("client-java")
        admin.create_topic("bench", 3, 3, {"min.insync.replicas": "2"})  # one topic: the loops never read it
        admin.wait_fully_replicated("bench", 3, timeout=120)

        def options(rate: float) -> ClientOptions:
            return replace(ClientOptions(), topic="bench", rate=rate, concurrency=args.concurrency, consumers=0)

        loops = {
            "librdkafka paced": lambda o: librdkafka_recorded(o, cluster.bootstrap_servers, args.seconds, "b"),
            "java paced": lambda o: java_run(o, cluster, libs, args.seconds, "b", True, machine),
            "librdkafka unpaced recorded": lambda o: librdkafka_recorded(o, cluster.bootstrap_servers,
                                                                         args.seconds, "b"),
            "librdkafka unpaced bare": lambda o: librdkafka_bare(o, cluster.bootstrap_servers, args.seconds),
            "java unpaced recorded": lambda o: java_run(o, cluster, libs, args.seconds, "b", True, machine),
            "java unpaced bare": lambda o: java_run(o, cluster, libs, args.seconds, "b", False, machine),
            "java unpaced recorded, docker exec": lambda o: java_run(o, cluster, libs, args.seconds, "b", True,
                                                                     ExecOnly(machine), TRANSPORT_EXEC),
        }
        if args.client:
            loops = {name: loop for name, loop in loops.items() if name.startswith(args.client)}
        for repeat in range(args.repeat):
            # every other repeat runs the loops in reverse, so no loop always follows the same one (a loop
            # right after another starts on brokers that loop has just warmed or loaded)
            for name, loop in (list(loops.items()) if repeat % 2 == 0 else list(loops.items())[::-1]):
                rate = args.rate if "paced" in name and "unpaced" not in name else UNPACED
                sends_per_s = loop(options(rate))
                results.setdefault(name, []).append(round(sends_per_s, 1))
                print(f"{name}: {sends_per_s:.1f} sends/s", file=sys.stderr, flush=True)
    medians = {name: statistics.median(runs) for name, runs in results.items()}
    summary = {
        "rate": args.rate, "concurrency": args.concurrency, "seconds": args.seconds, "runs": results,
        "medians": medians,
        "overhead": {c: round(1 - medians[f"{c} unpaced recorded"] / medians[f"{c} unpaced bare"], 3)
                     for c in ("librdkafka", "java") if f"{c} unpaced bare" in medians},
        # each repeat's recorded against the bare loop right after it: the machine's slow phases hit both
        "overhead_paired_median": {
            c: round(1 - statistics.median(r / b for r, b in zip(results[f"{c} unpaced recorded"],
                                                                   results[f"{c} unpaced bare"], strict=True)), 3)
            for c in ("librdkafka", "java") if f"{c} unpaced bare" in results},
    }
    if "java unpaced recorded, docker exec" in medians:
        summary["overhead"]["java, docker exec"] = round(
            1 - medians["java unpaced recorded, docker exec"] / medians["java unpaced bare"], 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

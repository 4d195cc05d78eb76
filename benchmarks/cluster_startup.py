"""Cluster start-up and image build times.

    python benchmarks/cluster_startup.py [--runs 3] [--cold]

healthy: from the start of `harness up` (containers created) until every broker registered and a fresh
topic (3 partitions, RF 3) has a leader and a full ISR everywhere; median of --runs, image warm.
warm image: ensure_image when everything is cached. --cold first removes the node images and the cached
Kafka jars (not Maven's own ~/.m2 cache), so the cold figure is debootstrap + jar copy + docker build.
Targets (issue 3): healthy <= 45 s, cold build <= 6 min, warm <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.topology import default_topology  # noqa: E402
from infra import (
    engine,
    image,  # noqa: E402
)
from infra.admin import Admin  # noqa: E402
from infra.cluster import Cluster, new_run_id  # noqa: E402


def cold_build(client) -> float:
    for tag in (image.kafka_tag(image.DEFAULT_KAFKA_VERSION), image.base_tag()):
        if image.image_exists(client, tag):
            client.images.remove(tag, force=True)
    shutil.rmtree(image.cache_dir() / f"kafka-{image.DEFAULT_KAFKA_VERSION}", ignore_errors=True)
    started = time.monotonic()
    image.ensure_image(client)
    return time.monotonic() - started


def healthy_once(client, tag: str) -> float:
    topology = default_topology()
    started = time.monotonic()
    with Cluster(client, topology, tag, new_run_id()) as cluster:
        admin = Admin(cluster.bootstrap_servers)
        admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=120)
        admin.create_topic("bench", 3, 3, {"min.insync.replicas": "2"})
        admin.wait_fully_replicated("bench", 3, timeout=60)
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    client = engine.connect()
    result: dict[str, object] = {}
    if args.cold:
        result["cold_build_s"] = round(cold_build(client), 1)
    started = time.monotonic()
    tag = image.ensure_image(client)
    result["warm_image_s"] = round(time.monotonic() - started, 2)
    runs = [healthy_once(client, tag) for _ in range(args.runs)]
    result["healthy_s_runs"] = [round(r, 1) for r in runs]
    result["healthy_s_median"] = round(statistics.median(runs), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

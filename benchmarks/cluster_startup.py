"""Cluster start-up and image build times.

    python benchmarks/cluster_startup.py [--runs 3] [--cold] [--kafka-versions 3.9.1,4.3.1]

healthy: from the start of `harness up` (containers created) until every broker registered and a fresh
topic (3 partitions, RF 3) has a leader and a full ISR everywhere; median of --runs, image warm.
warm image: ensure_image when everything is cached. --cold first removes the node images and the cached
Kafka jars (not Maven's own ~/.m2 cache), so the cold figure is debootstrap + jar copy + docker build.
Targets (issue 3): healthy <= 45 s, cold build <= 6 min, warm <= 5 s. --kafka-versions measures healthy (and
warm image) per release, alternating releases run by run so a slow spell of the machine hits them alike; the
default is the default release only.
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

from core import kafka_versions  # noqa: E402
from core.topology import default_topology  # noqa: E402
from infra import (
    engine,
    image,  # noqa: E402
)
from infra.admin import Admin  # noqa: E402
from infra.cluster import Cluster, new_run_id  # noqa: E402


def cold_build(client, version: str) -> float:
    for tag in (image.kafka_tag(version), image.base_tag()):
        if image.image_exists(client, tag):
            client.images.remove(tag, force=True)
    for jars in image.cache_dir().glob(f"kafka-{version}-*"):  # keyed by the rendered POM's hash too
        shutil.rmtree(jars, ignore_errors=True)
    started = time.monotonic()
    image.ensure_image(client, version)
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
    parser.add_argument("--kafka-versions", default=kafka_versions.DEFAULT)
    args = parser.parse_args()
    versions = kafka_versions.parse_list(args.kafka_versions)
    client = engine.connect()
    result: dict[str, dict[str, object]] = {v: {} for v in versions}
    if args.cold:
        for version in versions:
            result[version]["cold_build_s"] = round(cold_build(client, version), 1)
    tags = {}
    for version in versions:
        started = time.monotonic()
        tags[version] = image.ensure_image(client, version)
        result[version]["warm_image_s"] = round(time.monotonic() - started, 2)
    runs: dict[str, list[float]] = {v: [] for v in versions}
    for _ in range(args.runs):
        for version in versions:
            runs[version].append(healthy_once(client, tags[version]))
    for version in versions:
        result[version]["healthy_s_runs"] = [round(r, 1) for r in runs[version]]
        result[version]["healthy_s_median"] = round(statistics.median(runs[version]), 1)
    print(json.dumps(result if len(versions) > 1 else result[versions[0]]))


if __name__ == "__main__":
    main()

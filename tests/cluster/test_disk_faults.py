"""Disk faults on a real cluster whose brokers' data dirs are the durable filesystem: each fault reaches Kafka's
own I/O (its stop reports operations it hit), `disk-slow` slows acknowledgements, `disk-full` and `disk-eio` show
up in the victim broker's own log as the errno the filesystem answered, and heal leaves every broker running and
every replica back in sync."""

from __future__ import annotations

import random
import statistics
import time

import pytest
from confluent_kafka import Producer

from core.topology import default_topology
from core.waiting import wait_until
from infra.admin import Admin
from infra.cluster import Cluster, new_run_id
from infra.kafka_config import LOG_DIR
from nemesis import registry
from nemesis.base import NemesisContext

pytestmark = pytest.mark.cluster
TOPIC = "disk-probe"


def ack_latencies(bootstrap: str, count: int) -> list[float]:
    """Send `count` records one at a time (each waits for its acknowledgement): seconds each took, or inf."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "delivery.timeout.ms": 20000})
    latencies = []
    for value in range(count):
        outcome: list[bool] = []
        started = time.monotonic()
        producer.produce(TOPIC, value=str(value).encode(),
                         on_delivery=lambda err, _m, seen=outcome: seen.append(err is None))
        producer.flush(30)
        latencies.append(time.monotonic() - started if outcome == [True] else float("inf"))
    return latencies


def broker_log_count(cluster: Cluster, broker: str, text: str) -> int:
    result = cluster.nodes[broker].remote.exec(f"grep -c '{text}' {LOG_DIR}/server.log", check=False)
    return int(result.stdout.strip() or 0)


def test_disk_faults_reach_kafka_and_heal_brings_every_broker_back(docker_client, node_image):
    topology = default_topology()
    with Cluster(docker_client, topology, node_image, new_run_id(), durable_fs=True) as cluster:
        bootstrap = cluster.bootstrap_servers
        admin = Admin(bootstrap)
        admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=180)
        admin.create_topic(TOPIC, 3, 3, {"min.insync.replicas": "2"})
        admin.wait_fully_replicated(TOPIC, 3, timeout=90)
        ctx = NemesisContext(topology, cluster.nodes, cluster.addresses, random.Random(4),
                             bootstrap_servers=bootstrap, topic=TOPIC, disks=cluster.disks)
        baseline = statistics.median(ack_latencies(bootstrap, 20))

        (slow,) = registry.parse("disk-slow")
        fault = slow.start(ctx)
        slowed = statistics.median(ack_latencies(bootstrap, 20))
        report = slow.stop(ctx, fault)
        assert report["hits"][fault.targets[0]] > 0 and report["restarted"] == []
        assert slowed >= 0.2 > baseline, (baseline, slowed)  # every ack waits for the victim's delayed write

        for name, errno_text in (("disk-full", "No space left on device"), ("disk-eio", "Input/output error")):
            (nemesis,) = registry.parse(name)
            fault = nemesis.start(ctx)
            (victim,) = fault.targets
            before = broker_log_count(cluster, victim, errno_text)
            ack_latencies(bootstrap, 10)  # the victim replicates these: its writes fail
            wait_until(lambda v=victim, t=errno_text, b=before: broker_log_count(cluster, v, t) > b, 60,
                       f"{victim}'s log to report {errno_text!r}")
            report = nemesis.stop(ctx, fault)
            assert report["hits"][victim] > 0
            admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=120)
            admin.wait_fully_replicated(TOPIC, 3, timeout=180)  # healed: the victim is back in every ISR
            assert all(cluster.nodes[b.name].status() == "running" for b in topology.brokers)

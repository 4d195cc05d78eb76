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
from core.waiting import WaitTimeout, wait_until
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
            # Counted before the fault: the KRaft metadata log takes a record every few hundred ms, so the
            # victim can fail its write and halt before a count taken after start() (CI saw it once).
            counts = {b.name: broker_log_count(cluster, b.name, errno_text) for b in topology.brokers}
            fault = nemesis.start(ctx)
            (victim,) = fault.targets
            before = counts[victim]
            ack_latencies(bootstrap, 10)  # the victim replicates these: its writes fail
            try:
                wait_until(lambda v=victim, t=errno_text, b=before: broker_log_count(cluster, v, t) > b, 60,
                           f"{victim}'s log to report {errno_text!r}")
            except WaitTimeout as timeout:  # say what the victim did instead, so a failure explains itself
                errors = f"grep -E 'ERROR|FATAL|Exception' {LOG_DIR}/server.log | grep -v '^\\s*at ' | tail -n 12"
                tail = cluster.nodes[victim].remote.exec(errors, check=False).stdout
                raise AssertionError(f"{timeout}; status {cluster.nodes[victim].status()}, "
                                     f"hits {ctx.disks[victim].stats()['hits']}; log tail:\n{tail}") from None
            report = nemesis.stop(ctx, fault)
            assert report["hits"][victim] > 0
            admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=120)
            admin.wait_fully_replicated(TOPIC, 3, timeout=180)  # healed: the victim is back in every ISR
            assert all(cluster.nodes[b.name].status() == "running" for b in topology.brokers)

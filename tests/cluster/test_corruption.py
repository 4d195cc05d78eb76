"""Segment corruption on a real cluster: after `corrupt-p0-followers` flips a byte in a closed segment of every
follower of partition 0 and its leader is killed, a follower leads with the bad batch: a consumer that checks
CRCs is refused the batch, and one that does not (librdkafka's default) is handed a value no producer sent."""

from __future__ import annotations

import dataclasses
import random
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from core.topology import default_topology
from core.waiting import wait_until
from infra.admin import Admin
from infra.cluster import Cluster, new_run_id
from nemesis import registry
from nemesis.base import NemesisContext

pytestmark = pytest.mark.cluster
TOPIC = "corruption-probe"


def produce(bootstrap: str, values: range) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5})
    acked: list[bool] = []
    for value in values:
        producer.produce(TOPIC, value=str(value).encode(), partition=0,
                         on_delivery=lambda err, _msg: acked.append(err is None))
    producer.flush(60)
    assert acked.count(True) == len(values)


def read_all(bootstrap: str, check_crcs: bool, until: int) -> tuple[list[bytes], list[str]]:
    """Partition 0 from offset 0 until `until` records or 30 s: (values, error texts)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{check_crcs}",
                         "enable.auto.commit": False, "check.crcs": check_crcs})
    consumer.assign([TopicPartition(TOPIC, 0, 0)])
    values: list[bytes] = []
    errors: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while len(values) < until and time.monotonic() < deadline and not errors:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    errors.append(str(message.error()))
                continue
            values.append(message.value())
    finally:
        consumer.close()
    return values, errors


def test_a_corrupted_follower_that_becomes_leader_serves_its_bad_batch(docker_client, node_image):
    topology = dataclasses.replace(default_topology(), broker_config=(("log.roll.ms", 2000),))
    with Cluster(docker_client, topology, node_image, new_run_id()) as cluster:
        bootstrap = cluster.bootstrap_servers
        admin = Admin(bootstrap)
        admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=180)
        admin.create_topic(TOPIC, 1, 3, {"min.insync.replicas": "2"})
        admin.wait_fully_replicated(TOPIC, 3, timeout=90)
        produce(bootstrap, range(0, 200))
        time.sleep(3)  # older than log.roll.ms: the next append rolls the segment on every replica
        produce(bootstrap, range(200, 400))
        ctx = NemesisContext(topology, cluster.nodes, cluster.addresses, random.Random(2),
                             bootstrap_servers=bootstrap, topic=TOPIC)
        (corrupt,) = registry.parse("corrupt-p0-followers")
        fault = corrupt.start(ctx)
        assert fault.took_effect, fault.details
        assert len(fault.details["corrupted"]) == 2  # both followers had a closed segment to corrupt
        for done in fault.details["corrupted"]:
            remote = cluster.nodes[done["broker"]].remote
            byte = remote.exec(f"od -An -tu1 -j{done['position']} -N1 {done['segment']}").stdout.split()
            assert [int(b) for b in byte] == [done["byte"][1]]  # the byte on disk is the flipped one

        (kill,) = registry.parse("kill-p0-leader")
        killed = kill.start(ctx)
        dead = {b.node_id for b in topology.brokers if b.name in killed.targets}
        wait_until(lambda: any(p.partition == 0 and p.leader >= 0 and p.leader not in dead
                               for p in admin.partitions(TOPIC)), 60, "a corrupted follower to lead partition 0")

        values, errors = read_all(bootstrap, check_crcs=False, until=400)
        assert not errors and len(values) == 400
        non_numbers = [v for v in values if not v.isdigit()]
        assert non_numbers, "the corrupted value was not served"
        assert all(any(chr(c).isalpha() for c in v) for v in non_numbers)

        _, errors = read_all(bootstrap, check_crcs=True, until=400)
        assert errors and any("crc" in e.lower() or "corrupt" in e.lower() for e in errors), errors
        kill.stop(ctx, killed)

"""Power loss on a real cluster whose brokers' data dirs are the durable filesystem: acknowledged records that
no fsync covered are really gone from every replica after `power-loss-all`, the brokers come back, and with
log.flush.interval.messages=1 nothing is dropped."""

from __future__ import annotations

import dataclasses
import os
import random

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from core.topology import default_topology
from infra.admin import Admin
from infra.cluster import Cluster, new_run_id
from nemesis import registry
from nemesis.base import NemesisContext

pytestmark = pytest.mark.cluster
TOPIC = "power-probe"


def produce(bootstrap: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    acked = []
    for i in range(count):
        producer.produce(TOPIC, value=str(i).encode(), partition=0,
                         on_delivery=lambda err, _msg: acked.append(err is None))
    producer.flush(60)
    assert acked.count(True) == count  # every record acknowledged by all three replicas


def end_offset(bootstrap: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe", "enable.auto.commit": False})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=20)
        return int(high)
    finally:
        consumer.close()


def power_loss_all(docker_client, node_image, broker_config=()):  # type: ignore[no-untyped-def]
    topology = dataclasses.replace(default_topology(), broker_config=tuple(broker_config))
    with Cluster(docker_client, topology, node_image, new_run_id(), durable_fs=True) as cluster:
        admin = Admin(cluster.bootstrap_servers)
        admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=180)
        admin.create_topic(TOPIC, 1, 3, {"min.insync.replicas": "2"})
        admin.wait_fully_replicated(TOPIC, 3, timeout=90)
        assert all(os.path.ismount(d.mount) for d in cluster.disks.values())
        produce(cluster.bootstrap_servers, 500)
        before = end_offset(cluster.bootstrap_servers)
        ctx = NemesisContext(topology, cluster.nodes, cluster.addresses, random.Random(1),
                             bootstrap_servers=cluster.bootstrap_servers, topic=TOPIC, disks=cluster.disks)
        (nemesis,) = registry.parse("power-loss-all")
        fault = nemesis.start(ctx)
        nemesis.stop(ctx, fault)
        admin.wait_fully_replicated(TOPIC, 3, timeout=180)  # every broker back, with what its disk kept
        return fault, before, end_offset(cluster.bootstrap_servers)


def test_power_loss_of_every_node_drops_acknowledged_records_that_no_fsync_covered(docker_client, node_image):
    fault, before, after = power_loss_all(docker_client, node_image)
    assert before == 500
    assert fault.details["bytes_dropped"] > 0 and fault.took_effect
    assert after < before  # acknowledged by all three replicas, gone from all three


@pytest.mark.slow  # make test-all: make test keeps the unsafe half (bytes really lost)
def test_with_an_fsync_per_message_the_same_power_loss_keeps_every_record(docker_client, node_image):
    fault, before, after = power_loss_all(docker_client, node_image, [("log.flush.interval.messages", 1)])
    assert after == before == 500

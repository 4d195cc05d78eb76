"""Does acks=1 lose acknowledged writes when a partition leader is cut off (a zombie leader)? A user's test.

The cluster comes from the kafka_cluster fixture (the harness's pytest plugin), the producers are ordinary
confluent-kafka code, each send recorded in a history; `check` judges the history afterwards.

    pytest examples/pytest           # one test passes (acks=all), one fails with the lost writes (acks=1)
"""

import threading
import time
from contextlib import contextmanager

import pytest
from confluent_kafka import Producer

from harness.api import check

pytestmark = pytest.mark.kafka_cluster(topology="stretch-3dc")  # 3 DCs, a broker and a controller in each

PARTITIONS = 3
# The zombie leader keeps acknowledging acks=1 writes; the controller elects another leader once the zombie
# missed its heartbeats for broker.session.timeout.ms (9 s). Holding the fault 20 s leaves it 10 s of writes
# that the new leader never saw, and that the old one truncates when it rejoins.
FAULT_SECONDS = 20


@contextmanager
def producers(kafka_cluster, history, topic, acks):
    """One producer per partition, each sending unique integers with one send outstanding, until the block ends."""
    stop = threading.Event()

    def send_loop(partition):
        producer = Producer({"bootstrap.servers": kafka_cluster.bootstrap_servers, "acks": acks,
                             "enable.idempotence": acks == "all", "linger.ms": 0,
                             "request.timeout.ms": 3000, "delivery.timeout.ms": 5000})
        value = partition
        while not stop.is_set():
            with history.op(f"producer-{partition}", "send", {"topic": topic, "value": value}) as op:
                producer.produce(topic, str(value).encode(), partition=partition, on_delivery=op.delivery_report)
                producer.flush(10)  # the delivery report completes the op; none in time: it stays unknown
            value += PARTITIONS
            stop.wait(0.02)

    threads = [threading.Thread(target=send_loop, args=(p,)) for p in range(PARTITIONS)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def write_through_a_zombie_leader(kafka_cluster, path, topic, acks):
    kafka_cluster.create_topic(topic, partitions=PARTITIONS, config={"min.insync.replicas": "2"})
    with kafka_cluster.recorder(path) as history:
        with producers(kafka_cluster, history, topic, acks):
            time.sleep(3)
            with kafka_cluster.fault("partition-leader", topic=topic):
                time.sleep(FAULT_SECONDS)
            time.sleep(3)
        # Read every partition to its high watermark once every replica is back in sync.
        history.drain(topic, healed=kafka_cluster.wait_fully_replicated(topic))
    return history


def test_acks_all_keeps_every_acknowledged_write(kafka_cluster, tmp_path):
    history = write_through_a_zombie_leader(kafka_cluster, tmp_path / "history.jsonl", "safe", acks="all")
    assert check(history).valid


def test_acks_1_keeps_every_acknowledged_write(kafka_cluster, tmp_path):
    # It does not: this test fails, printing the lost writes with the ops that prove them (see README.md).
    history = write_through_a_zombie_leader(kafka_cluster, tmp_path / "history.jsonl", "acks1", acks="1")
    assert check(history).valid

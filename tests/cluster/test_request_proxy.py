"""The request proxy against a real broker: clients bootstrapped through it are told only proxy addresses, and
a Produce held by `delay-produce` reaches the broker (and is acknowledged) only when the fault is released."""

import random
import time

import orjson
import pytest
from confluent_kafka import Producer

from core.topology import uniform
from core.waiting import wait_until
from infra.admin import Admin
from infra.cluster import Cluster, new_run_id
from infra.recorder import HistoryRecorder
from nemesis import registry
from nemesis.base import NemesisContext
from nemesis.schedule import NemesisSchedule

pytestmark = pytest.mark.cluster
TOPIC = "request-probe"
HOLD = 3.0


def test_a_held_produce_is_acknowledged_only_after_release(docker_client, node_image, tmp_path):
    topology = uniform(1, 1, 1, name="one-broker")
    with Cluster(docker_client, topology, node_image, new_run_id(), request_proxy=True) as cluster:
        admin = Admin(cluster.bootstrap_servers)  # direct: the admin client is never held
        admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=120)
        admin.create_topic(TOPIC, 1, 1, {"min.insync.replicas": "1"})
        admin.wait_fully_replicated(TOPIC, 1, timeout=60)
        proxy = cluster.request_proxy
        assert proxy is not None
        bootstrap = cluster.client_bootstraps()["main"]
        assert bootstrap == proxy.address(topology.brokers[0].name)
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                             "request.timeout.ms": 15000, "delivery.timeout.ms": 30000})
        advertised = {f"{b.host}:{b.port}" for b in producer.list_topics(timeout=10).brokers.values()}
        assert advertised == {bootstrap}  # metadata through the proxy names the proxy, so every request passes it

        acked: list[float] = []

        def send() -> float:
            acked.clear()
            began = time.monotonic()
            producer.produce(TOPIC, b"x", on_delivery=lambda err, msg: acked.append(time.monotonic())
                             if err is None else None)
            return began

        began = send()
        producer.flush(10)
        assert acked and acked[0] - began < HOLD / 2  # unheld: fast

        ctx = NemesisContext(topology, cluster.nodes, cluster.addresses, random.Random(1),
                             bootstrap_servers=cluster.bootstrap_servers, topic=TOPIC, requests=proxy)
        with HistoryRecorder(tmp_path / "h.jsonl") as history:
            schedule = NemesisSchedule([], ctx, history, 99)
            schedule.inject(registry.parse("delay-produce")[0])
            began = send()
            wait_until(lambda: proxy.holding() >= 1, 10, "the Produce held", interval=0.05)
            deadline = began + HOLD
            while time.monotonic() < deadline:
                producer.poll(0.1)
            assert acked == []  # still held: no acknowledgement
            released = time.monotonic()
            schedule.final_heal()
            producer.flush(10)
        assert acked and acked[0] - began >= HOLD and acked[0] >= released
        assert schedule.injected == 1
        stops = [e for e in map(orjson.loads, (tmp_path / "h.jsonl").read_bytes().splitlines())
                 if e["f"] == "stop-delay-produce" and e["type"] == "info"]
        assert stops[0]["value"]["held"]["0"] >= 1 and stops[0]["value"]["effective"] is True
        print(f"held Produce acknowledged {acked[0] - began:.2f} s after it was sent (hold {HOLD} s)")

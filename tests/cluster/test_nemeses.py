"""Every nemesis against one shared real cluster: the fault really happens (a node cannot reach its peer,
the process is gone or stopped, the JVM's clock moved) and heal really undoes it."""

import random
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from core.topology import default_topology
from core.waiting import wait_until
from infra.admin import Admin
from infra.cluster import Cluster, new_run_id
from infra.host_processes import HostProcesses
from infra.kafka_config import BROKER_PORT, CONTROLLER_PORT
from nemesis import registry, targets
from nemesis.base import NemesisContext

pytestmark = pytest.mark.cluster
TOPIC = "nemesis-probe"


@pytest.fixture(scope="module")
def ctx(docker_client, node_image):
    topology = default_topology()
    run_id = new_run_id()
    with Cluster(docker_client, topology, node_image, run_id, clock_control=True) as cluster:
        admin = Admin(cluster.bootstrap_servers)
        admin.wait_brokers({b.node_id for b in topology.brokers}, timeout=120)
        admin.create_topic(TOPIC, 3, 3, {"min.insync.replicas": "2"})
        admin.wait_fully_replicated(TOPIC, 3, timeout=60)
        host = HostProcesses(run_id)
        yield NemesisContext(topology, cluster.nodes, cluster.addresses, random.Random(7),
                             bootstrap_servers=cluster.bootstrap_servers, topic=TOPIC, host=host)
        host.stop_all()


def port_of(ctx, name):
    return BROKER_PORT if ctx.topology.node(name).is_broker else CONTROLLER_PORT


def reaches(ctx, source, target):
    command = f"nc -z -w 2 {ctx.addresses[target]} {port_of(ctx, target)}"
    return ctx.nodes[source].remote.exec(command, check=False, timeout=10).ok


def nemesis(name):
    (n,) = registry.parse(name)
    return n


def healthy(ctx):
    Admin(ctx.bootstrap_servers).wait_fully_replicated(TOPIC, 3, timeout=90)


def test_partition_node_cuts_both_directions_and_heals(ctx):
    n = nemesis("partition-node")
    fault = n.start(ctx)
    victim = fault.details["isolated"]
    other = next(x for x in ctx.nodes if x != victim)
    try:
        assert not reaches(ctx, victim, other)
        assert not reaches(ctx, other, victim)
    finally:
        n.stop(ctx, fault)
    assert reaches(ctx, victim, other) and reaches(ctx, other, victim)


def test_partition_leader_isolates_it_from_brokers_and_controllers_but_not_from_clients(ctx):
    n = nemesis("partition-leader")
    fault = n.start(ctx)
    (leader,) = fault.targets[:1] if fault.details["isolated"] == fault.targets[0] else (fault.details["isolated"],)
    try:
        assert all(not reaches(ctx, other, leader) for other in ctx.nodes if other != leader)
        # The host (where clients run) is in no grudge: it still talks to the isolated leader.
        producer = Producer({"bootstrap.servers": f"{ctx.addresses[leader]}:{BROKER_PORT}"})
        assert producer.list_topics(timeout=10).brokers, "a client still reaches the zombie leader"
    finally:
        n.stop(ctx, fault)
    healthy(ctx)


def test_partition_controller_isolates_the_active_quorum_leader_and_the_quorum_recovers(ctx):
    n = nemesis("partition-controller")
    (before,) = targets.active_controller(ctx)
    fault = n.start(ctx)
    assert fault.details["isolated"] == before
    try:
        # The other controllers elect a new leader among themselves (KRaft fetch timeout is 2 s).
        others = [c.name for c in ctx.topology.controllers if c.name != before]
        wait_until(lambda: {name: v for name, v in targets.quorum_views(ctx).items() if name in others}
                   and all(v[0] >= 0 and ctx.topology.node(before).node_id != v[0]
                           for name, v in targets.quorum_views(ctx).items() if name in others),
                   30, "the majority side to elect another controller")
    finally:
        n.stop(ctx, fault)
    healthy(ctx)


def test_kill_stops_the_jvm_and_heal_restarts_it(ctx):
    n = nemesis("kill-leader")
    fault = n.start(ctx)
    (victim,) = fault.targets
    assert ctx.nodes[victim].status() == "stopped"
    n.stop(ctx, fault)
    assert ctx.nodes[victim].status() == "running"
    healthy(ctx)


def test_pause_stops_the_jvm_and_heal_resumes_it(ctx):
    n = nemesis("pause")
    fault = n.start(ctx)
    (victim,) = fault.targets
    assert ctx.nodes[victim].status() == "paused"
    n.stop(ctx, fault)
    assert ctx.nodes[victim].status() == "running"
    healthy(ctx)


def test_kill_dc_takes_down_the_whole_dc(ctx):
    n = nemesis("kill-dc")
    fault = n.start(ctx)
    dcs = {ctx.topology.node(t).dc for t in fault.targets}
    assert len(dcs) == 1 and len(fault.targets) == 2  # its broker and its controller
    assert all(ctx.nodes[t].status() == "stopped" for t in fault.targets)
    n.stop(ctx, fault)
    assert all(ctx.nodes[t].status() == "running" for t in fault.targets)
    healthy(ctx)


def test_clock_bump_moves_the_brokers_wall_clock_without_a_restart(ctx):
    broker = ctx.topology.brokers[0]
    admin = Admin(ctx.bootstrap_servers)
    topic = "clock-probe"
    admin.create_topic(topic, 1, 1, {"message.timestamp.type": "LogAppendTime"},
                       replica_assignment=[[broker.node_id]])
    node = ctx.nodes[broker.name]
    pid_before = node.remote.exec("cat /opt/harness/kafka.pid").stdout
    node.set_clock("+1d")
    try:
        time.sleep(2.5)  # libfaketime re-reads the offset at most once a second
        producer = Producer({"bootstrap.servers": ctx.bootstrap_servers})
        producer.produce(topic, b"tick")
        assert producer.flush(30) == 0
        consumer = Consumer({"bootstrap.servers": ctx.bootstrap_servers, "group.id": "clock-probe"})
        consumer.assign([TopicPartition(topic, 0, 0)])
        msg = consumer.poll(30)
        consumer.close()
        assert msg is not None and msg.error() is None
        _, append_ms = msg.timestamp()
        skew_s = append_ms / 1000 - time.time()
        assert 86_400 - 60 < skew_s < 86_400 + 60, f"broker stamped the record {skew_s:.0f} s from now"
    finally:
        node.reset_clock()
    assert node.remote.exec("cat /opt/harness/kafka.pid").stdout == pid_before, "no restart was needed"


def test_rolling_restart_restarts_every_broker(ctx):
    pids = {b.name: ctx.nodes[b.name].remote.exec("cat /opt/harness/kafka.pid").stdout for b in ctx.topology.brokers}
    n = nemesis("rolling-restart")
    fault = n.start(ctx)
    assert sorted(fault.targets) == sorted(pids)
    for name, pid in pids.items():
        assert ctx.nodes[name].status() == "running"
        assert ctx.nodes[name].remote.exec("cat /opt/harness/kafka.pid").stdout != pid
    healthy(ctx)

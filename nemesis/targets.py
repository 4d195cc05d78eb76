"""Who a fault hits: a random broker, the leader of a test partition, the active KRaft controller, a DC.

Leaders and the active controller are asked of Kafka at the moment of the fault (never cached), so a fault
follows leadership as it moves. A target that does not exist right now (no leader elected, no quorum) is a
TargetUnavailable, which the schedule records as a failed fault and heals.
"""

from __future__ import annotations

import json

from infra.admin import Admin
from infra.kafka_config import DATA_DIR
from nemesis.base import NemesisContext

QUORUM_STATE = f"{DATA_DIR}/__cluster_metadata-0/quorum-state"


class TargetUnavailable(RuntimeError):
    pass


def random_broker(ctx: NemesisContext) -> list[str]:
    return [ctx.rng.choice([b.name for b in ctx.topology.brokers])]


def random_node(ctx: NemesisContext) -> list[str]:
    return [ctx.rng.choice([n.name for n in ctx.topology.nodes])]


def random_dc(ctx: NemesisContext) -> list[str]:
    dc = ctx.rng.choice(ctx.topology.dc_names())
    return [n.name for n in ctx.topology.in_dc(dc)]


def partition_leader(ctx: NemesisContext) -> list[str]:
    """The broker leading a random partition of the test topic."""
    if not ctx.bootstrap_servers or not ctx.topic:
        raise TargetUnavailable("no test topic to find a leader of")
    partitions = [p for p in Admin(ctx.bootstrap_servers).partitions(ctx.topic) if p.leader >= 0]
    if not partitions:
        raise TargetUnavailable(f"no partition of {ctx.topic} has a leader right now")
    leader = ctx.rng.choice(partitions).leader
    for broker in ctx.topology.brokers:
        if broker.node_id == leader:
            return [broker.name]
    raise TargetUnavailable(f"leader {leader} is not a broker of this topology")


def group_coordinator(ctx: NemesisContext) -> list[str]:
    """The broker that is the group coordinator of the run's consumer group (the first by id, if several)."""
    if not ctx.bootstrap_servers:
        raise TargetUnavailable("no bootstrap servers to ask for the group coordinator")
    try:
        coordinators = Admin(ctx.bootstrap_servers).group_coordinators()
    except Exception as error:  # the admin request timed out or the cluster is down: no target now
        raise TargetUnavailable(f"could not ask for the group coordinator: {error}") from None
    if not coordinators:
        raise TargetUnavailable("no consumer group of this run exists yet")
    return brokers_named(ctx, [coordinators[min(coordinators)]])


SHARE_STATE_TOPIC = "__share_group_state"


def java_string_hash(text: str) -> int:
    """Java's String.hashCode (UTF-16 code units, 32-bit signed overflow)."""
    data = text.encode("utf-16-be")
    h = 0
    for high, low in zip(data[::2], data[1::2], strict=True):
        h = (31 * h + (high << 8 | low)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def share_state_partition(group: str, topic_id: str, partition: int, state_partitions: int) -> int:
    """The `__share_group_state` partition that keeps the state of one share-partition (Kafka 4.x's
    ShareCoordinatorService.partitionFor: abs(hashCode of "group:topicId:partition") mod the partition count,
    with Utils.abs mapping Integer.MIN_VALUE to 0)."""
    h = java_string_hash(f"{group}:{topic_id}:{partition}")
    return (0 if h == -(1 << 31) else abs(h)) % state_partitions


def share_coordinator(ctx: NemesisContext) -> list[str]:
    """The share coordinator of a random test partition: the leader of the `__share_group_state` partition that
    keeps the run's share group's state for it."""
    if not ctx.bootstrap_servers or not ctx.topic or not ctx.share_group:
        raise TargetUnavailable("no share group in this run (the share workload has one)")
    admin = Admin(ctx.bootstrap_servers)
    try:
        topic_id = admin.topic_id(ctx.topic)
        state = {p.partition: p.leader for p in admin.partitions(SHARE_STATE_TOPIC)}
        partitions = [p.partition for p in admin.partitions(ctx.topic)]
    except Exception as error:  # the admin request timed out or the cluster is down: no target now
        raise TargetUnavailable(f"could not ask for the share coordinator: {error}") from None
    if not state or not partitions:
        raise TargetUnavailable(f"{SHARE_STATE_TOPIC} does not exist yet (no share group has state)")
    leader = state.get(share_state_partition(ctx.share_group, topic_id, ctx.rng.choice(partitions), len(state)), -1)
    if leader < 0:
        raise TargetUnavailable(f"that {SHARE_STATE_TOPIC} partition has no leader right now")
    return brokers_named(ctx, [leader])


def _partition_zero(ctx: NemesisContext) -> tuple[int, tuple[int, ...]]:
    if not ctx.bootstrap_servers or not ctx.topic:
        raise TargetUnavailable("no test topic")
    for p in Admin(ctx.bootstrap_servers).partitions(ctx.topic):
        if p.partition == 0:
            return p.leader, p.replicas
    raise TargetUnavailable(f"partition 0 of {ctx.topic} is unknown")


def brokers_named(ctx: NemesisContext, ids: list[int]) -> list[str]:
    names = [b.name for b in ctx.topology.brokers if b.node_id in ids]
    if len(names) != len(ids):
        raise TargetUnavailable(f"brokers {ids} are not all in this topology")
    return names


def leader_of_partition_zero(ctx: NemesisContext) -> list[str]:
    """Scenarios need the same partition in every step: these two always mean partition 0 of the test topic."""
    leader, _ = _partition_zero(ctx)
    if leader < 0:
        raise TargetUnavailable(f"partition 0 of {ctx.topic} has no leader right now")
    return brokers_named(ctx, [leader])


def dc_of_partition_zero_leader(ctx: NemesisContext) -> list[str]:
    """Every node of the DC whose broker leads partition 0 (a DC disaster where it hurts)."""
    (leader,) = leader_of_partition_zero(ctx)
    dc = next(b.dc for b in ctx.topology.brokers if b.name == leader)
    return [n.name for n in ctx.topology.in_dc(dc)]


def dc_holding_most_of_partition_zero(ctx: NemesisContext) -> list[str]:
    """Every node of the DC that holds the most replicas of partition 0 (ties: the leader's DC): in a two-DC
    stretch with RF 3, the DC whose loss takes a majority of the replicas."""
    leader, replicas = _partition_zero(ctx)
    dc_of = {b.node_id: b.dc for b in ctx.topology.brokers}
    counts: dict[str, int] = {}
    for replica in replicas:
        if replica in dc_of:
            counts[dc_of[replica]] = counts.get(dc_of[replica], 0) + 1
    if not counts:
        raise TargetUnavailable(f"no replica of partition 0 of {ctx.topic} is a broker of this topology")
    most = max(counts.values())
    tied = sorted(dc for dc, count in counts.items() if count == most)
    dc = dc_of.get(leader) if dc_of.get(leader) in tied else tied[0]
    return [n.name for n in ctx.topology.in_dc(str(dc))]


def followers_of_partition_zero(ctx: NemesisContext) -> list[str]:
    leader, replicas = _partition_zero(ctx)
    return brokers_named(ctx, [r for r in replicas if r != leader])


def quorum_views(ctx: NemesisContext) -> dict[str, tuple[int, int]]:
    """Each reachable controller's (leader id, epoch) from its Raft quorum-state file."""
    views: dict[str, tuple[int, int]] = {}
    for controller in ctx.topology.controllers:
        result = ctx.nodes[controller.name].remote.exec(f"cat {QUORUM_STATE}", check=False, timeout=10)
        if result.ok:
            try:
                state = json.loads(result.stdout)
                views[controller.name] = (int(state.get("leaderId", -1)), int(state.get("leaderEpoch", -1)))
            except ValueError:
                continue
    return views


def active_controller(ctx: NemesisContext) -> list[str]:
    """The KRaft leader as the controllers with the highest epoch see it; in ZooKeeper mode the broker that
    is the controller (what the brokers' metadata says, which in ZooKeeper mode is the elected one)."""
    if ctx.topology.mode == "zookeeper":
        return [_controller_broker(ctx)]
    views = quorum_views(ctx)
    known = [(epoch, leader) for leader, epoch in views.values() if leader >= 0]
    if not known:
        raise TargetUnavailable("no controller reports a quorum leader")
    _, leader = max(known)
    for controller in ctx.topology.controllers:
        if controller.node_id == leader:
            return [controller.name]
    raise TargetUnavailable(f"quorum leader {leader} is not a controller of this topology")


def _controller_broker(ctx: NemesisContext) -> str:
    if not ctx.bootstrap_servers:
        raise TargetUnavailable("no bootstrap servers to ask for the controller")
    controller = Admin(ctx.bootstrap_servers).controller_id()
    if controller < 0:
        raise TargetUnavailable("no broker reports a controller right now")
    return brokers_named(ctx, [controller])[0]

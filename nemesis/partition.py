"""Network partitions applied with iptables inside each node: one chain of our own, flushed to heal.

Each node drops inbound packets from the peers in its grudge. Dropping on input at both ends of a symmetric
grudge cuts the link both ways; clients on the host (not in any grudge) keep reaching every node.
"""

from __future__ import annotations

from collections.abc import Callable

from nemesis import targets
from nemesis.base import NO_REQUIREMENTS, Fault, NemesisContext, Requirements
from nemesis.grudge import Grudge, bridge, components, halves, isolate_dc, isolate_one, majorities_ring, sever

CHAIN = "HARNESS-PARTITION"


def _ensure_chain(ctx: NemesisContext, node: str) -> None:
    ctx.nodes[node].remote.exec(
        f"iptables -w -N {CHAIN} 2>/dev/null || true; "
        f"iptables -w -C INPUT -j {CHAIN} 2>/dev/null || iptables -w -I INPUT -j {CHAIN}")


def apply_grudge(ctx: NemesisContext, grudge: Grudge) -> None:
    for node, peers in sorted(grudge.items()):
        if not peers:
            continue
        _ensure_chain(ctx, node)
        rules = "; ".join(f"iptables -w -A {CHAIN} -s {ctx.addresses[p]} -j DROP" for p in sorted(peers))
        ctx.nodes[node].remote.exec(f"set -e; {rules}")


def heal_node(ctx: NemesisContext, node: str) -> None:
    ctx.nodes[node].remote.exec(f"iptables -w -F {CHAIN} 2>/dev/null || true")


class PartitionNemesis:
    def __init__(self, name: str, description: str,
                 choose: Callable[[NemesisContext], tuple[Grudge, dict[str, str]]],
                 requires: Requirements = NO_REQUIREMENTS) -> None:
        self.name = name
        self.description = description
        self._choose = choose
        self.requires = requires

    def start(self, ctx: NemesisContext) -> Fault:
        grudge, about = self._choose(ctx)
        try:
            apply_grudge(ctx, grudge)
        except Exception:
            for node in grudge:
                heal_node(ctx, node)
            raise
        targets = tuple(sorted(node for node, peers in grudge.items() if peers))
        return Fault(self.name, targets, {**about, "components": components(grudge)})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            heal_node(ctx, node)

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in ctx.nodes:
            heal_node(ctx, node)


def _all_nodes(ctx: NemesisContext) -> list[str]:
    return [n.name for n in ctx.topology.nodes]


def _isolated_dc(ctx: NemesisContext) -> tuple[Grudge, dict[str, str]]:
    dc = ctx.rng.choice(ctx.topology.dc_names())
    return isolate_dc(ctx.topology, dc), {"isolated": dc}


def _isolated_node(ctx: NemesisContext) -> tuple[Grudge, dict[str, str]]:
    victim = ctx.rng.choice(_all_nodes(ctx))
    return isolate_one(_all_nodes(ctx), victim), {"isolated": victim}


def partition_dc() -> PartitionNemesis:
    return PartitionNemesis(
        "partition-dc", "cut one random DC (brokers and controllers) off from the other DCs, both directions",
        _isolated_dc, Requirements(dcs=2, why="with one DC there is no other DC to cut it off from"))


def partition_node() -> PartitionNemesis:
    return PartitionNemesis("partition-node", "cut one random node off from every other node", _isolated_node,
                            Requirements(nodes=2, why="a single node has no one to be cut off from"))


def partition_halves() -> PartitionNemesis:
    return PartitionNemesis("partition-halves", "split all nodes into two random halves",
                            lambda ctx: (halves(_all_nodes(ctx), ctx.rng), {}),
                            Requirements(nodes=2, why="a single node cannot be split in two"))


def _isolated_target(choose: Callable[[NemesisContext], list[str]]) -> Callable[
        [NemesisContext], tuple[Grudge, dict[str, str]]]:
    def grudge_for(ctx: NemesisContext) -> tuple[Grudge, dict[str, str]]:
        (victim,) = choose(ctx)
        return isolate_one(_all_nodes(ctx), victim), {"isolated": victim}

    return grudge_for


def partition_leader() -> PartitionNemesis:
    # Clients on the host are in no grudge, so they keep reaching the isolated leader: the zombie-leader case.
    return PartitionNemesis(
        "partition-leader", "cut the leader of a random test partition off from every other broker and "
        "controller while clients still reach it (zombie leader)", _isolated_target(targets.partition_leader))


def partition_p0_leader() -> PartitionNemesis:
    return PartitionNemesis(
        "partition-p0-leader", "cut the leader of partition 0 off from every other broker and controller while "
        "clients still reach it (zombie leader; the same partition in every step of a scenario)",
        _isolated_target(targets.leader_of_partition_zero))


def _isolated_controller(ctx: NemesisContext) -> tuple[Grudge, dict[str, str]]:
    if ctx.topology.mode != "zookeeper":
        return _isolated_target(targets.active_controller)(ctx)
    # ZooKeeper mode, the classic case: the controller broker loses ZooKeeper but still reaches the brokers.
    (victim,) = targets.active_controller(ctx)
    return sever(victim, [z.name for z in ctx.topology.zookeepers]), {"isolated": victim, "from": "zookeeper"}


def partition_controller() -> PartitionNemesis:
    return PartitionNemesis(
        "partition-controller", "cut the active KRaft controller off from the other controllers and the brokers; "
        "in ZooKeeper mode, cut the controller broker off from ZooKeeper only", _isolated_controller)


def _controller_from_quorum(ctx: NemesisContext) -> tuple[Grudge, dict[str, str]]:
    (victim,) = targets.active_controller(ctx)
    peers = [n.name for n in ctx.topology.quorum if n.name != victim]
    return sever(victim, peers), {"isolated": victim, "from": "quorum"}


def partition_controller_quorum() -> PartitionNemesis:
    # KAFKA-15489: before 3.7 an isolated KRaft leader never resigned while the others elected a new one.
    return PartitionNemesis(
        "partition-controller-quorum", "cut the active controller off from the rest of the metadata quorum only "
        "(KRaft: the other voters; ZooKeeper mode: the ZooKeeper servers) while the brokers still reach it",
        _controller_from_quorum, Requirements(quorum=2, why="a single controller has no quorum to be cut off from"))


def partition_bridge() -> PartitionNemesis:
    return PartitionNemesis("bridge", "two halves that cannot talk, and one node that talks to both",
                            lambda ctx: (bridge(_all_nodes(ctx), ctx.rng), {}),
                            Requirements(nodes=3, why="two halves and a bridge take three nodes; fewer cut nothing"))


def partition_majorities_ring() -> PartitionNemesis:
    return PartitionNemesis(
        "partition-majorities-ring", "every node sees a majority, but each a different one",
        lambda ctx: (majorities_ring(_all_nodes(ctx), ctx.rng), {}),
        Requirements(nodes=4, why="with 3 nodes or fewer every node sees all the others and nothing is cut"))


NEMESES = {
    "partition-dc": partition_dc,
    "partition-node": partition_node,
    "partition-halves": partition_halves,
    "partition-leader": partition_leader,
    "partition-p0-leader": partition_p0_leader,
    "partition-controller": partition_controller,
    "partition-controller-quorum": partition_controller_quorum,
    "partition-majorities-ring": partition_majorities_ring,
    "bridge": partition_bridge,
}

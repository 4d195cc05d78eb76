"""Voter-set changes of a dynamic KRaft quorum (KIP-853): remove a voting controller, remove the active one, or
promote a spare; heal undoes exactly that change. Needs `kraft_voters = "dynamic"` (the dynamic-quorum preset).

Everything goes through Kafka's own tool, `kafka-metadata-quorum` (MetadataQuorumCommand), run on a controller
node through its Remote, so the same nemesis works on containers and over SSH. The controller stays running
when it is removed: it drops to an observer that keeps fetching the metadata log, which is what lets heal add
it back. Each call starts a JVM (5-8 s on a 2-core machine), so these faults are slow to apply on purpose.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass

from core.topology import Node
from infra.kafka_config import CONTROLLER_PORT
from infra.kafka_node import CONFIG_FILE, NODE_DIR
from nemesis.base import Fault, NemesisContext, Requirements
from nemesis.targets import TargetUnavailable

TOOL = "org.apache.kafka.tools.MetadataQuorumCommand"
PROPERTIES = f"{NODE_DIR}/{CONFIG_FILE.get('controller', 'server.properties')}"
ADD_RETRY_S = 60.0  # a removed controller must have caught up as an observer before the leader takes it back
DYNAMIC = Requirements(dynamic_quorum=True)


@dataclass(frozen=True)
class Voter:
    node_id: int
    directory_id: str


@dataclass(frozen=True)
class QuorumStatus:
    leader: int
    epoch: int
    voters: tuple[Voter, ...]

    def voter_ids(self) -> list[int]:
        return sorted(v.node_id for v in self.voters)


def parse_status(text: str) -> QuorumStatus:
    """`kafka-metadata-quorum describe --status` output: `LeaderId:`, `LeaderEpoch:` and the `CurrentVoters:`
    JSON list (KIP-853's form, with each voter's directory id)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    try:
        voters = tuple(Voter(int(v["id"]), str(v["directoryId"])) for v in json.loads(fields["CurrentVoters"]))
        return QuorumStatus(int(fields["LeaderId"]), int(fields["LeaderEpoch"]), voters)
    except (KeyError, ValueError, TypeError) as error:
        raise TargetUnavailable(f"kafka-metadata-quorum gave no readable status ({error!r}): {text[-200:]!r}") \
            from error


def _tool(ctx: NemesisContext, cluster: str, arguments: str) -> str:
    bootstrap = ",".join(f"{ctx.addresses[c.name]}:{CONTROLLER_PORT}" for c in ctx.topology.quorum_in(cluster)
                         if c.role == "controller")
    return (f". {NODE_DIR}/node.env 2>/dev/null; java -cp \"${{KAFKA_HOME:-/opt/kafka}}/libs/*\" {TOOL} "
            f"--bootstrap-controller {shlex.quote(bootstrap)} {arguments}")


def _controllers(ctx: NemesisContext, cluster: str) -> list[Node]:
    return [c for c in ctx.topology.quorum_in(cluster) if c.role == "controller"]


def describe(ctx: NemesisContext, cluster: str) -> QuorumStatus:
    """The voters as the quorum leader reports them, asked from the first controller that can run the tool."""
    errors = []
    for controller in _controllers(ctx, cluster):
        result = ctx.nodes[controller.name].remote.exec(_tool(ctx, cluster, "describe --status"), check=False,
                                                        timeout=40)
        if result.ok:
            return parse_status(result.stdout)
        errors.append(f"{controller.name}: {(result.stderr or result.stdout).strip()[-160:]}")
    raise TargetUnavailable("no controller could describe the quorum: " + "; ".join(errors))


def _by_id(ctx: NemesisContext, cluster: str, node_id: int) -> Node:
    for controller in _controllers(ctx, cluster):
        if controller.node_id == node_id:
            return controller
    raise TargetUnavailable(f"voter {node_id} is not a controller of this topology")


def add_controller(ctx: NemesisContext, cluster: str, controller: Node, retry_s: float = ADD_RETRY_S) -> str:
    """Ask the leader to take `controller` in as a voter; the tool runs on that node, reading its own
    server.properties and metadata directory id. Retried while the leader refuses it (not caught up yet)."""
    command = _tool(ctx, cluster, f"--command-config {PROPERTIES} add-controller")
    deadline = time.monotonic() + retry_s
    while True:
        result = ctx.nodes[controller.name].remote.exec(command, check=False, timeout=40)
        if result.ok:
            return result.stdout.strip()
        if time.monotonic() >= deadline:
            raise RuntimeError(f"add-controller of {controller.name} kept failing for {retry_s:.0f} s: "
                               f"{(result.stderr or result.stdout).strip()[-200:]}")
        time.sleep(2)


def remove_controller(ctx: NemesisContext, cluster: str, voter: Voter) -> str:
    command = _tool(ctx, cluster, f"remove-controller --controller-id {voter.node_id} "
                                  f"--controller-directory-id {shlex.quote(voter.directory_id)}")
    last = "no controller to run it on"
    for controller in _controllers(ctx, cluster):
        result = ctx.nodes[controller.name].remote.exec(command, check=False, timeout=40)
        if result.ok:
            return result.stdout.strip()
        last = (result.stderr or result.stdout).strip()[-200:]
    raise RuntimeError(f"remove-controller of voter {voter.node_id} failed everywhere: {last}")


def _details(before: QuorumStatus, change: str, voter: Voter) -> dict[str, object]:
    return {"change": change, "controller_id": voter.node_id, "directory_id": voter.directory_id,
            "voters_before": before.voter_ids(), "leader_before": before.leader, "epoch_before": before.epoch}


class RemoveControllerNemesis:
    """Remove one voter from the quorum (a random follower, or the active controller itself, which then resigns
    and the rest elect a new leader); heal adds it back. Never removes the last voter."""

    requires = DYNAMIC

    def __init__(self, name: str, active: bool) -> None:
        self.name = name
        self.active = active
        who = "the active controller (the quorum leader resigns)" if active else "a random voter that is not leader"
        self.description = (f"remove {who} from a dynamic KRaft quorum (kafka-metadata-quorum remove-controller, "
                            "KIP-853); it keeps running as an observer; heal adds it back as a voter")

    def start(self, ctx: NemesisContext) -> Fault:
        cluster = ctx.topology.clusters[0]
        status = describe(ctx, cluster)
        if len(status.voters) < 2:
            raise TargetUnavailable(f"the quorum has {len(status.voters)} voter; removing it would leave none")
        candidates = [v for v in status.voters if (v.node_id == status.leader) == self.active]
        if not candidates:
            raise TargetUnavailable("no voter to remove: " + ("no leader" if self.active else "only the leader"))
        voter = ctx.rng.choice(sorted(candidates, key=lambda v: v.node_id))
        node = _by_id(ctx, cluster, voter.node_id)
        output = remove_controller(ctx, cluster, voter)
        return Fault(self.name, (node.name,), {**_details(status, "remove", voter), "tool": output})

    def stop(self, ctx: NemesisContext, fault: Fault) -> dict[str, object]:
        cluster = ctx.topology.clusters[0]
        add_controller(ctx, cluster, ctx.topology.node(fault.targets[0]))
        return {"voters_after": describe(ctx, cluster).voter_ids()}

    def heal_all(self, ctx: NemesisContext) -> None:
        restore_initial_voters(ctx)


class AddControllerNemesis:
    """Promote a spare controller (an observer since it was formatted with --no-initial-controllers) to voter:
    the quorum grows, and its majority with it; heal removes it again."""

    name = "add-controller"
    description = ("add a spare controller to a dynamic KRaft quorum as a voter (kafka-metadata-quorum "
                   "add-controller, KIP-853); heal removes it again")
    requires = Requirements(dynamic_quorum=True, spare_controllers=1)

    def start(self, ctx: NemesisContext) -> Fault:
        cluster = ctx.topology.clusters[0]
        status = describe(ctx, cluster)
        voting = set(status.voter_ids())
        spares = [c for c in _controllers(ctx, cluster) if c.spare and c.node_id not in voting]
        if not spares:
            raise TargetUnavailable("every spare controller already votes")
        spare = ctx.rng.choice(spares)
        output = add_controller(ctx, cluster, spare)
        after = describe(ctx, cluster)
        voter = next((v for v in after.voters if v.node_id == spare.node_id), None)
        if voter is None:
            raise RuntimeError(f"add-controller of {spare.name} returned, but the voters are {after.voter_ids()}")
        return Fault(self.name, (spare.name,), {**_details(status, "add", voter), "tool": output,
                                                "voters_after": after.voter_ids()})

    def stop(self, ctx: NemesisContext, fault: Fault) -> dict[str, object]:
        cluster = ctx.topology.clusters[0]
        remove_controller(ctx, cluster, Voter(int(fault.details["controller_id"]), str(fault.details["directory_id"])))
        return {"voters_after": describe(ctx, cluster).voter_ids()}

    def heal_all(self, ctx: NemesisContext) -> None:
        restore_initial_voters(ctx)


def restore_initial_voters(ctx: NemesisContext) -> None:
    """Back to the voters the quorum was formatted with: add every initial voter that is missing, then remove
    every spare that votes (adding first, so the quorum never shrinks below its starting size on the way)."""
    if not ctx.topology.dynamic_quorum:
        return
    for cluster in ctx.topology.clusters:
        status = describe(ctx, cluster)
        voting = set(status.voter_ids())
        for controller in _controllers(ctx, cluster):
            if not controller.spare and controller.node_id not in voting:
                add_controller(ctx, cluster, controller)
        for voter in describe(ctx, cluster).voters:
            if _by_id(ctx, cluster, voter.node_id).spare:
                remove_controller(ctx, cluster, voter)


NEMESES = {
    "remove-controller": lambda: RemoveControllerNemesis("remove-controller", active=False),
    "remove-active-controller": lambda: RemoveControllerNemesis("remove-active-controller", active=True),
    "add-controller": AddControllerNemesis,
}

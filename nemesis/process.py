"""Process faults on the Kafka JVM of chosen nodes: kill (SIGKILL), pause (SIGSTOP), restart (graceful),
shutdown (graceful, held down until heal), and a rolling restart of every broker. Heal brings every hit node
back to running with its data intact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.waiting import wait_until
from infra.kafka_node import KafkaNode as Node
from nemesis import targets
from nemesis.base import NO_REQUIREMENTS, Fault, NemesisContext

Chooser = Callable[[NemesisContext], list[str]]

_TARGETS: dict[str, tuple[Chooser, str]] = {
    "": (targets.random_broker, "one random broker"),
    "-leader": (targets.partition_leader, "the leader of a random test partition"),
    "-controller": (targets.active_controller, "the active KRaft controller"),
    "-dc": (targets.random_dc, "every broker and controller of one random DC"),
    "-p0-leader": (targets.leader_of_partition_zero, "the leader of partition 0 of the test topic"),
    "-p0-followers": (targets.followers_of_partition_zero, "the followers of partition 0 of the test topic"),
    "-coordinator": (targets.group_coordinator, "the group coordinator of the run's consumer group"),
    "-share-coordinator": (targets.share_coordinator, "the share coordinator of the run's share group (the leader "
                           "of the __share_group_state partition of a random test partition)"),
}


@dataclass(frozen=True)
class Signal:
    """What a process fault does to each target, how its stop undoes that, and what heal looks for."""

    signal: str
    description: str
    hit: Callable[[Node], None]
    undo: Callable[[Node], None]
    needs_heal: Callable[[Node], bool]


def _restart(node: Node) -> None:
    node.stop()
    node.start()


# Heal starts every node: a no-op where the JVM runs. Only paused ones are resumed: SIGCONT to a stopped
# node would fail.
KILL = Signal("KILL", "SIGKILL the Kafka process of {about}; heal restarts it with its data intact",
              hit=Node.kill, undo=Node.start, needs_heal=lambda node: True)
PAUSE = Signal("STOP", "SIGSTOP the Kafka process of {about}; heal resumes it (SIGCONT)",
               hit=Node.pause, undo=Node.resume, needs_heal=lambda node: node.status() == "paused")
RESTART = Signal("TERM", "gracefully restart the Kafka process of {about} (controlled shutdown, then start)",
                 hit=_restart, undo=Node.start, needs_heal=lambda node: True)
# Held down until heal, one target after another: the ISR shrinks by clean shutdowns, as in maintenance (KIP-966's
# "last replica standing" case starts this way).
SHUTDOWN = Signal("TERM", "gracefully stop the Kafka process of {about} one after another (controlled shutdown); "
                  "heal starts it again", hit=Node.stop, undo=Node.start, needs_heal=lambda node: True)


class ProcessNemesis:
    """Kill (SIGKILL), pause (SIGSTOP: a GC pause or a hung VM that comes back) or gracefully restart (SIGTERM,
    controlled shutdown, then start, as an operator does) the chosen nodes' JVMs."""

    requires = NO_REQUIREMENTS

    def __init__(self, name: str, signal: Signal, choose: Chooser, about: str) -> None:
        self.name = name
        self.description = signal.description.format(about=about)
        self._signal = signal
        self._choose = choose

    def start(self, ctx: NemesisContext) -> Fault:
        victims = self._choose(ctx)
        for victim in victims:
            self._signal.hit(ctx.nodes[victim])
        return Fault(self.name, tuple(victims), {"signal": self._signal.signal})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            self._signal.undo(ctx.nodes[node])

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in ctx.nodes.values():
            if self._signal.needs_heal(node):
                self._signal.undo(node)


class DestroyNemesis:
    """A DC's brokers lose their machines: SIGKILL, then their data dirs are wiped (the disks are gone). Heal
    formats each one again and starts it empty with the same broker id, as a replacement machine comes up.

    Controllers are spared on purpose: a KRaft voter that loses its metadata log is another failure (a static
    quorum can then lose committed metadata, KAFKA-14077), not the data-loss incident this one reproduces.
    """

    requires = NO_REQUIREMENTS

    def __init__(self, name: str, choose: Chooser, about: str) -> None:
        self.name = name
        self.description = (f"destroy the brokers of {about}: SIGKILL and wipe their data dirs; heal formats "
                            "them and starts them empty (controllers keep their metadata)")
        self._choose = choose

    def start(self, ctx: NemesisContext) -> Fault:
        brokers = {b.name for b in ctx.topology.brokers}
        victims = [v for v in self._choose(ctx) if v in brokers]
        for victim in victims:
            ctx.nodes[victim].kill()
        for victim in victims:
            ctx.nodes[victim].wipe()
        return Fault(self.name, tuple(victims), {"signal": "KILL", "wiped": True})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            ctx.nodes[node].format()
            ctx.nodes[node].start()

    def heal_all(self, ctx: NemesisContext) -> None:
        for broker in ctx.topology.brokers:
            node = ctx.nodes[broker.name]
            if node.status() == "stopped":
                node.format()  # --ignore-formatted: a no-op on a broker that still has its disk
                node.start()


class RollingRestartNemesis:
    """Restart every broker in turn, waiting for each to run again before the next (a config rollout)."""

    name = "rolling-restart"
    description = "gracefully restart every broker one after another, as a config rollout does"
    requires = NO_REQUIREMENTS

    def start(self, ctx: NemesisContext) -> Fault:
        order = [b.name for b in ctx.topology.brokers]
        ctx.rng.shuffle(order)
        for name in order:
            node = ctx.nodes[name]
            node.stop()
            node.start()
            wait_until(lambda n=node: n.status() == "running", 60, f"{name} to run again")  # type: ignore[misc]
        return Fault(self.name, tuple(order), {"order": order})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            ctx.nodes[node].start()

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in ctx.nodes.values():
            node.start()


def _family(kind: str, signal: Signal) -> dict[str, Callable[[], object]]:
    return {f"{kind}{suffix}": (lambda s=suffix: ProcessNemesis(f"{kind}{s}", signal, *_TARGETS[s]))
            for suffix in _TARGETS}


NEMESES = {
    **_family("kill", KILL),
    **_family("pause", PAUSE),
    **_family("restart", RESTART),
    **_family("shutdown", SHUTDOWN),
    "rolling-restart": RollingRestartNemesis,
    "destroy-dc": lambda: DestroyNemesis("destroy-dc", targets.random_dc, "one random DC"),
    "destroy-p0-leader-dc": lambda: DestroyNemesis(
        "destroy-p0-leader-dc", targets.dc_of_partition_zero_leader, "the DC of partition 0's leader"),
}

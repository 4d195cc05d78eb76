"""Process faults on the Kafka JVM of chosen nodes: kill (SIGKILL), pause (SIGSTOP), restart (graceful),
and a rolling restart of every broker. Heal brings every hit node back to running with its data intact.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.waiting import wait_until
from nemesis import targets
from nemesis.base import Fault, NemesisContext

Chooser = Callable[[NemesisContext], list[str]]

_TARGETS: dict[str, tuple[Chooser, str]] = {
    "": (targets.random_broker, "one random broker"),
    "-leader": (targets.partition_leader, "the leader of a random test partition"),
    "-controller": (targets.active_controller, "the active KRaft controller"),
    "-dc": (targets.random_dc, "every broker and controller of one random DC"),
    "-p0-leader": (targets.leader_of_partition_zero, "the leader of partition 0 of the test topic"),
    "-p0-followers": (targets.followers_of_partition_zero, "the followers of partition 0 of the test topic"),
}


class KillNemesis:
    """SIGKILL the targets' JVMs; heal starts them again."""

    def __init__(self, name: str = "kill", choose: Chooser = targets.random_broker, about: str = "one random broker"):
        self.name = name
        self.description = f"SIGKILL the Kafka process of {about}; heal restarts it with its data intact"
        self._choose = choose

    def start(self, ctx: NemesisContext) -> Fault:
        victims = self._choose(ctx)
        for victim in victims:
            ctx.nodes[victim].kill()
        return Fault(self.name, tuple(victims), {"signal": "KILL"})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            ctx.nodes[node].start()

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in ctx.nodes.values():
            node.start()  # no-op where it runs


class PauseNemesis:
    """SIGSTOP the targets' JVMs (a GC pause or a hung VM that comes back); heal sends SIGCONT."""

    def __init__(self, name: str, choose: Chooser, about: str) -> None:
        self.name = name
        self.description = f"SIGSTOP the Kafka process of {about}; heal resumes it (SIGCONT)"
        self._choose = choose

    def start(self, ctx: NemesisContext) -> Fault:
        victims = self._choose(ctx)
        for victim in victims:
            ctx.nodes[victim].pause()
        return Fault(self.name, tuple(victims), {"signal": "STOP"})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            ctx.nodes[node].resume()

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in ctx.nodes.values():
            if node.status() == "paused":
                node.resume()


class RestartNemesis:
    """A graceful restart (SIGTERM: controlled shutdown, then start) of the targets, as an operator does."""

    def __init__(self, name: str, choose: Chooser, about: str) -> None:
        self.name = name
        self.description = f"gracefully restart the Kafka process of {about} (controlled shutdown, then start)"
        self._choose = choose

    def start(self, ctx: NemesisContext) -> Fault:
        victims = self._choose(ctx)
        for victim in victims:
            ctx.nodes[victim].stop()
            ctx.nodes[victim].start()
        return Fault(self.name, tuple(victims), {"signal": "TERM"})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            ctx.nodes[node].start()

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in ctx.nodes.values():
            node.start()


class DestroyNemesis:
    """A DC's brokers lose their machines: SIGKILL, then their data dirs are wiped (the disks are gone). Heal
    formats each one again and starts it empty with the same broker id, as a replacement machine comes up.

    Controllers are spared on purpose: a KRaft voter that loses its metadata log is another failure (a static
    quorum can then lose committed metadata, KAFKA-14077), not the data-loss incident this one reproduces.
    """

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


def _family(kind: str, cls: type) -> dict[str, Callable[[], object]]:
    return {f"{kind}{suffix}": (lambda s=suffix: cls(f"{kind}{s}", *_TARGETS[s])) for suffix in _TARGETS}


NEMESES = {
    **_family("kill", KillNemesis),
    **_family("pause", PauseNemesis),
    **_family("restart", RestartNemesis),
    "rolling-restart": RollingRestartNemesis,
    "destroy-dc": lambda: DestroyNemesis("destroy-dc", targets.random_dc, "one random DC"),
    "destroy-p0-leader-dc": lambda: DestroyNemesis(
        "destroy-p0-leader-dc", targets.dc_of_partition_zero_leader, "the DC of partition 0's leader"),
}

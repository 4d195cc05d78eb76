"""Process faults: SIGKILL a broker's JVM and start it again on heal."""

from __future__ import annotations

from nemesis.base import Fault, NemesisContext


class KillNemesis:
    name = "kill"
    description = "SIGKILL the Kafka process of one random broker; heal restarts it with its data intact"

    def start(self, ctx: NemesisContext) -> Fault:
        victim = ctx.rng.choice([b.name for b in ctx.topology.brokers])
        ctx.nodes[victim].kill()
        return Fault(self.name, (victim,), {"signal": "KILL"})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            ctx.nodes[node].start()

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in ctx.nodes.values():
            node.start()


NEMESES = {"kill": KillNemesis}

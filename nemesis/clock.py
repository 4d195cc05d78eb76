"""Clock faults on the Kafka JVMs themselves, never the host: libfaketime reads a per-node offset file that
the node script rewrites, so a running broker's wall clock jumps without a restart (monotonic time stays real).

Needs the cluster started with clock control (the runner does this when a clock nemesis is selected).
"""

from __future__ import annotations

from nemesis import targets
from nemesis.base import Fault, NemesisContext, Requirements

_BUMPS_S = (-86_400 * 2, -3_600, -60, 30, 300, 3_600, 86_400, 86_400 * 8)  # seconds to days, both ways


CLOCK_CONTROL = Requirements(clock_control=True)  # each JVM runs under libfaketime


def _offset(seconds: int) -> str:
    return f"{seconds:+d}s"


class ClockSkewNemesis:
    name = "clock-skew"
    description = "give every broker and controller its own fixed wall-clock offset (up to ±5 min)"
    requires = CLOCK_CONTROL

    def start(self, ctx: NemesisContext) -> Fault:
        offsets = {n.name: ctx.rng.randint(-300, 300) for n in ctx.topology.nodes}
        for node, seconds in offsets.items():
            ctx.nodes[node].set_clock(_offset(seconds))
        return Fault(self.name, tuple(offsets), {"offsets_s": offsets})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in fault.targets:
            ctx.nodes[node].reset_clock()

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in ctx.nodes.values():
            node.reset_clock()


class ClockBumpNemesis:
    name = "clock-bump"
    description = "jump one random node's wall clock forward or back by seconds to days"
    requires = CLOCK_CONTROL

    def start(self, ctx: NemesisContext) -> Fault:
        (victim,) = targets.random_node(ctx)
        seconds = ctx.rng.choice(_BUMPS_S)
        ctx.nodes[victim].set_clock(_offset(seconds))
        return Fault(self.name, (victim,), {"offset_s": seconds})

    stop = ClockSkewNemesis.stop
    heal_all = ClockSkewNemesis.heal_all


class ClockStrobeNemesis:
    name = "clock-strobe"
    description = "flip one random node's wall clock between now and a jump of minutes to a day, every second"
    requires = CLOCK_CONTROL

    def start(self, ctx: NemesisContext) -> Fault:
        (victim,) = targets.random_node(ctx)
        seconds = ctx.rng.choice((120, 3_600, 86_400))
        # libfaketime re-reads the offset once a second, so a faster strobe would not be seen.
        ctx.nodes[victim].strobe_clock(_offset(seconds), 1.0)
        return Fault(self.name, (victim,), {"offset_s": seconds, "period_s": 1.0})

    stop = ClockSkewNemesis.stop
    heal_all = ClockSkewNemesis.heal_all


class ClockForwardNemesis:
    """Every broker's wall clock 8 days ahead at once (an NTP step after a bad time source): what a scenario
    needs to see time-based retention expire data that is only minutes old."""

    name = "clock-forward-brokers"
    description = "jump every broker's wall clock 8 days forward (past the default 7-day retention)"
    requires = CLOCK_CONTROL
    seconds = 86_400 * 8

    def start(self, ctx: NemesisContext) -> Fault:
        brokers = [b.name for b in ctx.topology.brokers]
        for broker in brokers:
            ctx.nodes[broker].set_clock(_offset(self.seconds))
        return Fault(self.name, tuple(brokers), {"offset_s": self.seconds})

    stop = ClockSkewNemesis.stop
    heal_all = ClockSkewNemesis.heal_all


NEMESES = {"clock-skew": ClockSkewNemesis, "clock-bump": ClockBumpNemesis, "clock-strobe": ClockStrobeNemesis,
           "clock-forward-brokers": ClockForwardNemesis}

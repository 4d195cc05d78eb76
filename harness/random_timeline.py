"""Random fault timelines for `harness explore`: a seed in, a scenario timeline out. Pure: no Docker, no clock.

A timeline draws its faults from the kinds asked for (request-level holds, pauses, kills, partitions, clock
faults), holds each for a tenth to a third of the run and spaces them by up to a tenth, so a 40 s run gets three
to six faults. Faults overlap only across fault families: two faults of one family module (nemesis/partition.py,
nemesis/process.py, nemesis/clock.py, nemesis/requests.py) share one way of healing (a partition's heal flushes
every cut, a clock's resets every offset, a kill and a pause act on the same JVMs), so one's heal would undo the
other. The first fault starts after a lead and every fault is healed a margin before the run ends, so the
drain and the check see a healed cluster. The same seed gives the same timeline.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from core.errors import HarnessError, unknown_name
from harness.scenario import TimelineStep
from nemesis import registry

# Request holds that matter to each workload's clients: what it sends (Produce, EndTxn, OffsetCommit...) and
# what it needs to find its way (Metadata, FindCoordinator). Each mode at least once: a delay in order, a one-off
# stall the client retries past, a stranded request that lands late, a copy the broker must de-duplicate.
_REQUESTS = {
    "queue": ("delay-produce", "delay-first-produce", "strand-first-produce", "duplicate-produce", "drop-produce",
              "delay-fetch", "delay-metadata"),
    "txn": ("delay-first-endtxn", "strand-first-endtxn", "duplicate-endtxn", "delay-add-partitions-to-txn",
            "strand-first-add-partitions-to-txn", "delay-txn-offset-commit", "duplicate-produce",
            "delay-find-coordinator"),
    "group": ("delay-offset-commit", "strand-first-offset-commit", "duplicate-offset-commit", "delay-heartbeat",
              "delay-join-group", "delay-sync-group", "delay-fetch", "duplicate-produce"),
}
# clock-bump (up to +8 d) and clock-forward-brokers are left out: past the 7-day retention they delete
# acknowledged records, documented behaviour (the clock-jump-retention scenario) that every such run would find.
_OTHERS = {
    "pause": ("pause", "pause-leader", "pause-controller"),
    "kill": ("kill", "kill-leader", "kill-controller"),
    "partition": ("partition-node", "partition-leader", "partition-dc", "partition-halves", "partition-controller"),
    "clock": ("clock-skew", "clock-strobe"),
}
KINDS = ("request", "pause", "kill", "partition", "clock")
WORKLOADS = tuple(_REQUESTS)
MIN_RUN_TIME = 10.0  # seconds: a lead, one fault of at least MIN_HOLD, and the heal margin
MIN_HOLD = 1.0
SAME_FAMILY_GAP = 1.0  # seconds between one fault's heal and the next of its family (their threads race)


Pool = tuple[tuple[str, tuple[str, ...]], ...]  # (kind, its nemesis names), in the order asked for


def pool(kinds: Sequence[str], workload: str) -> Pool:
    """What a timeline of these kinds draws from; an unknown kind or workload is a user error."""
    if workload not in _REQUESTS:
        raise unknown_name("workload", workload, list(WORKLOADS), "explore runs queue, txn or group")
    if not kinds:
        raise HarnessError("--faults needs at least one kind", hint="known: " + ", ".join(KINDS))
    chosen: dict[str, tuple[str, ...]] = {}
    for kind in kinds:
        if kind not in KINDS:
            raise unknown_name("fault kind", kind, list(KINDS), "--faults takes kinds, not nemesis names")
        chosen[kind] = _REQUESTS[workload] if kind == "request" else _OTHERS[kind]
    return tuple(chosen.items())


def names(faults: Pool) -> tuple[str, ...]:
    return tuple(name for _, kind_names in faults for name in kind_names)


def family(nemesis: str) -> str:
    """The fault family a nemesis belongs to: the module that defines it (and so how it heals)."""
    return type(registry.parse(nemesis)[0]).__module__


def margins(run_time: float) -> tuple[float, float]:
    """(lead before the first fault, margin after the last heal): a tenth of the run each, at least 2 s."""
    return max(2.0, round(run_time / 10, 1)), max(2.0, round(run_time / 10, 1))


def generate(seed: int, run_time: float, faults: Pool) -> tuple[TimelineStep, ...]:
    """The timeline of one run: the same seed, run time and pool always give the same steps, sorted by `at`.
    Each fault's kind is drawn first, evenly (two clock faults weigh as much as eight request holds), then the
    nemesis within it."""
    if run_time < MIN_RUN_TIME:
        raise HarnessError(f"a run of {run_time:g} s has no room for a fault and its heal",
                           hint=f"--run-time at least {MIN_RUN_TIME:g}")
    if not names(faults):
        raise HarnessError("no nemesis to draw faults from")
    rng = random.Random(seed)
    families = {name: family(name) for name in names(faults)}
    lead, margin = margins(run_time)
    end = run_time - margin
    shortest, longest = max(MIN_HOLD, run_time / 10), max(MIN_HOLD * 1.5, run_time / 3)
    free_at: dict[str, float] = {}  # family -> when its last fault is healed (plus the settle gap)
    steps: list[TimelineStep] = []
    at = lead
    while True:
        at = _tenths(at)
        free = [(kind, ready) for kind, kind_names in faults
                if (ready := [n for n in kind_names if free_at.get(families[n], 0.0) <= at + 1e-6])]
        if not free:  # every family asked for is busy: the next start waits for the first one to heal
            at = min(free_at.values())
            continue
        nemesis = rng.choice(rng.choice(free)[1])
        hold = min(rng.uniform(shortest, longest), end - at)
        hold = math.floor(hold * 10 + 1e-9) / 10  # tenths, never past `end`
        if hold < MIN_HOLD:
            break
        steps.append(TimelineStep(at, nemesis, hold))
        free_at[families[nemesis]] = round(at + hold + SAME_FAMILY_GAP, 1)
        # The next one starts while this one holds (an overlap, if its family is another) or after a gap.
        at += rng.uniform(0.5, 1.0) * hold + rng.uniform(0.0, run_time / 10)
    return tuple(steps)


def _tenths(value: float) -> float:
    return math.ceil(value * 10 - 1e-9) / 10

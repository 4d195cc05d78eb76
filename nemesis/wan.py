"""WAN between DCs: latency, jitter and loss on every link between two DCs, never inside one.

`--wan-latency 40ms` means what netem on every host would mean: 40 ms one way on each direction of every link
between two nodes in different DCs, so a round trip between two DCs grows by about 80 ms (2 × latency) and a
round trip inside a DC by nothing. Jitter is uniform (±), loss is per direction. netem adds it as a packet
leaves its node; the nfqueue fallback as it arrives at its peer (see nemesis/nfqueue.py for why).

Two mechanisms, picked by `detect_mechanism`: netem (nemesis/netem.py) where the node's kernel has sch_netem,
else NFQUEUE with a userspace delayer per delay class (nemesis/nfqueue.py). Both are driven from one
per-node egress table computed from layers (nemesis/wan_plan.py): the run's standing WAN plus the overlays
of the slow-dc and flaky-dc nemeses. The layers live on the run's NemesisContext, so the runner's standing
WAN and the nemeses compose, and healing a nemesis re-applies the standing WAN rather than removing it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import HarnessError
from nemesis import netem, nfqueue
from nemesis.base import Fault, NemesisContext, Requirements
from nemesis.wan_plan import DcPair, EgressTable, LinkShape, Overlay, WanSpec, dc_links, egress_tables

MECHANISMS = ("netem", "nfqueue")
SEMANTICS = ("one-way latency on each direction of every link between DCs (netem: as packets leave, nfqueue: as "
             "they arrive); inter-DC RTT grows by about 2 x latency, intra-DC RTT by nothing")
_STATE = "_wan_state"  # attribute of the NemesisContext holding the run's layers


class Shaper(Protocol):
    name: str

    def sync(self, ctx: NemesisContext, node: str, tables: dict[str, EgressTable]) -> None:
        """Make `node` shape exactly what `tables` say (no-op when it already does)."""
        ...

    def clear(self, ctx: NemesisContext, node: str) -> None:
        """Remove every rule, qdisc and helper process of ours on `node`, idempotently."""
        ...


@dataclass
class _WanState:
    lock: threading.RLock = field(default_factory=threading.RLock)
    shaper: Shaper | None = None
    standing: WanSpec = field(default_factory=WanSpec)
    overlays: dict[str, Overlay] = field(default_factory=dict)


def _state(ctx: NemesisContext) -> _WanState:
    state: _WanState = vars(ctx).setdefault(_STATE, _WanState())
    return state


def detect_mechanism(ctx: NemesisContext) -> str:
    """"netem" if a netem qdisc can be made on the first node, else "nfqueue" if its fallback can run here."""
    node = next(n.name for n in ctx.topology.nodes if n.name in ctx.nodes)
    probe = ctx.nodes[node].remote.exec(netem.PROBE, check=False)
    if probe.ok:
        return "netem"
    why_not_netem = _last_line(probe.stderr or probe.stdout)
    why_not_nfqueue = nfqueue.unavailable(ctx, node)
    if why_not_nfqueue is None:
        return "nfqueue"
    raise HarnessError(f"cannot shape the WAN on {node}: no netem ({why_not_netem}) and no nfqueue fallback "
                       f"({why_not_nfqueue})")


def _make_shaper(mechanism: str) -> Shaper:
    return netem.NetemShaper() if mechanism == "netem" else nfqueue.NfqueueShaper()


class WanShaping:
    """Applies the standing WAN and the nemesis overlays to every node of a run. Stateless itself: every
    WanShaping acting on one NemesisContext sees the same layers. `mechanism` forces one (else detected)."""

    def __init__(self, mechanism: str | None = None) -> None:
        if mechanism is not None and mechanism not in MECHANISMS:
            raise HarnessError(f"unknown WAN mechanism {mechanism!r}", hint="netem or nfqueue")
        self.mechanism = mechanism

    def apply(self, ctx: NemesisContext, latency_ms: float, jitter_ms: float = 0.0, loss_pct: float = 0.0,
              pairs: Mapping[DcPair, float] | None = None,
              pair_jitters: Mapping[DcPair, float] | None = None) -> dict[str, Any]:
        """Set the standing WAN: `latency_ms` one way between every two DCs (or `pairs[(dc_a, dc_b)]` for that
        pair), ± `jitter_ms` (or `pair_jitters[...]`), `loss_pct` % loss each way. Returns a description
        including "mechanism"."""
        spec = WanSpec.build(latency_ms, jitter_ms, loss_pct, pairs, pair_jitters)
        spec.check_dcs(ctx.topology)
        state = _state(ctx)
        with state.lock:
            previous = state.standing
            self._change(ctx, state, lambda: setattr(state, "standing", spec),
                         lambda: setattr(state, "standing", previous))
            return self.describe(ctx)

    def add_overlay(self, ctx: NemesisContext, key: str, overlay: Overlay) -> str:
        """Add (or replace) one overlay on top of whatever else is applied; returns the mechanism used."""
        if overlay.dc not in ctx.topology.dc_names():
            raise HarnessError(f"no DC named {overlay.dc!r}", hint="DCs are " + ", ".join(ctx.topology.dc_names()))
        state = _state(ctx)
        with state.lock:
            previous = state.overlays.get(key)
            self._change(ctx, state, lambda: state.overlays.__setitem__(key, overlay),
                         lambda: _restore(state.overlays, key, previous))
            return state.shaper.name if state.shaper else "none"

    def drop_overlay(self, ctx: NemesisContext, key: str) -> None:
        """Remove one overlay; what else is applied (the standing WAN, other overlays) stays exactly as it was."""
        state = _state(ctx)
        with state.lock:
            if key in state.overlays:
                previous = state.overlays[key]
                self._change(ctx, state, lambda: state.overlays.pop(key),
                             lambda: state.overlays.__setitem__(key, previous))

    def remove(self, ctx: NemesisContext) -> list[str]:
        """Remove every layer, rule, qdisc and delayer of ours from every node; safe to call again. Tries every
        node and returns what could not be removed (empty when all is clean), like a teardown step."""
        state = _state(ctx)
        with state.lock:
            state.standing, state.overlays = WanSpec(), {}
            shapers = [state.shaper] if state.shaper else [_make_shaper(m) for m in MECHANISMS]
            problems = []
            for node in ctx.nodes:
                for shaper in shapers:
                    try:
                        shaper.clear(ctx, node)
                    except Exception as error:  # noqa: BLE001 - try every node, report all at the end
                        problems.append(f"{node}: {error}")
            state.shaper = None  # its caches described nodes that are now clean
            return problems

    def describe(self, ctx: NemesisContext) -> dict[str, Any]:
        state = _state(ctx)
        links = dc_links(ctx.topology, state.standing, state.overlays.values())
        return {"mechanism": state.shaper.name if state.shaper else "none", "semantics": SEMANTICS,
                **state.standing.to_json(),
                "overlays": {k: {"dc": o.dc, **o.shape.to_json()} for k, o in sorted(state.overlays.items())},
                "links": {name: shape.to_json() for name, shape in links.items() if not shape.is_noop}}

    def _change(self, ctx: NemesisContext, state: _WanState, change: Callable[[], object],
                undo: Callable[[], object]) -> None:
        """Change the layers and make every node match; if that fails, go back to the old layers and raise."""
        change()
        try:
            self._sync(ctx, state)
        except BaseException:
            undo()
            try:
                self._sync(ctx, state)
            except Exception:  # noqa: BLE001 - the first error is the one worth reporting
                pass
            raise

    def _sync(self, ctx: NemesisContext, state: _WanState) -> None:
        if state.shaper is None:
            if state.standing.is_noop and not state.overlays:
                return  # nothing to shape, nothing to detect
            state.shaper = _make_shaper(self.mechanism or detect_mechanism(ctx))
        tables = egress_tables(ctx.topology, state.standing, state.overlays.values())
        for node in (n.name for n in ctx.topology.nodes if n.name in ctx.nodes):
            state.shaper.sync(ctx, node, tables)


def _restore(overlays: dict[str, Overlay], key: str, previous: Overlay | None) -> None:
    if previous is None:
        overlays.pop(key, None)
    else:
        overlays[key] = previous


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


class DcShapingNemesis:
    """Shape every link between one random DC and the others (both directions), on top of the standing WAN."""

    requires = Requirements(dcs=2, why="with one DC there is no link between DCs to shape")

    def __init__(self, name: str, description: str, shape: LinkShape) -> None:
        self.name = name
        self.description = description
        self.shape = shape

    def start(self, ctx: NemesisContext) -> Fault:
        dcs = ctx.topology.dc_names()
        if len(dcs) < 2:
            raise HarnessError(f"{self.name} needs a topology with at least two DCs",
                               hint=f"topology {ctx.topology.name!r} has only {dcs[0]}")
        dc = ctx.rng.choice(dcs)
        mechanism = WanShaping().add_overlay(ctx, self.name, Overlay(dc, self.shape))
        targets = tuple(n.name for n in ctx.topology.in_dc(dc))
        return Fault(self.name, targets, {"dc": dc, "added": self.shape.to_json(), "mechanism": mechanism})

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        WanShaping().drop_overlay(ctx, self.name)

    def heal_all(self, ctx: NemesisContext) -> None:
        WanShaping().drop_overlay(ctx, self.name)


def slow_dc(extra_ms: float = 100.0, jitter_ms: float = 20.0) -> DcShapingNemesis:
    return DcShapingNemesis(
        "slow-dc", f"add {extra_ms:g} ms (± {jitter_ms:g} ms) one-way latency between one random DC and the "
                   f"others; heal restores the standing WAN", LinkShape(extra_ms, jitter_ms, 0.0))


def flaky_dc(loss_pct: float = 20.0) -> DcShapingNemesis:
    return DcShapingNemesis(
        "flaky-dc", f"drop {loss_pct:g}% of packets each way between one random DC and the others; heal restores "
                    f"the standing WAN", LinkShape(0.0, 0.0, loss_pct))


NEMESES = {"slow-dc": slow_dc, "flaky-dc": flaky_dc}

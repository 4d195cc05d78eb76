"""WAN shaping as data: which delay, jitter and loss each node adds on the way to each peer in another DC.

Pure functions, no I/O. A standing WAN (`WanSpec`, from --wan-latency/--wan-jitter/--wan-loss, optionally a
latency per DC pair) and any number of overlays (one DC's links made slower or lossier by a nemesis) are
folded into one egress table per node; nemesis/wan.py turns the tables into netem qdiscs or iptables rules.
Recomputing the whole table from the layers is what makes healing exact: removing an overlay gives back the
standing WAN, not an unshaped network.

Semantics, as with netem on every host: a latency of L ms is one-way, added once to each direction of every
link between two nodes in different DCs, so the round trip between two DCs grows by about 2 × L. Nothing is
added between nodes of the same DC. A node's egress table holds the links it sends on; netem shapes them as
packets leave, the nfqueue fallback as they arrive at the peer (the same link, the same delay).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.errors import HarnessError
from core.topology import Topology
from core.units import parse_duration_ms

DcPair = tuple[str, str]


@dataclass(frozen=True, order=True)
class LinkShape:
    """What one direction of one link suffers: one-way delay (± uniform jitter) and random loss."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0

    @property
    def delays(self) -> bool:
        return self.delay_ms > 0 or self.jitter_ms > 0

    @property
    def drops(self) -> bool:
        return self.loss_pct > 0

    @property
    def is_noop(self) -> bool:
        return not (self.delays or self.drops)

    @property
    def delay_class(self) -> tuple[float, float]:
        return (self.delay_ms, self.jitter_ms)

    def plus(self, other: LinkShape) -> LinkShape:
        """Stack two causes on one link: delays and jitters add, losses are independent."""
        kept = (1 - self.loss_pct / 100) * (1 - other.loss_pct / 100)
        return LinkShape(self.delay_ms + other.delay_ms, self.jitter_ms + other.jitter_ms,
                         round(100 * (1 - kept), 6))

    def to_json(self) -> dict[str, float]:
        return {"delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms, "loss_pct": self.loss_pct}


@dataclass(frozen=True)
class WanSpec:
    """The standing WAN: one shape between every two DCs, with the latency (and jitter) overridden per DC pair."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    pairs: tuple[tuple[DcPair, float], ...] = ()  # ((dc_a, dc_b) sorted, one-way latency in ms)
    pair_jitters: tuple[tuple[DcPair, float], ...] = ()  # ((dc_a, dc_b) sorted, ± jitter in ms)

    @staticmethod
    def build(latency_ms: float = 0.0, jitter_ms: float = 0.0, loss_pct: float = 0.0,
              pairs: Mapping[DcPair, float] | None = None,
              pair_jitters: Mapping[DcPair, float] | None = None) -> WanSpec:
        for what, value in (("latency", latency_ms), ("jitter", jitter_ms),
                            *((f"latency {a}-{b}", ms) for (a, b), ms in (pairs or {}).items()),
                            *((f"jitter {a}-{b}", ms) for (a, b), ms in (pair_jitters or {}).items())):
            if value < 0:
                raise HarnessError(f"WAN {what} must not be negative, got {value:g} ms")
        if not 0 <= loss_pct <= 100:
            raise HarnessError(f"WAN loss must be between 0% and 100%, got {loss_pct:g}%")
        return WanSpec(float(latency_ms), float(jitter_ms), float(loss_pct), _per_pair(pairs),
                       _per_pair(pair_jitters))

    def check_dcs(self, topology: Topology) -> None:
        known = set(topology.dc_names())
        for pair, _ in (*self.pairs, *self.pair_jitters):
            for dc in pair:
                if dc not in known:
                    raise HarnessError(f"WAN pair names DC {dc!r}, which is not in topology {topology.name!r}",
                                       hint="DCs are " + ", ".join(topology.dc_names()))

    def shape(self, a: str, b: str) -> LinkShape:
        if a == b:
            return LinkShape()
        pair = _pair(a, b)
        return LinkShape(dict(self.pairs).get(pair, self.latency_ms), dict(self.pair_jitters).get(pair, self.jitter_ms),
                         self.loss_pct)

    @property
    def is_noop(self) -> bool:
        return self.latency_ms == 0 and self.jitter_ms == 0 and self.loss_pct == 0 and all(
            ms == 0 for _, ms in (*self.pairs, *self.pair_jitters))

    def to_json(self) -> dict[str, object]:
        return {"latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms, "loss_pct": self.loss_pct,
                "pairs": {f"{a}-{b}": ms for (a, b), ms in self.pairs},
                "pair_jitters": {f"{a}-{b}": ms for (a, b), ms in self.pair_jitters}}


def _per_pair(values: Mapping[DcPair, float] | None) -> tuple[tuple[DcPair, float], ...]:
    normalised: dict[DcPair, float] = {}
    for (a, b), ms in (values or {}).items():
        if a == b:
            raise HarnessError(f"WAN pair {a}-{b} names one DC twice", hint="nothing is added inside a DC")
        normalised[_pair(a, b)] = float(ms)
    return tuple(sorted(normalised.items()))


@dataclass(frozen=True)
class Overlay:
    """Extra shape on every link between one DC and the other DCs (both directions): slow-dc, flaky-dc."""

    dc: str
    shape: LinkShape

    def shape_between(self, a: str, b: str) -> LinkShape:
        return self.shape if a != b and self.dc in (a, b) else LinkShape()


EgressTable = dict[str, LinkShape]  # peer node -> what this node adds on packets to it


def egress_tables(topology: Topology, spec: WanSpec, overlays: Iterable[Overlay] = ()) -> dict[str, EgressTable]:
    """Every node's egress table: only peers in other DCs, only links that are shaped at all."""
    links = dc_links(topology, spec, overlays)
    tables: dict[str, EgressTable] = {}
    for node in topology.nodes:
        tables[node.name] = {peer.name: links[f"{node.dc}->{peer.dc}"] for peer in topology.nodes
                             if peer.dc != node.dc and not links[f"{node.dc}->{peer.dc}"].is_noop}
    return tables


def dc_links(topology: Topology, spec: WanSpec, overlays: Iterable[Overlay] = ()) -> dict[str, LinkShape]:
    """What each direction between two DCs suffers, as `dc1->dc2`: the human view of the egress tables."""
    layers = list(overlays)
    links: dict[str, LinkShape] = {}
    for a in topology.dc_names():
        for b in topology.dc_names():
            if a != b:
                shape = spec.shape(a, b)
                for overlay in layers:
                    shape = shape.plus(overlay.shape_between(a, b))
                links[f"{a}->{b}"] = shape
    return links


def ingress_table(tables: Mapping[str, EgressTable], node: str) -> EgressTable:
    """The same links seen from the receiving end: peer -> shape of the link from that peer to `node`."""
    return {peer: table[node] for peer, table in sorted(tables.items()) if node in table}


def delay_classes(table: EgressTable) -> list[tuple[float, float]]:
    """Distinct (delay, jitter) pairs of one node's table: one delayer queue each."""
    return sorted({shape.delay_class for shape in table.values() if shape.delays})


# ---- flag parsing -------------------------------------------------------------------------------------------

def parse_pair_latencies(text: str) -> dict[DcPair, float]:
    """`dc1:dc2=1ms,dc1:dc3=30ms` -> {("dc1", "dc2"): 1.0, ("dc1", "dc3"): 30.0} (one-way latency per DC pair)."""
    pairs: dict[DcPair, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = re.match(r"^([a-z][a-z0-9-]*):([a-z][a-z0-9-]*)=(.+)$", item)
        if not match:
            raise HarnessError(f"{item!r} is not a DC-pair latency", hint="e.g. dc1:dc2=1ms,dc1:dc3=30ms")
        pairs[_pair(match.group(1), match.group(2))] = parse_duration_ms(match.group(3))
    return pairs


def _pair(a: str, b: str) -> DcPair:
    first, second = sorted((a, b))
    return (first, second)

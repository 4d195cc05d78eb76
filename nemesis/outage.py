"""A whole DC lost to the world, as a disaster-recovery drill assumes: `outage-<dc>` cuts every node of the DC
off from the other DCs *and* from the clients on the host; `disaster-<dc>` does the same and also destroys the
DC's brokers (SIGKILL, data dirs wiped) and stops its MirrorMaker 2. Heal lifts the cut; after a disaster the
brokers come back empty with their old ids (a replacement machine) and MirrorMaker 2 starts again.

The cut uses the partition nemesis's iptables chain, plus one rule for the bridge gateway: the host's clients
reach the containers from that address.
"""

from __future__ import annotations

import ipaddress
import re

from core.errors import HarnessError
from nemesis.base import Fault, NamedFamily, NemesisContext, Requirements
from nemesis.grudge import isolate_dc
from nemesis.partition import CHAIN, apply_grudge, heal_node

NAME = re.compile(r"^(outage|disaster)-([a-z][a-z0-9-]*)$")


def gateway(address: str) -> str:
    """The bridge gateway (the host) of a node's /24: its first address."""
    return str(ipaddress.IPv4Network(f"{address}/24", strict=False).network_address + 1)


class DcOutage:
    def __init__(self, dc: str, destroy: bool) -> None:
        self.dc = dc
        self.destroy = destroy
        self.name = f"{'disaster' if destroy else 'outage'}-{dc}"
        self.requires = Requirements(dc=dc)
        lost = "; its brokers destroyed (disks wiped) and its MirrorMaker 2 stopped" if destroy else ""
        self.description = f"{dc} cut off from the other DCs and from every client{lost}"

    def _nodes(self, ctx: NemesisContext) -> list[str]:
        nodes = [n.name for n in ctx.topology.in_dc(self.dc)]
        if not nodes:
            raise HarnessError(f"{self.name}: no DC named {self.dc!r}",
                               hint="DCs are " + ", ".join(ctx.topology.dc_names()))
        return nodes

    def start(self, ctx: NemesisContext) -> Fault:
        nodes = self._nodes(ctx)
        try:
            apply_grudge(ctx, isolate_dc(ctx.topology, self.dc))
            for node in nodes:
                ctx.nodes[node].remote.exec(f"iptables -w -A {CHAIN} -s {gateway(ctx.addresses[node])} -j DROP")
        except Exception:
            for node in nodes:
                heal_node(ctx, node)
            raise
        destroyed = []
        if self.destroy:
            for n in ctx.topology.in_dc(self.dc):
                if n.role in ("broker", "mirror"):
                    ctx.nodes[n.name].kill()
                if n.role == "broker":
                    ctx.nodes[n.name].wipe()
                    destroyed.append(n.name)
        return Fault(self.name, tuple(nodes), {"dc": self.dc, "clients_cut": True, "destroyed": destroyed})

    def _cut_nodes(self, ctx: NemesisContext) -> list[str]:
        """Every node holding a rule of the cut: the DC's own, and the other side, which drops the DC too."""
        return sorted(node for node, peers in isolate_dc(ctx.topology, self.dc).items() if peers)

    def stop(self, ctx: NemesisContext, fault: Fault) -> None:
        for node in self._cut_nodes(ctx):
            heal_node(ctx, node)
        if self.destroy:
            self._restart(ctx)

    def _restart(self, ctx: NemesisContext) -> None:
        for n in ctx.topology.in_dc(self.dc):
            node = ctx.nodes[n.name]
            if n.role in ("broker", "mirror") and node.status() == "stopped":
                if n.role == "broker":
                    node.format()  # an empty replacement disk; --ignore-formatted otherwise
                node.start()

    def heal_all(self, ctx: NemesisContext) -> None:
        for node in {*self._nodes(ctx), *self._cut_nodes(ctx)}:
            heal_node(ctx, node)
        if self.destroy:
            self._restart(ctx)


def parse(name: str) -> DcOutage | None:
    """`outage-dc1` / `disaster-dc2` -> the nemesis for that DC; None for any other name."""
    match = NAME.match(name)
    return DcOutage(match.group(2), match.group(1) == "disaster") if match else None


NEMESES: dict[str, type] = {}  # no fixed names: each is named after the DC it hits
FAMILIES = (
    NamedFamily("outage-<dc>", "a whole DC cut off from the other DCs and from the clients (a DR drill's outage)",
                lambda name: parse(name) if name.startswith("outage-") else None),
    NamedFamily("disaster-<dc>", "outage-<dc>, and the DC's brokers destroyed (disks wiped), MirrorMaker 2 stopped",
                lambda name: parse(name) if name.startswith("disaster-") else None),
)

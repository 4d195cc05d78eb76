"""WAN shaping with the kernel's netem, where the node's kernel has sch_netem (real machines, most distros).

Per node, one htb root qdisc of ours (handle 4a4a:, so heal removes only what we installed) whose default
class is unshaped; each distinct shape of the node's egress table gets its own class with a netem child, and
u32 filters send packets to a peer's address into that class. Peers in the same DC match no filter.
Every class is capped at 10 Gbit/s, far above what a test cluster sends.
"""

from __future__ import annotations

import re

from core.errors import HarnessError
from nemesis.base import NemesisContext
from nemesis.wan_plan import EgressTable, LinkShape

ROOT = "4a4a"
_CLASS = "rate 10gbit burst 2m cburst 2m quantum 200000"  # explicit burst: htb's computed one is 0 at this rate

# Where a probe device cannot be made we cannot tell, and say so (the caller falls back to nfqueue).
PROBE = ("ip link del kj-netem-probe 2>/dev/null; "
         "ip link add kj-netem-probe type dummy 2>/dev/null || ip link add kj-netem-probe type ifb "
         "|| { echo 'could not create a dummy or ifb device to probe for netem' >&2; exit 3; }; "
         "tc qdisc add dev kj-netem-probe root netem delay 1ms; rc=$?; ip link del kj-netem-probe; exit $rc")

CLEAR = (f"for dev in $(ls /sys/class/net); do tc qdisc show dev $dev 2>/dev/null | grep -q '^qdisc htb {ROOT}: root' "
         f"&& tc qdisc del dev $dev root; done; true")


def netem_args(shape: LinkShape) -> str:
    parts = []
    if shape.delays:
        parts.append(f"delay {shape.delay_ms:g}ms" + (f" {shape.jitter_ms:g}ms" if shape.jitter_ms else ""))
    if shape.drops:
        parts.append(f"loss {shape.loss_pct:g}%")
    return " ".join(parts)


def commands(dev: str, table: EgressTable, addresses: dict[str, str]) -> list[str]:
    """The tc commands that make `dev` shape exactly `table` (peer node -> shape); [] means unshaped."""
    clear = f"tc qdisc show dev {dev} | grep -q '^qdisc htb {ROOT}: root' && tc qdisc del dev {dev} root || true"
    if not table:
        return [clear]
    lines = [clear,
             f"tc qdisc replace dev {dev} root handle {ROOT}: htb default 1",
             f"tc class add dev {dev} parent {ROOT}: classid {ROOT}:1 htb {_CLASS}"]
    for i, shape in enumerate(sorted(set(table.values()))):
        minor = f"{0x10 + i:x}"
        lines += [f"tc class add dev {dev} parent {ROOT}: classid {ROOT}:{minor} htb {_CLASS}",
                  f"tc qdisc add dev {dev} parent {ROOT}:{minor} handle {minor}: netem {netem_args(shape)}"]
        for peer in sorted(p for p, s in table.items() if s == shape):
            lines.append(f"tc filter add dev {dev} parent {ROOT}: protocol ip prio 1 u32 "
                         f"match ip dst {addresses[peer]}/32 flowid {ROOT}:{minor}")
    return lines


class NetemShaper:
    name = "netem"

    def __init__(self) -> None:
        self._devices: dict[str, str] = {}
        self._applied: dict[str, EgressTable | None] = {}  # None: unknown (a script failed half-way)

    def sync(self, ctx: NemesisContext, node: str, tables: dict[str, EgressTable]) -> None:
        table = tables.get(node, {})
        if self._applied.get(node, {}) == table:
            return
        script = "set -e\n" + "\n".join(commands(self._device(ctx, node), table, dict(ctx.addresses)))
        self._applied[node] = None
        ctx.nodes[node].remote.exec(script)
        self._applied[node] = dict(table)

    def clear(self, ctx: NemesisContext, node: str) -> None:
        self._applied.pop(node, None)
        ctx.nodes[node].remote.exec(CLEAR, check=False)

    def _device(self, ctx: NemesisContext, node: str) -> str:
        """The interface the node uses to reach its peers (eth0 in a container; anything on a machine)."""
        if node not in self._devices:
            peer = next(p for p in ctx.addresses if p != node)
            route = ctx.nodes[node].remote.exec(f"ip -o route get {ctx.addresses[peer]}", check=False)
            match = re.search(r"\bdev (\S+)", route.stdout)
            if not match:
                raise HarnessError(f"{node}: cannot tell which interface reaches {peer} ({ctx.addresses[peer]})",
                                   hint=(route.stderr or route.stdout).strip() or "`ip route get` said nothing")
            self._devices[node] = match.group(1)
        return self._devices[node]

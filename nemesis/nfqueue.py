"""WAN shaping without netem: NFQUEUE and a userspace delayer per delay class, loss with iptables `statistic`.

Everything happens where a packet arrives. Per node, one chain of our own, HARNESS-WAN, jumped to from INPUT,
with for each peer in another DC (the shape of the link from that peer to this node):
    -s <peer> -m statistic --mode random --probability p -j DROP        (loss)
    -s <peer> -j NFQUEUE --queue-num N --queue-bypass                   (delay ± jitter)
Queue N is served by a delayer (nemesis/delayer.py) that holds each packet for that (delay, jitter) before
accepting it; --queue-bypass lets traffic through undelayed if the delayer is gone.

Why on arrival and not on departure like netem: a packet held on the sender's OUTPUT still counts against its
socket's TCP Small Queues budget (netem orphans the packet, userspace cannot), which throttled one TCP flow to
about 1 Mbit/s at 40 ms; held on the receiver's INPUT it no longer does (measured: 20 MB/s at 80 ms RTT).
A DROP in OUTPUT would also make the sender's own send fail with EPERM, which TCP retries rather than treating
as loss. Each direction of each link is still shaped exactly once, so an inter-DC round trip grows by
2 × latency. One side effect: tools that timestamp replies in the kernel (plain `ping`) do not see the delay
added to the reply on arrival; `ping -U` and TCP do.

A change of tables starts the new delayers first, swaps a node's chain atomically (iptables-restore
--noflush), then ends the delayers no longer used, so no packet is ever sent to an unserved queue.

Delayers run on the host (they need the netfilterqueue package, which the node image does not have) inside
the node's network namespace (`nsenter -t <pid> -n`), registered with the run's HostProcesses so teardown
and `harness clean` end them. This needs a node that is a Docker container on this host.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from core.errors import HarnessError
from core.waiting import wait_until
from infra.host_processes import HostProcesses
from nemesis.base import NemesisContext
from nemesis.wan_plan import EgressTable, delay_classes, ingress_table

CHAIN = "HARNESS-WAN"
FIRST_QUEUE = 1000
DELAYER = Path(__file__).resolve().with_name("delayer.py")
PROCESS_PREFIX = "wan-"
BIND_TIMEOUT = 15.0

PROBE = ("iptables -w -N KJ-WAN-PROBE 2>/dev/null; iptables -w -F KJ-WAN-PROBE; "
         "iptables -w -A KJ-WAN-PROBE -d 127.0.0.2/32 -j NFQUEUE --queue-num 9 --queue-bypass "
         "&& iptables -w -A KJ-WAN-PROBE -s 127.0.0.2/32 -m statistic --mode random --probability 0.5 -j DROP; "
         "rc=$?; iptables -w -F KJ-WAN-PROBE; iptables -w -X KJ-WAN-PROBE; exit $rc")

CLEAR = (f"while iptables -w -D INPUT -j {CHAIN} 2>/dev/null; do :; done; "
         f"iptables -w -F {CHAIN} 2>/dev/null; iptables -w -X {CHAIN} 2>/dev/null; true")

BOUND_QUEUES = "cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null || true"


@runtime_checkable
class InNetns(Protocol):
    """A node whose network namespace this host can enter (a Docker container here)."""

    def netns_pid(self) -> int: ...


DelayClass = tuple[float, float]


def chain_rules(table: EgressTable, addresses: Mapping[str, str], queues: Mapping[DelayClass, int]) -> list[str]:
    """`table` is what arrives: peer -> shape of the link from it. Drop first: a lost packet is not delayed."""
    rules = []
    for peer, shape in sorted(table.items()):
        source = f"-A {CHAIN} -s {addresses[peer]}/32"
        if shape.drops:
            rules.append(f"{source} -m statistic --mode random --probability {shape.loss_pct / 100:.6g} -j DROP")
        if shape.delays:
            rules.append(f"{source} -j NFQUEUE --queue-num {queues[shape.delay_class]} --queue-bypass")
    return rules


def chain_script(rules: list[str]) -> str:
    """Replace the chain's rules in one transaction, then make sure INPUT jumps to it."""
    restore = "\n".join(["*filter", f":{CHAIN} - [0:0]", *rules, "COMMIT"])
    return (f"set -e\niptables-restore -w --noflush <<'EOF'\n{restore}\nEOF\n"
            f"iptables -w -C INPUT -j {CHAIN} 2>/dev/null || iptables -w -I INPUT -j {CHAIN}\n")


def parse_bound_queues(proc_text: str) -> set[int]:
    """Queue numbers bound in a namespace, from /proc/net/netfilter/nfnetlink_queue (first column)."""
    return {int(line.split()[0]) for line in proc_text.splitlines() if line.split() and line.split()[0].isdigit()}


def host_unavailable() -> str | None:
    """Why this host cannot run delayers, or None."""
    if os.geteuid() != 0:
        return "entering a node's network namespace needs root"
    if shutil.which("nsenter") is None:
        return "nsenter is not installed (Debian: util-linux)"
    if importlib.util.find_spec("netfilterqueue") is None:
        return (f"the Python package netfilterqueue is missing for {sys.executable} "
                f"(pip install 'kafka-jepsen[delay]'; building it needs libnetfilter-queue-dev)")
    return None


def unavailable(ctx: NemesisContext, node: str) -> str | None:
    """Why nfqueue shaping cannot run on this run's nodes (checked on `node`), or None."""
    if ctx.host is None:
        return "no host-process registry in this context to own the delayers"
    if not isinstance(ctx.nodes[node].remote, InNetns):
        return (f"{node} is not a container on this host, so no delayer can enter its network namespace "
                f"(on real machines WAN shaping needs sch_netem)")
    reason = host_unavailable()
    if reason:
        return reason
    probe = ctx.nodes[node].remote.exec(PROBE, check=False)
    if not probe.ok:
        detail = (probe.stderr or probe.stdout).strip().splitlines()
        return f"iptables on {node} cannot NFQUEUE or match statistic: {detail[-1] if detail else 'no output'}"
    return None


def process_name(node: str, queue: int) -> str:
    return f"{PROCESS_PREFIX}{node}-q{queue}"


class NfqueueShaper:
    name = "nfqueue"

    def __init__(self) -> None:
        self._queues: dict[str, dict[DelayClass, int]] = {}  # node -> delay class -> queue with a delayer
        self._applied: dict[str, EgressTable | None] = {}  # None: unknown (a change failed half-way)

    def sync(self, ctx: NemesisContext, node: str, tables: dict[str, EgressTable]) -> None:
        arriving = ingress_table(tables, node)
        if self._applied.get(node, {}) == arriving:
            return
        self._applied[node] = None
        current = self._queues.get(node, {})
        queues = {c: current[c] for c in delay_classes(arriving) if c in current}
        started: list[int] = []
        try:
            for delay_class in delay_classes(arriving):
                if delay_class not in queues:
                    queue = _free_queue({*current.values(), *queues.values()})
                    self._start_delayer(ctx, node, queue, delay_class)
                    started.append(queue)
                    queues[delay_class] = queue
            rules = chain_rules(arriving, ctx.addresses, queues)
            ctx.nodes[node].remote.exec(chain_script(rules) if rules else CLEAR)
        except BaseException:
            for queue in started:
                _host(ctx).stop(process_name(node, queue))
            raise
        for delay_class, queue in current.items():
            if queues.get(delay_class) != queue:
                _host(ctx).stop(process_name(node, queue))  # no rule sends to it any more
        self._queues[node] = queues
        self._applied[node] = arriving

    def clear(self, ctx: NemesisContext, node: str) -> None:
        """Remove the chains first (traffic stops going to the queues), then end the node's delayers."""
        self._applied.pop(node, None)
        queues = self._queues.pop(node, {})
        try:
            ctx.nodes[node].remote.exec(CLEAR, check=False)
        finally:  # a node that is gone still has delayers on this host to end
            for queue in queues.values():
                _host(ctx).stop(process_name(node, queue))
            if ctx.host is not None and ctx.host.directory.exists():  # also any a lost shaper started
                for pidfile in ctx.host.directory.glob(f"{PROCESS_PREFIX}{node}-q*.pid"):
                    ctx.host.stop(pidfile.stem)

    def _start_delayer(self, ctx: NemesisContext, node: str, queue: int, delay_class: DelayClass) -> None:
        host, remote = _host(ctx), ctx.nodes[node].remote
        if not isinstance(remote, InNetns):
            raise HarnessError(f"{node} is not a container on this host: nfqueue shaping cannot reach it")
        delay_ms, jitter_ms = delay_class
        name = process_name(node, queue)
        argv = ["nsenter", "-t", str(remote.netns_pid()), "-n", "--", sys.executable, str(DELAYER),
                "--queue", str(queue), "--delay-ms", f"{delay_ms:g}", "--jitter-ms", f"{jitter_ms:g}",
                "--marker", host.marker()]
        handle, log_name = tempfile.mkstemp(prefix=f"kafka-jepsen-{host.run_id}-{name}-", suffix=".log")
        os.close(handle)
        log = Path(log_name)
        try:
            process = host.start(name, argv, log)
            outcome = wait_until(
                lambda: "exited" if process.poll() is not None else queue in parse_bound_queues(
                    remote.exec(BOUND_QUEUES, check=False).stdout),
                BIND_TIMEOUT, f"the packet delayer of {node} to bind queue {queue}", interval=0.1)
            if outcome == "exited":
                lines = log.read_text(errors="replace").strip().splitlines()
                raise HarnessError(f"the packet delayer of {node} exited at start: "
                                   f"{lines[-1] if lines else 'no output'}")
        except BaseException:
            host.stop(name)
            raise
        finally:
            log.unlink(missing_ok=True)


def _free_queue(used: set[int]) -> int:
    queue = FIRST_QUEUE
    while queue in used:
        queue += 1
    return queue


def _host(ctx: NemesisContext) -> HostProcesses:
    if ctx.host is None:
        raise HarnessError("nfqueue shaping needs the run's host-process registry (NemesisContext.host)")
    return ctx.host

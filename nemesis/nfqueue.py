"""WAN shaping without netem: NFQUEUE and a userspace delayer per delay class, loss with iptables `statistic`.

Per node, two chains of our own:
- HARNESS-WAN (jumped to from OUTPUT): `-d <peer> -j NFQUEUE --queue-num N --queue-bypass` for each peer in
  another DC; queue N is served by a delayer (nemesis/delayer.py) holding packets for that (delay, jitter).
  --queue-bypass lets traffic through undelayed if the delayer is gone.
- HARNESS-WAN-IN (jumped to from INPUT): `-s <peer> -m statistic --mode random --probability p -j DROP`.
  Loss is applied where the packet arrives, not where it leaves: a DROP in OUTPUT makes the sender's own
  send() fail with EPERM, which TCP treats as "try again" rather than as a lost segment. Dropping on arrival
  is a real loss, the same one netem's egress loss gives.

A change of tables starts the new delayers first, swaps a node's chains atomically (iptables-restore
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

from harness.errors import HarnessError
from harness.host_processes import HostProcesses
from harness.waiting import wait_until
from nemesis.base import NemesisContext
from nemesis.wan_plan import EgressTable, delay_classes, ingress_loss

OUT_CHAIN = "HARNESS-WAN"
IN_CHAIN = "HARNESS-WAN-IN"
FIRST_QUEUE = 1000
DELAYER = Path(__file__).resolve().with_name("delayer.py")
PROCESS_PREFIX = "wan-"
BIND_TIMEOUT = 15.0

PROBE = ("iptables -w -N KJ-WAN-PROBE 2>/dev/null; iptables -w -F KJ-WAN-PROBE; "
         "iptables -w -A KJ-WAN-PROBE -d 127.0.0.2/32 -j NFQUEUE --queue-num 9 --queue-bypass "
         "&& iptables -w -A KJ-WAN-PROBE -s 127.0.0.2/32 -m statistic --mode random --probability 0.5 -j DROP; "
         "rc=$?; iptables -w -F KJ-WAN-PROBE; iptables -w -X KJ-WAN-PROBE; exit $rc")

CLEAR = (f"while iptables -w -D OUTPUT -j {OUT_CHAIN} 2>/dev/null; do :; done; "
         f"while iptables -w -D INPUT -j {IN_CHAIN} 2>/dev/null; do :; done; "
         f"for c in {OUT_CHAIN} {IN_CHAIN}; do iptables -w -F $c 2>/dev/null; iptables -w -X $c 2>/dev/null; done; "
         "true")

BOUND_QUEUES = "cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null || true"


@runtime_checkable
class InNetns(Protocol):
    """A node whose network namespace this host can enter (a Docker container here)."""

    def netns_pid(self) -> int: ...


DelayClass = tuple[float, float]


def output_rules(table: EgressTable, addresses: Mapping[str, str], queues: Mapping[DelayClass, int]) -> list[str]:
    return [f"-A {OUT_CHAIN} -d {addresses[peer]}/32 -j NFQUEUE --queue-num {queues[shape.delay_class]} "
            f"--queue-bypass" for peer, shape in sorted(table.items()) if shape.delays]


def input_rules(loss: Mapping[str, float], addresses: Mapping[str, str]) -> list[str]:
    return [f"-A {IN_CHAIN} -s {addresses[peer]}/32 -m statistic --mode random --probability {pct / 100:.6g} -j DROP"
            for peer, pct in sorted(loss.items())]


def chains_script(out_rules: list[str], in_rules: list[str]) -> str:
    """Replace both chains' rules in one transaction, then make sure OUTPUT and INPUT jump to them."""
    restore = "\n".join(["*filter", f":{OUT_CHAIN} - [0:0]", f":{IN_CHAIN} - [0:0]", *out_rules, *in_rules,
                         "COMMIT"])
    return (f"set -e\niptables-restore -w --noflush <<'EOF'\n{restore}\nEOF\n"
            f"iptables -w -C OUTPUT -j {OUT_CHAIN} 2>/dev/null || iptables -w -I OUTPUT -j {OUT_CHAIN}\n"
            f"iptables -w -C INPUT -j {IN_CHAIN} 2>/dev/null || iptables -w -I INPUT -j {IN_CHAIN}\n")


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
        self._applied: dict[str, tuple[EgressTable, dict[str, float]] | None] = {}

    def sync(self, ctx: NemesisContext, node: str, tables: dict[str, EgressTable]) -> None:
        egress, loss = tables.get(node, {}), ingress_loss(tables, node)
        if self._applied.get(node, ({}, {})) == (egress, loss):
            return
        self._applied[node] = None  # unknown until every step below succeeded
        current = self._queues.get(node, {})
        queues = {c: current[c] for c in delay_classes(egress) if c in current}
        started: list[int] = []
        try:
            for delay_class in delay_classes(egress):
                if delay_class not in queues:
                    queue = _free_queue({*current.values(), *queues.values()})
                    self._start_delayer(ctx, node, queue, delay_class)
                    started.append(queue)
                    queues[delay_class] = queue
            ctx.nodes[node].remote.exec(chains_script(output_rules(egress, ctx.addresses, queues),
                                                      input_rules(loss, ctx.addresses)) if egress or loss else CLEAR)
        except BaseException:
            for queue in started:
                _host(ctx).stop(process_name(node, queue))
            raise
        for delay_class, queue in current.items():
            if queues.get(delay_class) != queue:
                _host(ctx).stop(process_name(node, queue))  # no rule sends to it any more
        self._queues[node] = queues
        self._applied[node] = (dict(egress), loss)

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

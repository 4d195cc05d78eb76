"""A userspace packet delayer for kernels without sch_netem: holds every packet of one NFQUEUE for a fixed
delay (± uniform jitter) and then lets it go on. Standalone on purpose (no project imports): the harness
starts it on the host inside a node's network namespace,

    nsenter -t <node pid> -n python3 nemesis/delayer.py --queue 1000 --delay-ms 40 --jitter-ms 5 \\
        --marker kafka-jepsen-run=<run-id>

and an iptables rule in that namespace sends the packets to be delayed to the queue (`-j NFQUEUE --queue-num
1000 --queue-bypass`, so traffic flows undelayed if this process is gone). The marker only identifies the
process as the run's, so teardown and `harness clean` end exactly it.

Packets leave in the order they came (a later packet never overtakes an earlier one, unlike netem with
jitter): reordering would look like loss to TCP. On SIGTERM every held packet is released at once.
Needs the PyPI package netfilterqueue (Debian: libnetfilter-queue-dev to build it) and CAP_NET_ADMIN.
"""

from __future__ import annotations

import argparse
import collections
import random
import select
import signal
import socket
import sys
import time
import warnings
from typing import Any


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Delay the packets of one NFQUEUE.")
    parser.add_argument("--queue", type=int, required=True, help="NFQUEUE number to bind")
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay added to every packet")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="uniform jitter, ± this many ms")
    parser.add_argument("--marker", required=True, help="kafka-jepsen-run=<run-id>: whose process this is")
    parser.add_argument("--max-held", type=int, default=20000, help="kernel queue length (packets held at once)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if args.delay_ms < 0 or args.jitter_ms < 0:
        parser.error("delay and jitter must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from netfilterqueue import COPY_PACKET, NetfilterQueue  # imported late: --help works without it

    rng = random.Random(args.seed)
    held: collections.deque[tuple[float, Any]] = collections.deque()
    last_release = 0.0
    stopping = False

    def on_packet(packet: Any) -> None:
        nonlocal last_release
        delay = max(0.0, args.delay_ms + rng.uniform(-args.jitter_ms, args.jitter_ms)) / 1000.0
        last_release = max(time.monotonic() + delay, last_release)
        held.append((last_release, packet))  # the verdict is given later, when the delay has passed

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    wake_r, wake_w = socket.socketpair()
    for end in (wake_r, wake_w):
        end.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())  # a signal wakes select() at once
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)

    queue = NetfilterQueue()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "rcvbuf limit is now N": harmless at test rates
        # Only headers are copied to us (range=64): the kernel keeps the packet and we only give a verdict.
        queue.bind(args.queue, on_packet, max_len=args.max_held, mode=COPY_PACKET, range=64)
    print(f"delayer {args.marker}: queue {args.queue} bound, delay {args.delay_ms:g} ms "
          f"± {args.jitter_ms:g} ms", flush=True)
    fd = queue.get_fd()
    try:
        while not stopping:
            timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
            readable, _, _ = select.select([fd, wake_r.fileno()], [], [], timeout)
            if wake_r.fileno() in readable:
                _drain(wake_r)
            if fd in readable:
                queue.run(block=False)
            now = time.monotonic()
            while held and held[0][0] <= now:
                held.popleft()[1].accept()
    finally:
        while held:  # late rather than lost: whoever stops us wants the network back
            try:
                held.popleft()[1].accept()
            except RuntimeError:
                pass
        queue.unbind()
    print(f"delayer {args.marker}: queue {args.queue} released", flush=True)
    return 0


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(512):
            pass
    except BlockingIOError:
        pass


if __name__ == "__main__":
    sys.exit(main())

"""Request-level faults: hold back chosen Kafka requests (by API key) on the client→broker connections and let
them go later, through the request proxy (infra/request_proxy.py) the run puts between the clients and every
broker when one of these is selected. Named `<mode>-<request>`:

- `delay-<request>`: every such request is held for the fault's window; later requests on its connection wait
  behind it. A client that gives up and reconnects does not take it back: it reaches the broker at release on a
  fresh connection (the answer is thrown away).
- `delay-first-<request>`: only the first such request of the window is held (a one-off stall): the client times
  out, retries on a new connection and moves on, and the stale original lands later — KAFKA-17754's timeline.
- `strand-first-<request>`: the first such request of the window is held and its client's connection cut at
  once (the network lost the connection, not the bytes): the client retries on a new connection at once and moves
  on; the stranded original reaches the broker at release. librdkafka waited out a merely delayed EndTxn (6 s,
  request.timeout.ms 3 s) on its connection in the one run made, so with it this, not `delay-first-`, is
  KAFKA-17754's timeline.
- `drop-<request>`: held, then discarded at release.
- `duplicate-<request>`: let through at once, and a copy delivered at release on a fresh connection.

`<request>` is a name below or `api<N>` for any API key, several joined by `+` (`delay-endtxn+produce`). The
fault counts as injected only if it held at least one request (EffectOnStop): a hold that met no such request
tested nothing. Nothing is chosen at random, so a seed replays it exactly; the random schedule picks among the
selected nemeses with the run's seeded RNG as for every nemesis.
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import HarnessError
from infra.request_proxy import RequestProxy
from nemesis.base import Fault, NamedFamily, NemesisContext, Requirements

API_KEYS = {
    "produce": 0, "fetch": 1, "metadata": 3, "offset-commit": 8, "find-coordinator": 10, "join-group": 11,
    "heartbeat": 12, "sync-group": 14, "init-producer-id": 22, "add-partitions-to-txn": 24,
    "add-offsets-to-txn": 25, "endtxn": 26, "txn-offset-commit": 28,
}
MODES = {"delay": ("delay", None), "delay-first": ("delay", 1), "drop": ("drop", None),
         "duplicate": ("duplicate", None), "strand-first": ("strand", 1)}
NAME = re.compile(r"^(delay-first|delay|drop|duplicate|strand-first)-([a-z0-9+-]+)$")
REQUIRES = Requirements(request_proxy=True, why="the request proxy must be between the clients and the brokers")
_WHAT = {"delay": "hold {what} on every client connection for the fault's window; release them in order (a client "
                  "that reconnected meanwhile gets its held ones delivered late on a fresh connection)",
         "delay-first": "hold the first of the {what} in the window; it reaches the broker at release, after the "
                        "client timed out and moved on",
         "drop": "discard {what} on every client connection for the fault's window",
         "strand-first": "hold the first of the {what} in the window and cut its client's connection at once; the "
                         "client retries on a new connection and moves on, the original reaches the broker at release "
                         "on a fresh connection",
         "duplicate": "let {what} through, and deliver a copy of each on a fresh connection at release"}


def api_key(name: str) -> int | None:
    if name in API_KEYS:
        return API_KEYS[name]
    match = re.fullmatch(r"api(\d{1,4})", name)
    return int(match.group(1)) if match else None


class RequestHold:
    """One `<mode>-<request>` nemesis; an EffectOnStop (what it held is known when it is released)."""

    requires = REQUIRES
    counts_at_stop = True

    def __init__(self, name: str, mode: str, api_keys: frozenset[int], limit: int | None, what: str) -> None:
        self.name = name
        self.description = _WHAT[_mode_of(name)].format(what=what + " requests")
        self.mode = mode
        self.api_keys = api_keys
        self.limit = limit

    def start(self, ctx: NemesisContext) -> Fault:
        proxy = _proxy(ctx, self.name)
        rule = proxy.hold(self.api_keys, self.mode, self.limit)
        return Fault(self.name, tuple(sorted(proxy.ports)), {
            "rule": rule, "api_keys": sorted(self.api_keys), "mode": self.mode, "limit": self.limit})

    def stop(self, ctx: NemesisContext, fault: Fault) -> dict[str, Any]:
        """Release what the fault's rule holds; the report of what it held goes into the stop event."""
        report = _proxy(ctx, self.name).release(int(fault.details["rule"]))
        return {**report, "effective": int(report.get("held_total", 0)) > 0}

    def heal_all(self, ctx: NemesisContext) -> None:
        if ctx.requests is not None:
            ctx.requests.release_all()


def _mode_of(name: str) -> str:
    match = NAME.match(name)
    assert match is not None
    return match.group(1)


def _proxy(ctx: NemesisContext, name: str) -> RequestProxy:
    if ctx.requests is None:
        raise HarnessError(f"{name}: no request proxy between the clients and the brokers in this run",
                           hint="request nemeses need a cluster in containers started by `harness run`")
    return ctx.requests


def parse(name: str) -> RequestHold | None:
    """`delay-endtxn`, `delay-first-endtxn`, `drop-produce`, `duplicate-api26+produce` -> the nemesis; None for a
    name of another family. A name of this shape with an unknown request is a user error, with the known ones."""
    match = NAME.match(name)
    if match is None:
        return None
    mode, requests = match.groups()
    keys = []
    for request in requests.split("+"):
        key = api_key(request)
        if key is None:
            raise HarnessError(f"nemesis {name}: unknown request {request!r}",
                               hint="known: " + ", ".join(sorted(API_KEYS)) + ", or api<N> for API key N")
        keys.append(key)
    kind, limit = MODES[mode]
    return RequestHold(name, kind, frozenset(keys), limit, requests.replace("+", " and "))


NEMESES: dict[str, type] = {}  # every one is named after the requests it holds
FAMILIES = (
    NamedFamily("delay-<request>", "hold every <request> (endtxn, add-partitions-to-txn, produce, txn-offset-commit, "
                "api<N>, joined by +) for the fault's window, in connection order; a reconnected client's held "
                "ones reach the broker late on a fresh connection", lambda n: parse(n) if _is(n, "delay") else None),
    NamedFamily("delay-first-<request>", "hold only the first <request> of the window: the client retries on a new "
                "connection and moves on, the original lands at release (KAFKA-17754)",
                lambda n: parse(n) if _is(n, "delay-first") else None),
    NamedFamily("strand-first-<request>", "hold the first <request> of the window and cut its client's connection: "
                "the client retries on a new one and moves on, the original lands at release (KAFKA-17754)",
                lambda n: parse(n) if _is(n, "strand-first") else None),
    NamedFamily("drop-<request>", "discard every <request> for the fault's window",
                lambda n: parse(n) if _is(n, "drop") else None),
    NamedFamily("duplicate-<request>", "let every <request> through and deliver a copy on a fresh connection at "
                "release", lambda n: parse(n) if _is(n, "duplicate") else None),
)


def _is(name: str, mode: str) -> bool:
    match = NAME.match(name)
    return match is not None and match.group(1) == mode

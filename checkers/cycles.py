"""Elle-style cycle search over the transaction dependency graph, and cycles explained step by step.

Strongly connected components first (linear in edges); then, inside each component, a shortest cycle per
class: G0 (ww edges only), G1c (wr edges only: circular information flow), G1c-ww (ww and wr, at least one of
each, where no pure-wr cycle explains the component), G-single (exactly one rw), G2 (more than one rw).

Kafka does not isolate concurrent transactions' writes: two transactions may append to one partition in one
order and to another in the other, so ww edges (log order) can form cycles, alone (G0) or with wr edges
(G1c-ww), in a correct cluster; jepsen.tests.kafka allows both. Only the pure-wr G1c breaks read committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from checkers.evidence import Evidence
from checkers.graph import shortest_path, strongly_connected
from checkers.log import NONE
from checkers.result import Anomaly
from checkers.txns import RW, WR, WW, Graph, TxnTable

RW_TRIES = 32  # rw edges tried per component when looking for a G-single cycle; bounds the work
BIT = (1 << WW, 1 << WR, 1 << RW)
WW_ONLY, NO_RW, ANY = BIT[WW], BIT[WW] | BIT[WR], BIT[WW] | BIT[WR] | BIT[RW]

Cycle = list[tuple[int, int, int]]  # (from, to, kind) steps


def find_cycles(graph: Graph) -> list[tuple[str, Cycle]]:
    succ = graph.succ
    nodes = [n for n in range(graph.size) if succ[n]]
    found: list[tuple[str, Cycle]] = []
    for component in strongly_connected(nodes, succ.__getitem__, graph.size):
        members = set(component)
        found.extend(("G0", c) for _, c in _cycles_within(graph, members, WW_ONLY, WW))
        pure = _cycles_within(graph, members, BIT[WR], WR)
        found.extend(("G1c", c) for _, c in pure)
        explained = set().union(*(inside for inside, _ in pure))
        found.extend(("G1c-ww", c) for inside, c in _cycles_within(graph, members, NO_RW, WR)
                     if not inside & explained)
        cycle = _rw_cycle(graph, members)
        if cycle is not None:
            rws = sum(1 for _, _, kind in cycle if kind == RW)
            found.append(("G-single" if rws == 1 else "G2", cycle))
    return found


def _successors(graph: Graph, members: set[int], allowed: int) -> Any:
    succ = graph.succ
    return lambda n: [v for v, mask in succ[n].items() if mask & allowed and v in members]


def _label(graph: Graph, path: Sequence[int], allowed: int) -> Cycle:
    """Steps of a node path, each edge labelled with its least anti-dependent allowed kind (ww, then wr, rw)."""
    steps = []
    for u, v in zip(path, path[1:], strict=False):
        mask = graph.succ[u][v] & allowed
        steps.append((u, v, next(k for k in (WW, WR, RW) if mask & BIT[k])))
    return steps


def _cycles_within(graph: Graph, members: set[int], allowed: int, needed: int) -> list[tuple[set[int], Cycle]]:
    """One cycle per strongly connected component of the `allowed` subgraph, through a `needed`-kind edge, with
    that component's nodes."""
    successors = _successors(graph, members, allowed)
    cycles: list[tuple[set[int], Cycle]] = []
    for sub in strongly_connected(sorted(members), successors):
        inside = set(sub)
        edge = next(((u, v) for u in sub for v, mask in graph.succ[u].items()
                     if v in inside and mask & BIT[needed]), None)
        if edge is None:
            continue
        u, v = edge
        path = shortest_path(v, u, _successors(graph, inside, allowed))
        if path is not None:
            cycles.append((inside, [(u, v, needed), *_label(graph, path, allowed)]))
    return cycles


def _rw_cycle(graph: Graph, members: set[int]) -> Cycle | None:
    """A cycle through an rw edge: with only that one if one is found in RW_TRIES tries, else any."""
    rw_edges = [(u, v) for u in sorted(members) for v, mask in graph.succ[u].items()
                if v in members and mask & BIT[RW]]
    without_rw = _successors(graph, members, NO_RW)
    for u, v in rw_edges[:RW_TRIES]:
        path = shortest_path(v, u, without_rw, budget=4 * len(members) + 16)
        if path is not None:
            return [(u, v, RW), *_label(graph, path, NO_RW)]
    if not rw_edges:
        return None
    u, v = rw_edges[0]
    path = shortest_path(v, u, _successors(graph, members, ANY))
    return [(u, v, RW), *_label(graph, path, ANY)] if path is not None else None


# ---- explanation -----------------------------------------------------------------------------------------

def explain_cycle(name: str, cycle: Cycle, graph: Graph, txns: TxnTable, evidence: Evidence) -> Anomaly:
    order = _first_seen(u for u, _, _ in cycle)
    label = {node: f"T{i + 1}" for i, node in enumerate(order)}
    who = "; ".join(f"{label[n]} = txn op {txns.op(n)} (process {txns.process[n]!r})" for n in order)
    steps, sentences = [], []
    for u, v, kind in cycle:
        step, sentence = _step(graph, evidence, label, txns, u, v, kind)
        steps.append(step)
        sentences.append(sentence)
    kinds = sorted({k for _, _, k in cycle})
    first = label[cycle[0][0]]
    explanation = (f"{who}. " + " ".join(f"{i + 1}. {s}" for i, s in enumerate(sentences)) +
                   f" So {first} must come before itself: a cycle of {'+'.join(('ww', 'wr', 'rw')[k] for k in kinds)}"
                   f" dependencies ({name}).")
    ops = [i for n in order for i in (txns.invoke[n], txns.done[n])]
    return evidence(name, ops, explanation, cycle=steps, txns=[txns.op(n) for n in order])


def _first_seen(nodes: Iterable[int]) -> list[int]:
    seen: dict[int, None] = {}
    for n in nodes:
        seen.setdefault(n, None)
    return list(seen)


def _step(graph: Graph, evidence: Evidence, label: dict[int, str], txns: TxnTable, u: int, v: int,
          kind: int) -> tuple[dict[str, Any], str]:
    pid, o1, o2, r1, r2 = graph.facts[(u, v, kind)]
    log = evidence.log
    where = log.name(pid)
    a, b = label[u], label[v]
    step: dict[str, Any] = {"from": txns.op(u), "to": txns.op(v), "type": ("ww", "wr", "rw")[kind],
                            "topic": log.partitions[pid][0], "partition": log.partitions[pid][1]}
    if kind == WW:
        step.update(offsets=[o1, o2], values=[evidence.value(r1), evidence.value(r2)])
        text = (f"{a} < {b} (ww): {a} wrote {evidence.value(r1)!r} at {where} offset {o1}, and the next "
                f"transactional write there is {b}'s {evidence.value(r2)!r} at offset {o2}.")
    elif kind == WR:
        step.update(offset=o1, value=evidence.value(r1))
        text = f"{a} < {b} (wr): {b} read {evidence.value(r1)!r} at {where} offset {o1}, which {a} wrote."
    else:
        step.update(read_up_to=o1, next_write={"offset": o2, "value": evidence.value(r2)})
        text = (f"{a} < {b} (rw): {a} read {where} only up to offset {o1}, so it did not see {b}'s "
                f"{evidence.value(r2)!r} at offset {o2}, the next transactional write there.")
    if r1 == NONE and kind != RW:
        step.pop("value", None)
    return step, text

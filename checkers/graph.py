"""Graph algorithms for the cycle search, iterative so that no history is too deep for Python's stack.

`strongly_connected` is Tarjan's algorithm, linear in the edges it is shown; `shortest_path` is a BFS.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence

Successors = Callable[[int], Iterable[int]]


def strongly_connected(nodes: Iterable[int], successors: Successors, size: int | None = None) -> list[list[int]]:
    """Components with more than one node (no node has an edge to itself here), in discovery order. With `size`,
    nodes (and their successors) are ints below it and the bookkeeping is lists (a whole graph); without, dicts
    (a small part of a big one). Indexes count from 1: 0 is a node not visited yet."""
    index: list[int] | defaultdict[int, int] = [0] * size if size is not None else defaultdict(int)
    low: list[int] | defaultdict[int, int] = [0] * size if size is not None else defaultdict(int)
    on_stack: list[bool] | defaultdict[int, bool] = [False] * size if size is not None else defaultdict(bool)
    stack: list[int] = []
    found: list[list[int]] = []
    counter = 1
    for root in nodes:
        if index[root]:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        work = [(root, iter(successors(root)))]
        while work:
            node, children = work[-1]
            pushed = False
            for child in children:
                if not index[child]:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack[child] = True
                    work.append((child, iter(successors(child))))
                    pushed = True
                    break
                if on_stack[child] and index[child] < low[node]:
                    low[node] = index[child]
            if pushed:
                continue
            work.pop()
            if work and low[node] < low[work[-1][0]]:
                low[work[-1][0]] = low[node]
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    component.reverse()
                    found.append(component)
    return found


def shortest_path(start: int, goal: int, successors: Successors, budget: int = 1_000_000) -> Sequence[int] | None:
    """Nodes of a shortest path start -> ... -> goal, or None (also when `budget` nodes were visited)."""
    parent: dict[int, int] = {start: start}
    queue = deque([start])
    while queue and budget > 0:
        node = queue.popleft()
        budget -= 1
        for child in successors(node):
            if child in parent:
                continue
            parent[child] = node
            if child == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                path.reverse()
                return path
            queue.append(child)
    return None

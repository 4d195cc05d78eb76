"""What the history says about MirrorMaker 2: which remote topics were read in which cluster, and what they held.

A *remote topic* is a topic MirrorMaker 2 wrote into a target cluster: `<source cluster>.<topic>` with the default
replication policy, partition kept, offsets not. `mirror-poll` ops read them, `mirror-drain` ops close them
(docs/history-format.md). The tracker keeps each remote partition's reads as three parallel arrays, in history
order; mirror.py decides the anomalies from them once the whole history is in.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from checkers.log import Value, hashable

MIRROR_OPS = frozenset({"mirror-poll", "mirror-drain"})
ARROW = "→"


@dataclass(frozen=True)
class Flow:
    """One remote topic in one target cluster: whose sends it copies, and along which clusters."""

    target: str
    remote_topic: str
    origin: str  # the cluster where the records were sent
    topic: str  # ... and their topic there
    path: tuple[str, ...]  # origin, every cluster it was copied through, target
    cycle: bool  # the path (or the topic's name) passes through one cluster twice, or through the target
    first_op: int  # the first mirror op that named this remote topic

    @property
    def name(self) -> str:
        return ARROW.join(self.path)

    def where(self, partition: int | None = None) -> str:
        """`dc2:dc1.jepsen-aa/0`, as the explanations name a remote partition."""
        return f"{self.target}:{self.remote_topic}" + (f"/{partition}" if partition is not None else "")


@dataclass
class RemotePartition:
    """Every record mirror polls read from one partition of a remote topic, in history order."""

    values: list[Value] = field(default_factory=list)
    offsets: array[int] = field(default_factory=lambda: array("q"))
    ops: array[int] = field(default_factory=lambda: array("q"))


@dataclass(frozen=True)
class Declared:
    target: str
    remote_topic: str
    source_cluster: str
    source_topic: str
    op: int


class MirrorTracker:
    def __init__(self) -> None:
        self.declared: dict[tuple[str, str], Declared] = {}  # (target, remote topic) -> its first mention
        self.reads: dict[tuple[str, str], dict[int, RemotePartition]] = {}  # (target, remote topic) -> partitions
        self.drains: dict[tuple[str, str, int], tuple[int, int]] = {}  # -> (high watermark, op) of the last ok
        self.records = 0

    def _declare(self, op: int, invoked: Any, value: Any) -> tuple[str, str]:
        def get(name: str) -> Any:
            found = value.get(name) if isinstance(value, dict) else None
            return found if found is not None else invoked[name]

        target, topic = get("cluster"), get("topic")
        key = (target, topic)
        if key not in self.declared:
            source_cluster, source_topic = get("source_cluster"), get("source_topic")
            if not all(type(s) is str for s in (target, topic, source_cluster, source_topic)):
                raise TypeError("cluster, topic, source_cluster and source_topic must be strings")
            self.declared[key] = Declared(target, topic, source_cluster, source_topic, op)
        return key

    def read(self, op: int, invoked: Any, value: Any) -> None:
        """An ok `mirror-poll`."""
        key = self._declare(op, invoked, value)
        partitions = self.reads.setdefault(key, {})
        topic = key[1]
        for record in value["records"]:
            partition, offset, v = record["partition"], record["offset"], record["value"]
            if record.get("topic", topic) != topic:
                raise TypeError(f"a record of topic {record['topic']!r} in a mirror-poll of {topic!r}")
            if type(partition) is not int or type(offset) is not int:
                raise TypeError(f"partition {partition!r} and offset {offset!r} must be ints")
            part = partitions.get(partition)
            if part is None:
                part = partitions[partition] = RemotePartition()
            part.values.append(v if type(v) is int else hashable(v))
            part.offsets.append(offset)
            part.ops.append(op)
        self.records += len(value["records"])

    def drained(self, op: int, invoked: Any, value: Any) -> None:
        """An ok `mirror-drain`: every offset of that remote partition below the high watermark was read."""
        target, topic = self._declare(op, invoked, value)
        partition, high = value["partition"], value["high_watermark"]
        if type(partition) is not int or type(high) is not int:
            raise TypeError(f"partition {partition!r} and high_watermark {high!r} must be ints")
        self.drains[(target, topic, partition)] = (high, op)

    def flows(self, clusters: Iterable[str]) -> list[Flow]:
        """Every remote topic read, with its origin; `clusters` are the names the rest of the history used."""
        known = set(clusters) | {d.target for d in self.declared.values()} | \
            {d.source_cluster for d in self.declared.values()}
        flows = []
        for d in sorted(self.declared.values(), key=lambda d: d.op):
            hops, topic = remote_chain(d.source_topic, known)
            path = (*reversed(hops), d.source_cluster, d.target)
            named, _ = remote_chain(d.remote_topic, known)
            cycle = d.target in path[:-1] or len(set(path[:-1])) < len(path) - 1 or d.target in named or \
                len(set(named)) < len(named)
            flows.append(Flow(d.target, d.remote_topic, path[0], topic, path, cycle, d.op))
        return flows


def remote_chain(topic: str, clusters: set[str]) -> tuple[list[str], str]:
    """`dc2.dc1.t` -> (["dc2", "dc1"], "t"): the cluster prefixes the default replication policy put in front of
    a topic's name, nearest copy first, and the topic as it was first written."""
    chain = []
    head, dot, rest = topic.partition(".")
    while dot and rest and head in clusters:
        chain.append(head)
        topic = rest
        head, dot, rest = topic.partition(".")
    return chain, topic

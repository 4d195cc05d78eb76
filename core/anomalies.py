"""The anomaly catalog: every name a checker can report, written once.

Each kind says which family of checks finds it, whether it fails the verdict (or is reported for information,
with the reason Kafka allows it), its one-line meaning (the README's tables are these lines, tested), where its
exact rule is written (docs/history-format.md) and the module that applies it. The checkers, results.json,
JUnit, the report, the sweep's loss/reorder classes and the docs all read this table; nothing else lists names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Family = Literal["queue", "txn", "group", "share", "mirror", "split-brain"]
Harm = Literal["loss", "reorder"]
EXACT_RULES = "docs/history-format.md#anomalies-exactly-as-checked"
SPLIT_BRAIN_RULES = "docs/history-format.md#split-brain-findings-cluster-statejsonl"


@dataclass(frozen=True)
class AnomalyKind:
    name: str
    family: Family
    fails: bool
    meaning: str
    rule: str  # the checker module that applies it
    allowed_because: str | None = None  # why a reported (non-failing) kind is not a broken guarantee
    harm: Harm | None = None  # what a sweep counts it as: acknowledged data lost, or order/uniqueness broken
    doc: str = EXACT_RULES

    def __post_init__(self) -> None:
        if self.fails == (self.allowed_because is not None):
            raise ValueError(f"{self.name}: a failing kind has no excuse, a reported one must give one")


def _kinds(*kinds: AnomalyKind) -> Mapping[str, AnomalyKind]:
    return {kind.name: kind for kind in kinds}


CATALOG: Mapping[str, AnomalyKind] = _kinds(
    # ---- one log: what producers were told vs what consumers read (checkers/queue.py)
    AnomalyKind("lost-write", "queue", True,
                "acknowledged, never read, although reads went past its offset, the final drain read past it, or "
                "the final drain (after healing) found the log ending below it", "checkers/queue.py", harm="loss"),
    AnomalyKind("unseen", "queue", False, "acknowledged, never read, and no read or drain reached past its offset",
                "checkers/queue.py", allowed_because="nothing proves the write should have been read yet"),
    AnomalyKind("duplicate", "queue", True, "one value stored at more than one offset", "checkers/queue.py",
                harm="reorder"),
    AnomalyKind("inconsistent-offsets", "queue", True, "one offset acknowledged or read with different values",
                "checkers/queue.py"),
    AnomalyKind("nonmonotonic-send", "queue", True,
                "one producer's sends to a partition stored in another order than it took them", "checkers/queue.py",
                harm="reorder"),
    AnomalyKind("nonmonotonic-poll", "queue", True,
                "a consumer went backwards, across two polls, without assign/seek/rebalance", "checkers/queue.py"),
    AnomalyKind("int-nonmonotonic-poll", "queue", True,
                "a consumer went backwards within one poll", "checkers/queue.py"),
    AnomalyKind("poll-skip", "queue", True,
                "a consumer jumped over records that exist, across two polls, without assign/seek/rebalance",
                "checkers/queue.py"),
    AnomalyKind("int-poll-skip", "queue", True, "a consumer jumped over records that exist within one poll",
                "checkers/queue.py"),
    AnomalyKind("unexpected-value", "queue", True, "a record no send ever carried", "checkers/queue.py"),
    AnomalyKind("aborted-read", "queue", True,
                "a record whose send certainly failed, or whose transaction aborted, was read", "checkers/queue.py"),
    # ---- transactions (checkers/txn_check.py, checkers/cycles.py)
    AnomalyKind("G1a", "txn", True, "aborted read: a transaction read what an aborted transaction wrote",
                "checkers/txn_check.py"),
    AnomalyKind("G1b", "txn", True,
                "intermediate read: an op read past part of a committed transaction while seeing the rest",
                "checkers/txn_check.py"),
    AnomalyKind("G1c", "txn", True, "circular information flow: a cycle of wr dependencies between transactions",
                "checkers/cycles.py"),
    AnomalyKind("G0", "txn", False, "a cycle of ww (log order) dependencies between transactions",
                "checkers/cycles.py",
                allowed_because="Kafka does not isolate concurrent transactions' writes: they may interleave in "
                                "different orders in different partitions"),
    AnomalyKind("G1c-ww", "txn", False, "a cycle of ww and wr dependencies that no pure-wr cycle explains",
                "checkers/cycles.py",
                allowed_because="without write isolation a ww (log order) dependency may run against a wr one; only "
                                "a pure-wr G1c breaks read committed"),
    AnomalyKind("G-single", "txn", False, "read skew: a cycle with exactly one rw anti-dependency",
                "checkers/cycles.py",
                allowed_because="Kafka transactions promise read-committed isolation, which allows read skew"),
    AnomalyKind("G2", "txn", False, "write skew: a cycle with more than one rw anti-dependency", "checkers/cycles.py",
                allowed_because="Kafka transactions promise read-committed isolation, which allows write skew"),
    AnomalyKind("int-send-skip", "txn", False, "a transaction's sends to one partition not contiguous",
                "checkers/txn_check.py",
                allowed_because="Kafka does not promise that a transaction's records are contiguous in a partition"),
    # ---- consumer groups (checkers/groups.py)
    AnomalyKind("group-skip", "group", True,
                "a consumer group skipped records across a rebalance or crash (at-least-once broken)",
                "checkers/groups.py"),
    AnomalyKind("commit-past-unconsumed", "group", True,
                "a group committed past records no member ever consumed, e.g. auto-commit of records handed to "
                "processing that a crash lost (at-least-once broken)", "checkers/groups.py"),
    AnomalyKind("commit-regression", "group", True, "a group's committed offset went backwards",
                "checkers/groups.py"),
    AnomalyKind("shared-partition", "group", True,
                "a partition assigned to two live members of one group at once: the old owner revoked it only after "
                "the new owner got it, with no sign of having been fenced", "checkers/ownership.py"),
    AnomalyKind("zombie-commit", "group", True,
                "a commit accepted from a fenced member: it never handed the partition over, the group had already "
                "given it to another member, and the coordinator took its commit", "checkers/ownership.py"),
    # ---- share groups, KIP-932 (checkers/share.py)
    AnomalyKind("share-lost", "share", True,
                "acknowledged, and when the share group had nothing left to deliver (the final share drain) it had "
                "neither accepted nor rejected it, nor delivered it at its delivery limit", "checkers/share.py",
                harm="loss"),
    AnomalyKind("share-unsettled", "share", False,
                "acknowledged and not settled by the share group, with no share drain after it",
                "checkers/share.py", allowed_because="no share drain came after it, so nothing proves the group "
                                                     "should have settled it yet"),
    AnomalyKind("share-double-lock", "share", True,
                "a record acquired by a second member while the first still held it: the broker took the first "
                "member's later answer as the holder's", "checkers/share.py"),
    AnomalyKind("share-redelivered-after-ack", "share", True,
                "a record delivered again after an accept or reject of it had been applied", "checkers/share.py",
                harm="reorder"),
    AnomalyKind("share-delivery-count-regression", "share", True,
                "a record's delivery count went down from one delivery to a later one", "checkers/share.py"),
    AnomalyKind("share-delivery-limit-exceeded", "share", True,
                "a record delivered with a delivery count above the group's share.delivery.count.limit",
                "checkers/share.py"),
    # ---- MirrorMaker 2 between clusters (checkers/mirror.py)
    AnomalyKind("lost-in-mirror", "mirror", True,
                "acknowledged in one cluster, never read in another cluster's remote topic, although the final mirror "
                "drain of that remote partition came after it (MirrorMaker 2 lost it)", "checkers/mirror.py",
                harm="loss"),
    AnomalyKind("unmirrored", "mirror", False,
                "acknowledged in one cluster, not read in another's remote topic, with no mirror drain after it",
                "checkers/mirror.py",
                allowed_because="no mirror drain of its partition completed after it, so nothing proves MirrorMaker 2 "
                                "should have copied it yet"),
    AnomalyKind("mirror-reorder", "mirror", True,
                "a remote partition's first copies of two records in the opposite order of their source offsets",
                "checkers/mirror.py", harm="reorder"),
    AnomalyKind("mirror-wrong-partition", "mirror", True,
                "a record copied into another partition of the remote topic than its own", "checkers/mirror.py"),
    AnomalyKind("mirror-duplicate", "mirror", False, "one source record copied more than once into a remote topic",
                "checkers/mirror.py",
                allowed_because="MirrorMaker 2 copies at least once: after a restart or a lost offset commit it "
                                "copies records again"),
    AnomalyKind("mirror-cycle", "mirror", True,
                "a remote topic copied back through its target or one cluster twice (`dc1.dc2.dc1.t`), or a record "
                "read through a mirror in the cluster it was sent in", "checkers/mirror.py"),
    # ---- what each node believed (checkers/cluster.py over cluster-state.jsonl)
    AnomalyKind("split-brain-controller", "split-brain", True,
                "two nodes each said they were the active controller, over one window longer than the grace window "
                "(`--grace`, 5 s)", "checkers/cluster.py", doc=SPLIT_BRAIN_RULES),
    AnomalyKind("split-brain-leader", "split-brain", True,
                "two brokers each said they led one partition **at the same leader epoch**, longer than the grace "
                "window", "checkers/cluster.py", doc=SPLIT_BRAIN_RULES),
    AnomalyKind("stale-leader", "split-brain", False,
                "a broker still said it led a partition at an older epoch while another led it at a newer one (the "
                "zombie-leader window: epochs fence it; lost writes, if any, are the history's `lost-write`)",
                "checkers/cluster.py", doc=SPLIT_BRAIN_RULES,
                allowed_because="leader epochs fence a zombie leader; whether it cost acknowledged writes is the "
                                "history's lost-write check"),
    AnomalyKind("leader-epoch-regression", "split-brain", True,
                "one node's view of a partition's leader epoch went backwards", "checkers/cluster.py",
                doc=SPLIT_BRAIN_RULES),
    AnomalyKind("kraft-epoch-two-leaders", "split-brain", True,
                "the controllers' quorum-state files named two different leaders for one KRaft epoch (Raft elects at "
                "most one per epoch; no grace window applies)", "checkers/cluster.py", doc=SPLIT_BRAIN_RULES),
    AnomalyKind("voter-count-divergence", "split-brain", True,
                "the nodes that answered reported different numbers of KRaft voters (raft-metrics `number-of-voters`) "
                "for longer than the grace window; a node cut off from the largest side of a partition is left out",
                "checkers/cluster.py", doc=SPLIT_BRAIN_RULES),
    AnomalyKind("isolated-controller", "split-brain", False,
                "two controller claims overlap, but one claimant was cut off from every other node all along (a stale "
                "belief that commands no one — e.g. a ZooKeeper-mode zombie leader that was also the controller)",
                "checkers/cluster.py", doc=SPLIT_BRAIN_RULES,
                allowed_because="a controller cut off from every other node commands no one; it learns it was "
                                "replaced when the cut heals"),
)

# Reported, never failing: name -> why Kafka allows it.
INFORMATIONAL: Mapping[str, str] = {k.name: k.allowed_because for k in CATALOG.values() if k.allowed_because}


def family(name: Family) -> tuple[str, ...]:
    """The kinds one family of checks looks for, in catalog order."""
    return tuple(kind.name for kind in CATALOG.values() if kind.family == name)


def fails(name: str) -> bool:
    """Whether finding `name` breaks the verdict. A name outside the catalog fails: an unknown finding from a
    newer checker must not pass quietly."""
    kind = CATALOG.get(name)
    return kind.fails if kind is not None else True


def harmed(name: str) -> Harm | None:
    kind = CATALOG.get(name)
    return kind.harm if kind is not None else None


def markdown_row(name: str) -> str:
    """The README's table row of one kind: `| name | fails the verdict | meaning |`, with why a reported kind
    is allowed."""
    kind = CATALOG[name]
    why = f" — reported, not failed: {kind.allowed_because}" if kind.allowed_because else ""
    return f"| `{name}` | {'yes' if kind.fails else 'no'} | {kind.meaning}{why} |"


if __name__ == "__main__":  # `python -m core.anomalies`: the README's rows, to paste after a catalog change
    for kind in CATALOG.values():
        print(kind.family, markdown_row(kind.name), sep="\t")

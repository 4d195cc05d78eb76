"""What a check returns: named anomalies with their evidence, statistics, and a verdict. Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.faults import FaultRef

Verdict = bool | Literal["unknown"]

# Reported but never fail the verdict, with the reason each is allowed.
INFORMATIONAL: Mapping[str, str] = {
    "unseen": "nothing proves the write should have been read yet",
    "int-send-skip": "Kafka does not promise that a transaction's records are contiguous in a partition",
    "G0": "Kafka does not isolate concurrent transactions' writes: they may interleave in different orders in "
          "different partitions",
    "G1c-ww": "without write isolation a ww (log order) dependency may run against a wr one; only a pure-wr G1c "
              "breaks read committed",
    "G-single": "Kafka transactions promise read-committed isolation, which allows read skew",
    "G2": "Kafka transactions promise read-committed isolation, which allows write skew",
    "stale-leader": "leader epochs fence a zombie leader; whether it cost acknowledged writes is the history's "
                    "lost-write check",
    "isolated-controller": "a controller cut off from every other node commands no one; it learns it was replaced "
                           "when the cut heals",
    "unmirrored": "no mirror drain of its partition completed after it, so nothing proves MirrorMaker 2 should have "
                  "copied it yet",
    "mirror-duplicate": "MirrorMaker 2 copies at least once: after a restart or a lost offset commit it copies "
                        "records again",
}


@dataclass(frozen=True)
class Anomaly:
    """One anomaly: the op indexes that prove it, the facts (values, offsets, ...), and one sentence."""

    name: str
    ops: tuple[int, ...]
    explanation: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    nemesis: tuple[FaultRef, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"ops": list(self.ops), **self.facts, "explanation": self.explanation,
                "nemesis": [f.to_json() for f in self.nemesis]}


@dataclass(frozen=True)
class CheckResult:
    valid: Verdict
    anomalies: Mapping[str, tuple[Anomaly, ...]]
    stats: Mapping[str, Any]

    @property
    def failures(self) -> tuple[str, ...]:
        """Names of the anomalies that make the history invalid, sorted."""
        return tuple(sorted(n for n, found in self.anomalies.items() if found and n not in INFORMATIONAL))


def verdict(anomalies: Mapping[str, tuple[Anomaly, ...]], checked_anything: bool) -> Verdict:
    if any(found for name, found in anomalies.items() if name not in INFORMATIONAL):
        return False
    return True if checked_anything else "unknown"


def result_to_json(result: CheckResult) -> dict[str, Any]:
    return {"valid": result.valid,
            "anomalies": {name: [a.to_json() for a in found] for name, found in sorted(result.anomalies.items())},
            "stats": dict(result.stats)}

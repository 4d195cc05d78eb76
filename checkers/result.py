"""What a check returns: named anomalies with their evidence, statistics, and a verdict. Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.anomalies import INFORMATIONAL, fails
from core.faults import FaultRef

__all__ = ["INFORMATIONAL", "Anomaly", "CheckResult", "FaultRef", "Verdict", "result_to_json", "verdict"]

Verdict = bool | Literal["unknown"]

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
        return tuple(sorted(n for n, found in self.anomalies.items() if found and fails(n)))


def verdict(anomalies: Mapping[str, tuple[Anomaly, ...]], checked_anything: bool) -> Verdict:
    if any(found for name, found in anomalies.items() if fails(name)):
        return False
    return True if checked_anything else "unknown"


def result_to_json(result: CheckResult) -> dict[str, Any]:
    return {"valid": result.valid,
            "anomalies": {name: [a.to_json() for a in found] for name, found in sorted(result.anomalies.items())},
            "stats": dict(result.stats)}

"""Past runs under a results root (results/<test-name>/<timestamp>/), newest first, with their verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from harness.results import NO_FAULT_INJECTED


@dataclass(frozen=True)
class PastRun:
    path: Path
    test: str
    stamp: str
    verdict: str  # valid | invalid | unknown | not checked | unreadable
    anomalies: tuple[tuple[str, int], ...]
    has_report: bool

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "test": self.test, "stamp": self.stamp, "verdict": self.verdict,
                "anomalies": dict(self.anomalies), "report": self.has_report}


def find_runs(root: Path) -> list[PastRun]:
    runs = [_summarise(history.parent) for history in root.glob("*/*/history.jsonl")
            if not history.parent.parent.is_symlink()]
    # Timestamps sort as text; a same-second second run carries a -N suffix that sorts after it.
    return sorted(runs, key=lambda run: (run.stamp, run.test), reverse=True)


def _summarise(path: Path) -> PastRun:
    verdict = "not checked"
    anomalies: tuple[tuple[str, int], ...] = ()
    results = path / "results.json"
    if results.is_file():
        try:
            data = orjson.loads(results.read_bytes())
            verdict = {True: "valid", False: "invalid", NO_FAULT_INJECTED: "no fault"}.get(data.get("valid"), "unknown")
            anomalies = tuple((str(name), len(evidence) if isinstance(evidence, list) else 1)
                              for name, evidence in (data.get("anomalies") or {}).items() if evidence)
        except (orjson.JSONDecodeError, AttributeError):
            verdict = "unreadable"
    return PastRun(path=path, test=path.parent.name, stamp=path.name, verdict=verdict, anomalies=anomalies,
                   has_report=(path / "report.html").is_file())

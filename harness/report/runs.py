"""Past runs under a results root (results/<test-name>/<timestamp>/), newest first, with their verdicts.

A run whose results.json cannot be read is listed as `unreadable`, never hidden and never mistaken for one
that was not checked; `results_problem` is the one judge of that, for `harness runs` and `harness report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core.errors import HarnessError
from harness.results import NO_FAULT_INJECTED

# Any of these files makes a folder a run: a crashed run may have a test.json and nothing else.
RUN_FILES = ("history.jsonl", "results.json", "test.json")
VERDICTS = {True: "valid", False: "invalid", "unknown": "unknown", NO_FAULT_INJECTED: "no fault"}


@dataclass(frozen=True)
class PastRun:
    path: Path
    test: str
    stamp: str
    verdict: str  # valid | invalid | unknown | not checked | unreadable
    anomalies: tuple[tuple[str, int], ...]
    has_report: bool
    problem: str = ""  # why results.json is unreadable

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "test": self.test, "stamp": self.stamp, "verdict": self.verdict,
                "anomalies": dict(self.anomalies), "report": self.has_report,
                **({"problem": self.problem} if self.problem else {})}


def find_runs(root: Path) -> list[PastRun]:
    if not root.is_dir():
        raise HarnessError(f"no results folder {root}", hint="no run wrote there yet; pass the --results-dir the "
                           "runs used" if not root.exists() else "it is not a folder")
    folders = {path.parent for name in RUN_FILES for path in root.glob(f"*/*/{name}")
               if not path.parent.parent.is_symlink() and not path.parent.is_symlink()}
    runs = [_summarise(folder) for folder in folders]
    # Timestamps sort as text; a same-second second run carries a -N suffix that sorts after it.
    return sorted(runs, key=lambda run: (run.stamp, run.test), reverse=True)


def read_results(path: Path) -> tuple[dict[str, Any] | None, str]:
    """A run's results.json: (the object, "") if readable, (None, "") if absent, (None, why) if unreadable."""
    results = path / "results.json"
    if not results.exists():
        return None, ""
    try:
        data = orjson.loads(results.read_bytes())
    except OSError as error:
        return None, f"{results} cannot be read: {error.strerror or error}"
    except orjson.JSONDecodeError as error:
        return None, f"{results} is not valid JSON ({error})"
    if not isinstance(data, dict):
        return None, f"{results} is not a JSON object"
    valid = data.get("valid")
    if type(valid) not in (bool, str) or valid not in VERDICTS:
        return None, f"{results} has no verdict (`valid` is {valid!r}, not true, false, \"unknown\" or " \
                     f"\"{NO_FAULT_INJECTED}\")"
    if not isinstance(data.get("anomalies", {}), dict):
        return None, f"{results}: `anomalies` is not an object"
    return data, ""


def results_problem(path: Path) -> str:
    """Why the run's results.json cannot be trusted, or "" (also when there is none: not checked, not broken)."""
    return read_results(path)[1]


def _summarise(path: Path) -> PastRun:
    data, problem = read_results(path)
    if problem:
        verdict = "unreadable"
    elif data is None:
        verdict = "not checked"
    else:
        verdict = VERDICTS[data["valid"]]
    anomalies = tuple((str(name), len(evidence) if isinstance(evidence, list) else 1)
                      for name, evidence in ((data or {}).get("anomalies") or {}).items() if evidence)
    return PastRun(path=path, test=path.parent.name, stamp=path.name, verdict=verdict, anomalies=anomalies,
                   has_report=(path / "report.html").is_file(), problem=problem)

"""Small histories of every benchmark shape (benchmarks/checker.py's own generators, which are seeded), and broken
copies of each (a record dropped, two swapped, one read again, a value changed, an acknowledged offset moved): the
shapes the speed work was about, with anomalies in them, for the golden test. Self-contained (no `tests` import),
so it can be run against an older checker to record what it said: `python shapes.py OUT.json`."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "checker.py"
LINES, TXNS = 1500, 150


def _benchmark() -> Any:
    spec = importlib.util.spec_from_file_location("checker_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _records(value: dict[str, Any]) -> list[dict[str, Any]]:
    if "records" in value:
        return value["records"]  # type: ignore[no-any-return]
    return next((m["records"] for m in value["ops"] if m["f"] == "poll"), [])


def _broken(events: list[dict[str, Any]], rng: random.Random) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    polls = [i for i, e in enumerate(events) if e["type"] == "ok" and e["f"] in ("poll", "txn")]
    for kind in ("drop", "swap", "again", "change", "moved-ack"):
        ev = copy.deepcopy(events)
        i = rng.choice(polls)
        recs = _records(ev[i]["value"])
        if kind == "moved-ack":
            acks = [e for e in ev if e["f"] == "send" and e["type"] == "ok"]
            if acks:
                rng.choice(acks)["value"]["offset"] += 1
        elif len(recs) >= 2:
            k = rng.randrange(len(recs) - 1)
            if kind == "drop":
                del recs[k]
            elif kind == "swap":
                recs[k], recs[k + 1] = recs[k + 1], recs[k]
            elif kind == "again":
                _records(ev[rng.choice(polls[polls.index(i):])]["value"]).append(dict(recs[k]))
            else:
                recs[k]["value"] = -1 - k
        yield kind, ev


def cases() -> Iterator[tuple[str, str, list[list[Any]]]]:
    """(case name, workload, numbered lines) for every shape, intact and broken, checked as its workload and auto."""
    bench = _benchmark()
    rng = random.Random(19)
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in bench.SHAPES.items():
            path = Path(tmp) / "history.jsonl"
            case.write(path, LINES, TXNS)
            events = [json.loads(line) for line in path.open()]
            for kind, ev in [("intact", events), *_broken(events, rng)]:
                lines = [[n, e] for n, e in enumerate(ev, 1)]
                for workload in dict.fromkeys((case.workload, "auto")):
                    yield f"{name}/{kind}/{workload}", workload, lines


def digest(lines: list[list[Any]], workload: str) -> str:
    """sha256 of the full result (or error) as canonical text, with the checker on sys.path."""
    import checkers
    from checkers.check import _check

    try:
        outcome: Any = checkers.result_to_json(_check(iter(lines), workload))
    except checkers.HistoryError as error:
        outcome = {"error": str(error)}
    return hashlib.sha256(json.dumps(outcome, default=repr, allow_nan=True).encode()).hexdigest()


if __name__ == "__main__":
    recorded = {name: digest(lines, workload) for name, workload, lines in cases()}
    Path(sys.argv[1]).write_text(json.dumps(recorded, indent=0, sort_keys=True) + "\n")
    print(f"{len(recorded)} shape histories recorded")

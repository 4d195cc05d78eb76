"""Record the checker's full results on every history the checker tests feed it, as a golden corpus.

    python -m tests.checkers.golden.record      # runs tests/checkers, writes tests/checkers/golden/corpus.jsonl.gz

Run it on a commit whose results are trusted; `test_golden.py` then asserts that every later checker returns the
very same result (anomalies, evidence, explanations, stats, key order) or the same error for each history.
A pytest plugin wraps the checker's one entry point (`checkers.check._check`) and keeps each input and output.
"""

from __future__ import annotations

import copy
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).with_name("corpus.jsonl.gz")


def canonical(outcome: Any) -> str:
    """A result (or error) as the exact text the golden test compares: keys in the checker's own order."""
    return json.dumps(outcome, default=repr, allow_nan=True)


def run_check(lines: list[tuple[int, dict[str, Any]]], workload: str) -> str:
    import checkers
    from checkers.check import _check

    try:
        return canonical(checkers.result_to_json(_check(iter(lines), workload)))
    except checkers.HistoryError as error:
        return canonical({"error": str(error)})


class Recorder:
    def __init__(self) -> None:
        self.cases: dict[str, tuple[list[Any], str]] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        import checkers.check as check

        original = check._check

        def recording(numbered: Any, workload: str) -> Any:
            lines = [(line, copy.deepcopy(event)) for line, event in numbered]
            key = canonical([lines, workload])
            self.cases.setdefault(key, (lines, workload))
            return original(iter(lines), workload)

        check._check = recording


def main() -> None:
    recorder = Recorder()
    golden = Path(__file__).parent.parent / "test_golden.py"  # it replays the old corpus; not an input
    code = pytest.main(["-q", "-p", "no:cacheprovider", "tests/checkers", f"--ignore={golden}", *sys.argv[1:]],
                       plugins=[recorder])
    if code != 0:
        raise SystemExit(f"tests/checkers failed ({code}); not recording")
    with gzip.open(CORPUS, "wt", compresslevel=9) as out:
        for lines, workload in recorder.cases.values():
            lines = json.loads(canonical(lines))  # what the golden test will read back
            out.write(canonical({"workload": workload, "lines": lines, "result": run_check(lines, workload)}) + "\n")
    print(f"{len(recorder.cases)} histories recorded in {CORPUS}")


if __name__ == "__main__":
    main()

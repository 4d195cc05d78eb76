"""The checker's results are pinned: on every history the checker tests fed it when the corpus was recorded,
it returns the very same result, byte for byte (anomalies, evidence, explanations, stats and their key order),
or the same error. Speed work must not change a single character; `golden/record.py` re-records after a
deliberate change of results."""

from __future__ import annotations

import gzip
import json

from tests.checkers.golden.record import CORPUS, run_check
from tests.checkers.golden.shapes import cases, digest


def test_every_recorded_history_gets_the_recorded_result_byte_for_byte():
    checked = 0
    with gzip.open(CORPUS, "rt") as corpus:
        for number, text in enumerate(corpus, 1):
            case = json.loads(text)
            lines = [(line, event) for line, event in case["lines"]]
            got = run_check(lines, case["workload"])
            assert got == case["result"], f"history {number} of {CORPUS.name} ({case['workload']}): result changed"
            checked += 1
    assert checked > 1000


def test_every_benchmark_shape_intact_and_broken_gets_the_recorded_result():
    """The benchmark's own shapes (500-record polls, 64 partitions, 32 consumers, txn, group), small, and broken
    copies of each: digests recorded with the checker of 23d2c74 (golden/shapes.json)."""
    recorded = json.loads((CORPUS.parent / "shapes.json").read_text())
    got = {name: digest(lines, workload) for name, workload, lines in cases()}
    assert got.keys() == recorded.keys()
    changed = sorted(name for name in got if got[name] != recorded[name])
    assert not changed, f"results changed for {changed}"

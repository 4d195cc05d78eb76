"""The checker's results are pinned: on every history the checker tests fed it when the corpus was recorded,
it returns the very same result, byte for byte (anomalies, evidence, explanations, stats and their key order),
or the same error. Speed work must not change a single character; `golden/record.py` re-records after a
deliberate change of results."""

from __future__ import annotations

import gzip
import json

from tests.checkers.golden.record import CORPUS, run_check


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

"""Results directories built by hand for the report tests."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harness.report import write_report
from tests.report.sample_run import cluster_state, history_lines, lost_write_results


def make_results_dir(root: Path) -> Path:
    """A results directory as `harness run` leaves it: every file, one lost write."""
    run = root / "results" / "queue-partition-dc" / "20260101T120000"
    run.mkdir(parents=True)
    (run / "history.jsonl").write_bytes(history_lines())
    (run / "results.json").write_bytes(orjson.dumps(lost_write_results()))
    (run / "test.json").write_bytes(orjson.dumps({"name": "queue-partition-dc", "run_id": "kj-test01", "seed": 7,
                                                  "nemesis": "partition-dc", "kafka_version": "3.9.1"}))
    (run / "cluster-state.jsonl").write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in cluster_state()))
    return run


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return make_results_dir(tmp_path)


@pytest.fixture(scope="session")
def reported_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same directory with its report written once (plots take a moment); tests only read it."""
    run = make_results_dir(tmp_path_factory.mktemp("reported"))
    write_report(run)
    return run


@pytest.fixture
def history_only(tmp_path: Path) -> Path:
    """A results directory of a run that crashed before the check: only the history."""
    run = tmp_path / "crashed"
    run.mkdir()
    (run / "history.jsonl").write_bytes(history_lines())
    return run

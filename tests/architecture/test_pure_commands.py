"""`harness check`, `report` and `runs` read files only: they must work where docker and confluent-kafka are not
importable (a laptop judging a CI run's results, a machine with no Kafka client)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.report.conftest import make_results_dir

# The entry point with every heavy package made unimportable before anything runs.
WITHOUT_HEAVY = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"docker", "confluent_kafka", "paramiko"}:
            raise ImportError(f"{name} is not importable in this test")
sys.meta_path.insert(0, Refuse())
from harness.cli.main import main
main(sys.argv[1:])
"""


def harness_without_heavy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_HEAVY, *args], capture_output=True, text=True, timeout=180)


def test_check_report_and_runs_need_neither_docker_nor_confluent_kafka(tmp_path: Path) -> None:
    run = make_results_dir(tmp_path)
    checked = harness_without_heavy("check", str(run / "history.jsonl"))
    assert checked.returncode == 1, checked.stderr  # the sample run holds one lost write
    assert "lost-write" in checked.stdout + checked.stderr
    reported = harness_without_heavy("report", str(run))
    assert reported.returncode == 0, reported.stderr
    assert (run / "report.html").is_file()
    listed = harness_without_heavy("runs", "--results-dir", str(tmp_path / "results"))
    assert listed.returncode == 0, listed.stderr
    assert "queue-partition-dc" in listed.stdout + listed.stderr


def test_the_blocker_really_blocks() -> None:
    # Without this, the test above could pass with the heavy packages imported after all.
    ran = harness_without_heavy("run", "--help")  # run drives confluent-kafka clients
    assert ran.returncode != 0
    assert "not importable in this test" in ran.stderr


def test_import_needs_neither_docker_nor_confluent_kafka(tmp_path: Path) -> None:
    from tests.harness.verifiable_output import FIXTURES

    imported = harness_without_heavy("import", "verifiable", "--producer", str(FIXTURES / "p1.jsonl"),
                                     "--producer", str(FIXTURES / "p2.jsonl"), "--consumer", str(FIXTURES / "c1.jsonl"),
                                     "-o", str(tmp_path / "history.jsonl"))
    assert imported.returncode == 0, imported.stderr
    assert (tmp_path / "history.jsonl").stat().st_size > 0

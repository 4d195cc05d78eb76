"""examples/pytest, run as a user runs it: the acks=all test passes, the acks=1 test fails under a zombie leader
with the lost writes and their evidence printed, and the fixture leaves nothing behind."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.conftest import labelled_leftovers

pytestmark = pytest.mark.cluster

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pytest"


def test_the_example_passes_on_acks_all_and_fails_with_the_evidence_on_acks_1(tmp_path, node_image, docker_client):
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--basetemp",
                          str(tmp_path / "basetemp"), str(EXAMPLE)], capture_output=True, text=True, timeout=900)
    out = ran.stdout
    assert ran.returncode == 1, out[-3000:] + ran.stderr[-3000:]
    assert re.search(r"\b1 failed, 1 passed\b", out), out[-3000:]
    assert "FAILED examples/pytest/test_zombie_leader.py::test_acks_1_keeps_every_acknowledged_write" in out
    # pytest's own assertion line; the zombie's acknowledged offsets also hold other values now (inconsistent-offsets)
    assert re.search(r"where False = CheckResult\(verdict=False, failures=\([^)]*'lost-write'", out), out[-3000:]
    section = out[out.index(" harness check "):]
    print(section[:3000])  # with -s: what the user sees
    assert re.search(r"INVALID: (.*, )?lost-write ×\d+", section), section[:2000]
    assert re.search(r"value \d+ was acknowledged at acks1/\d offset \d+ \(send op \d+→\d+\) but no read ever saw it",
                     section), section[:2000]
    assert re.search(r"during partition-leader \(fault \d+, ops \d+→\d+\)", section)  # the fault it happened under
    run_ids = set(re.findall(r"starting cluster (kj-[0-9a-f]{6})", ran.stderr))
    assert len(run_ids) == 1, ran.stderr[-3000:]  # one cluster for the module's two tests
    assert labelled_leftovers(docker_client, run_ids.pop()) == []

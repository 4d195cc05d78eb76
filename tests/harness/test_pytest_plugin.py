"""The pytest plugin as a user meets it: installed through the pytest11 entry point, nothing to configure.

Each test runs pytest in a subprocess on a user's test module written to a temporary directory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

LOST_WRITES = '''
from harness.api import check

def history(lost):
    """`lost` acknowledged sends nobody read, then one more that a read saw at the offset after them."""
    events = []
    for v in range(lost + 1):
        events += [{"process": 0, "type": "invoke", "f": "send", "value": {"topic": "t", "value": v}},
                   {"process": 0, "type": "ok", "f": "send",
                    "value": {"topic": "t", "value": v, "partition": 0, "offset": v}}]
    events += [{"process": 1, "type": "invoke", "f": "poll", "value": None},
               {"process": 1, "type": "ok", "f": "poll",
                "value": {"records": [{"topic": "t", "partition": 0, "offset": lost, "value": lost}]}}]
    return [{"index": i, "time": i * 1000, **e} for i, e in enumerate(events)]
'''


def pytest_on(tmp_path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_user.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_a_failing_check_prints_its_anomalies_with_all_their_evidence(tmp_path) -> None:
    ran = pytest_on(tmp_path, LOST_WRITES + '''
def test_no_write_is_lost():
    assert check(history(12)).valid
''')
    assert ran.returncode == 1, ran.stdout + ran.stderr
    out = ran.stdout
    assert "where False = CheckResult(verdict=False, failures=('lost-write',))" in out  # pytest's own message
    section = out[out.index(" harness check "):]
    assert "INVALID: lost-write ×12" in section
    # The whole evidence, which the assertion message (cut at 240 characters) does not hold: the first lost
    # value, and the last one render_text shows.
    assert "value 0 was acknowledged at t/0 offset 0 (send op 0→1) but no read ever saw it" in section
    assert "value 9 was acknowledged" in section and "... and 2 more" in section


def test_a_passing_check_prints_nothing_more(tmp_path) -> None:
    ran = pytest_on(tmp_path, LOST_WRITES + '''
def test_clean_history_is_valid():
    assert check(history(0)).valid
''')
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "harness check" not in ran.stdout


def test_the_plugin_is_what_adds_the_section(tmp_path) -> None:
    # Without the plugin (disabled by its entry-point name) the same failure has no evidence section: the test
    # above sees the plugin's work, not something pytest does anyway.
    ran = pytest_on(tmp_path, LOST_WRITES + '''
def test_no_write_is_lost():
    assert check(history(12)).valid
''', "-p", "no:kafka-jepsen")
    assert ran.returncode == 1
    assert " harness check " not in ran.stdout


def test_a_marker_on_one_test_is_refused_with_the_fix(tmp_path) -> None:
    ran = pytest_on(tmp_path, '''
import pytest

@pytest.mark.kafka_cluster(brokers_per_dc=2)
def test_x(kafka_cluster):
    pass
''')
    assert ran.returncode == 4, ran.stdout + ran.stderr  # a usage error
    assert "one cluster per module" in ran.stderr and "pytestmark = pytest.mark.kafka_cluster" in ran.stderr


def test_an_unknown_setting_fails_the_fixture_in_one_line_before_docker(tmp_path) -> None:
    ran = pytest_on(tmp_path, '''
import pytest

pytestmark = pytest.mark.kafka_cluster(topolgy="stretch-3dc")

def test_x(kafka_cluster):
    pass
''')
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "kafka_cluster: kafka_cluster has no setting 'topolgy' (did you mean topology?)" in ran.stdout
    assert "Traceback" not in ran.stdout and "live_cluster.py" not in ran.stdout


def test_the_marker_is_registered(tmp_path) -> None:
    ran = pytest_on(tmp_path, "def test_x():\n    pass\n", "--markers")
    assert "@pytest.mark.kafka_cluster(topology=..., dcs=..." in ran.stdout


def test_a_harness_error_in_a_test_is_one_line_naming_the_tests_line(tmp_path) -> None:
    ran = pytest_on(tmp_path, """
from harness.api import check

def test_x():
    x = 1
    check([], workload="qeue")
""")
    assert ran.returncode == 1
    assert "harness: error: unknown workload 'qeue' (did you mean queue?) (test_user.py:6)" in ran.stdout
    assert "Traceback" not in ran.stdout and "api.py" not in ran.stdout

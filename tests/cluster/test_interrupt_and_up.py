"""Ctrl-C in the middle of a run heals, removes everything it made and keeps a checkable history;
`harness up` / `harness down` leave a cluster running and remove it."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from infra.admin import Admin
from tests.cluster.conftest import labelled_leftovers

pytestmark = pytest.mark.cluster


def harness(*args):
    return [sys.executable, "-m", "harness.cli.main", *args]


def acked_sends(history: Path) -> int:
    if not history.exists():
        return 0
    return sum(1 for line in history.read_bytes().splitlines() if b'"type":"ok","f":"send"' in line)


def test_ctrl_c_mid_run_cleans_up_and_leaves_a_checkable_history(tmp_path, node_image, docker_client):
    run = subprocess.Popen(harness("run", "--nemesis", "partition-dc", "--time-limit", "300", "--image", node_image,
                                   "--results-dir", str(tmp_path), "--quiet"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    history = tmp_path / "latest" / "history.jsonl"
    deadline = time.monotonic() + 420  # a loaded 2-core machine can take minutes to start six JVMs
    while acked_sends(history) < 100 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(1)
    assert run.poll() is None, f"the run ended on its own before the interrupt: {run.communicate()[1][-2000:]}"
    assert acked_sends(history) >= 100, "the run got going before the interrupt"
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=240)
    assert run.returncode == 2, err
    assert "interrupted" in err
    run_id = orjson.loads((tmp_path / "latest" / "test.json").read_bytes())["run_id"]
    assert labelled_leftovers(docker_client, run_id) == []
    assert not Path(f"/run/kafka-jepsen/{run_id}").exists() or not any(Path(f"/run/kafka-jepsen/{run_id}").iterdir())
    check = subprocess.run(harness("check", str(history), "--json"), capture_output=True, text=True, timeout=120)
    assert check.returncode in (0, 1), check.stderr  # checkable: a verdict, not "could not check"
    assert orjson.loads(check.stdout)["stats"]
    assert (tmp_path / "latest" / "logs" / "dc1-broker1" / "server.log").exists(), "logs copied before removal"


def test_up_prints_bootstrap_servers_and_down_removes_everything(node_image, docker_client):
    up = subprocess.run(harness("up", "--dcs", "1", "--controllers", "1", "--image", node_image),
                        capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr
    values = dict(line.split("=", 1) for line in up.stdout.splitlines())
    run_id, bootstrap = values["run_id"], values["bootstrap_servers"]
    try:
        assert Admin(bootstrap).broker_ids(timeout=10) == {1}
    finally:
        down = subprocess.run(harness("down", run_id), capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    assert labelled_leftovers(docker_client, run_id) == []

"""`harness run --client java`: the Java kafka-clients driver, in its own container on the cluster's network,
acknowledges real writes through a broker kill and is judged by the same checker as a librdkafka run."""

import subprocess
import sys

import orjson
import pytest

from infra import image
from tests.cluster.conftest import labelled_leftovers

pytestmark = pytest.mark.cluster


def events(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_java_client_run_through_broker_kills_is_acknowledged_drained_and_judged(tmp_path, node_image,
                                                                                   docker_client):
    # 12 s faults: longer than KRaft's broker.session.timeout.ms (9 s), so the controller fences the broker.
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli.main", "run", "--client", "java", "--nemesis", "kill",
         "--nemesis-interval", "12", "--time-limit", "40", "--seed", "11", "--image", node_image,
         "--results-dir", str(tmp_path), "--quiet"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "verdict: VALID" in result.stderr + result.stdout
    (results,) = (tmp_path / "queue-java-kill").iterdir()
    test = orjson.loads((results / "test.json").read_bytes())
    version = test["kafka_version"] or image.DEFAULT_KAFKA_VERSION  # with --image: the driver's default
    assert test["client"]["name"] == "java" and test["client"]["version"] == version
    history = events(results / "history.jsonl")
    acked = [e for e in history if e["f"] == "send" and e["type"] == "ok"]
    assert len(acked) > 200, "hundreds of writes acknowledged through the Java producer"
    assert {e["client"] for e in acked} == {f"java/{version}"}
    assert all(str(e["process"]).startswith("java-") for e in acked)
    polls = [e for e in history if e["f"] == "poll" and e["type"] == "ok" and e["client"].startswith("java/")]
    assert sum(len(e["value"]["records"]) for e in polls) > 200, "the Java consumers read them too"
    assert any(e["f"] == "start-kill" for e in history), "a broker was killed while they ran"
    drains = [e for e in history if e["f"] == "drain"]
    assert [e["type"] for e in drains].count("ok") == 3 and all(e["client"].startswith("librdkafka/")
                                                                  for e in drains)
    verdict = orjson.loads((results / "results.json").read_bytes())
    assert verdict["valid"] is True and verdict["run"]["complete_drain"] is True
    assert verdict["stats"]["sends"]["acknowledged"] == len(acked)
    assert (results / "logs" / "client-java" / "java-client.log").exists()
    assert labelled_leftovers(docker_client, test["run_id"]) == []

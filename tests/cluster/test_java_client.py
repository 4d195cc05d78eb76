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
    assert test["client"]["events"] == "fifo", "on a local engine, as root, the harness reads the driver's FIFO"
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


def java_run(tmp_path, workload, nemesis, name, seed):
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli.main", "run", "--client", "java", "--workload", workload, "--nemesis",
         nemesis, "--nemesis-interval", "12", "--time-limit", "40", "--seed", str(seed), "--results-dir",
         str(tmp_path), "--quiet"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "verdict: VALID" in result.stderr + result.stdout
    (results,) = (tmp_path / name).iterdir()
    test = orjson.loads((results / "test.json").read_bytes())
    assert test["client"]["name"] == "java"
    history = events(results / "history.jsonl")
    verdict = orjson.loads((results / "results.json").read_bytes())
    return test, history, verdict, results


@pytest.mark.slow  # make test-all: make test keeps one Java run (the queue one) within its time
def test_java_transactions_through_broker_kills_commit_abort_and_are_judged_by_the_txn_checker(tmp_path,
                                                                                               docker_client):
    test, history, verdict, results = java_run(tmp_path, "txn", "kill", "txn-java-kill", 11)
    version = test["client"]["version"]
    txns = [e for e in history if e["f"] == "txn"]
    assert {e["client"] for e in txns} == {f"java/{version}"} and all(e["process"].startswith("java-")
                                                                       for e in txns)
    committed = [e for e in txns if e["type"] == "ok"]
    assert len(committed) > 50, "tens of transactions committed through the Java producer"
    sends = [op for e in committed for op in e["value"]["ops"] if op["f"] == "send"]
    assert all(op["offset"] >= 0 for op in sends) and len(sends) > len(committed)
    assert any(e["type"] == "fail" and e["error"] == "aborted-on-purpose" for e in txns)
    assert any(op["f"] == "commit" and op["offsets"] for e in committed for op in e["value"]["ops"]), \
        "consume-transform-produce: offsets went into a transaction"
    read = [r for e in history if e["f"] == "poll" and e["type"] == "ok" and e["client"].startswith("java/")
            for r in e["value"]["records"]]
    assert read, "the Java read_committed readers read"
    assert any(e["f"] == "start-kill" for e in history), "a broker was killed while they ran"
    assert verdict["valid"] is True and verdict["run"]["complete_drain"] is True
    assert labelled_leftovers(docker_client, test["run_id"]) == []


@pytest.mark.slow  # make test-all, as the txn run
def test_a_java_consumer_group_through_a_partition_rebalances_commits_and_is_judged_by_the_group_checker(
        tmp_path, docker_client):
    test, history, verdict, results = java_run(tmp_path, "group", "partition-leader", "group-java-partition-leader",
                                               13)
    java = [e for e in history if str(e.get("client", "")).startswith("java/")]
    acked = [e for e in java if e["f"] == "send" and e["type"] == "ok"]
    assert len(acked) > 200, "hundreds of writes acknowledged through the Java producer"
    members = {e["process"] for e in java if e["f"] == "subscribe" and e["type"] == "ok"}
    assert len(members) >= 3, "members joined, left or crashed and new ones took over"
    assert [e for e in java if e["f"] == "rebalance" and e["value"]["assigned"]], "the group assigned partitions"
    assert len([e for e in java if e["f"] == "commit" and e["type"] == "ok"]) > 10
    assert sum(len(e["value"]["records"]) for e in java if e["f"] == "poll" and e["type"] == "ok") > 200
    assert any(e["f"] == "start-partition-leader" for e in history), "the fault ran while they did"
    assert verdict["valid"] is True and verdict["run"]["complete_drain"] is True
    assert labelled_leftovers(docker_client, test["run_id"]) == []


@pytest.mark.slow  # make test-all, as the other Java group run
def test_a_mixed_java_group_under_a_paused_coordinator_records_member_epochs_and_is_judged(tmp_path, docker_client):
    # KIP-848 through the Java client: even member slots on the consumer protocol, odd ones classic, in one group.
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli.main", "run", "--client", "java", "--workload", "group",
         "--group-protocol", "mixed", "--nemesis", "pause-coordinator", "--nemesis-interval", "12",
         "--time-limit", "40", "--seed", "5", "--results-dir", str(tmp_path), "--quiet"],
        capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    (results,) = (tmp_path / "group-java-pause-coordinator").iterdir()
    history = events(results / "history.jsonl")
    java = [e for e in history if str(e.get("client", "")).startswith("java/")]
    protocols = {e["value"]["protocol"] for e in java if e["f"] == "subscribe" and e["type"] == "ok"}
    assert protocols == {"consumer", "classic"}
    rebalances = [e["value"] for e in java if e["f"] == "rebalance" and e["type"] == "ok" and e["value"]["assigned"]]
    assert rebalances and all(r["generation"] > 0 and r["member_id"] for r in rebalances), "the client said who"
    commits = [e["value"] for e in java if e["f"] == "commit" and e["type"] == "ok"]
    assert commits and all("generation" in c and "member_id" in c for c in commits)
    paused = [e for e in history if e["f"] == "start-pause-coordinator" and e["type"] != "invoke"]
    assert paused and not any("error" in e for e in paused), "the coordinator was found and paused"
    test = orjson.loads((results / "test.json").read_bytes())
    assert test["topology"]["broker_config"]["group.consumer.session.timeout.ms"] == 6_000
    verdict = orjson.loads((results / "results.json").read_bytes())
    group = next(iter(verdict["stats"]["groups"].values()))
    assert set(group["protocols"]) == {"consumer", "classic"}
    assert verdict["valid"] is True, verdict.get("anomalies")
    assert labelled_leftovers(docker_client, test["run_id"]) == []

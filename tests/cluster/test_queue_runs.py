"""Real clusters, real faults, real clients: short runs with the safe config must be valid, and the fault must
be visible in what Kafka itself reported (cluster-state.jsonl), not only in our own bookkeeping."""

from pathlib import Path

import orjson
import pytest

import checkers
from core.topology import default_topology
from harness.runner import RunOptions, run_test
from tests.cluster.conftest import labelled_leftovers

pytestmark = pytest.mark.cluster


def events(path: Path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def states(path: Path):
    return [s for s in events(path) if "partitions" in s]


def short_run(tmp_path, node_image, nemesis, seed):
    # 12 s faults: longer than KRaft's broker.session.timeout.ms (9 s), so the controller fences the broker
    # and Kafka visibly shrinks ISRs / moves leaders.
    options = RunOptions(topology=default_topology(), nemesis=nemesis, nemesis_interval=12, time_limit=40,
                         seed=seed, image=node_image, results_root=tmp_path)
    return run_test(options, say=lambda _: None)


def test_kill_run_with_safe_config_is_valid_and_kafka_saw_the_broker_die(tmp_path, node_image, docker_client):
    outcome = short_run(tmp_path, node_image, "kill", seed=11)
    history = events(outcome.results / "history.jsonl")
    acked = [e for e in history if e["f"] == "send" and e["type"] == "ok"]
    assert len(acked) > 200, "real traffic was acknowledged"
    kills = [e for e in history if e["f"] == "start-kill" and e["type"] == "info"]
    assert kills and kills[0]["value"]["targets"][0].endswith("broker1")
    victim_id = int(kills[0]["value"]["targets"][0].split("-")[0].removeprefix("dc"))
    seen = states(outcome.results / "cluster-state.jsonl")
    assert any(victim_id not in s["brokers"] or any(victim_id not in p["isr"] for p in s["partitions"])
               for s in seen), "Kafka noticed the killed broker (fenced or dropped from an ISR)"
    assert all(len(p["isr"]) == 3 for p in seen[-1]["partitions"]), "healed: the broker rejoined every ISR"
    assert outcome.valid is True, outcome.result_json["anomalies"]
    drains = [e for e in history if e["f"] == "drain" and e["type"] == "ok"]
    assert len(drains) == 3
    assert labelled_leftovers(docker_client, orjson.loads((outcome.results / "test.json").read_bytes())["run_id"]) == []


def test_partition_dc_run_with_safe_config_is_valid_and_isolated_broker_left_the_isr(tmp_path, node_image,
                                                                                      docker_client):
    outcome = short_run(tmp_path, node_image, "partition-dc", seed=5)
    history = events(outcome.results / "history.jsonl")
    starts = [e for e in history if e["f"] == "start-partition-dc" and e["type"] == "info"]
    heals = [e for e in history if e["f"] == "stop-partition-dc" and e["type"] == "info"]
    assert starts and heals, "the fault and its heal are in the history"
    isolated_dc = starts[0]["value"]["isolated"]
    isolated_broker = int(isolated_dc.removeprefix("dc"))  # default topology: dcN holds broker N
    assert [isolated_dc + "-broker1", isolated_dc + "-controller1"] in starts[0]["value"]["components"]
    seen = states(outcome.results / "cluster-state.jsonl")
    assert any(isolated_broker not in p["isr"] for s in seen for p in s["partitions"]), \
        "Kafka dropped the isolated DC's broker from some ISR"
    assert any(s["under_replicated"] > 0 for s in seen)
    assert all(s["active_controller"] in (101, 102, 103) for s in seen[:3]), "each controller's quorum view"
    assert set(seen[0]["controllers"]) == {"dc1-controller1", "dc2-controller1", "dc3-controller1"}
    assert sum(1 for e in history if e["f"] == "send" and e["type"] == "ok") > 200
    assert outcome.valid is True, outcome.result_json["anomalies"]
    # The same verdict from the file alone, as `harness check` would give it.
    assert checkers.check_file(outcome.results / "history.jsonl", "queue").valid is True
    logs = outcome.results / "logs"
    assert {p.name for p in logs.iterdir()} == {n.name for n in default_topology().nodes}
    assert (logs / "dc1-broker1" / "server.log").stat().st_size > 0
    assert labelled_leftovers(docker_client, orjson.loads((outcome.results / "test.json").read_bytes())["run_id"]) == []

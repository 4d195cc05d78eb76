"""Real clusters: ZooKeeper mode starts and survives a controller kill, and the split-brain scenarios show what
each node believed — two active controllers in ZooKeeper mode (Kafka 3.9) when the session expires, none on KRaft
(the default release, a 4.x)."""

from pathlib import Path

import orjson
import pytest

from core.topology import uniform
from harness.cli.run import scenario_options
from harness.runner import RunOptions, run_test
from tests.cluster.conftest import labelled_leftovers


def lines(path: Path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def claimants(samples, mode):
    """Per sample, the nodes whose own view says they are the active controller."""
    from checkers.cluster import controller_claim

    return [sorted(n for n, v in s.get("views", {}).items() if controller_claim(mode, v)[0]) for s in samples]


def scenario(name, tmp_path, image_for, control=False):
    """The scenario on the release it pins (ZooKeeper ones: 3.9.x), else on the default."""
    flags = {"scenario": name, "control": control, "seed": 7, "kafka_version": None, "image_tag": None,
             "results_dir": str(tmp_path), "test_name": None}
    options = scenario_options(flags)
    flags["image_tag"] = image_for(options.kafka_version)
    return run_test(scenario_options(flags), say=lambda _: None)


@pytest.mark.cluster
def test_zookeeper_mode_starts_and_a_new_controller_takes_over_after_the_controller_is_killed(
        tmp_path, zookeeper_image, docker_client):
    # The kill lasts 25 s: a killed controller's ZooKeeper session (and /controller) lingers for the
    # session timeout (18 s) before another broker can be elected.
    options = RunOptions(topology=uniform(3, 1, 3, mode="zookeeper"), nemesis="kill-controller",
                         nemesis_interval=25, time_limit=45, seed=3, image=zookeeper_image, results_root=tmp_path)
    outcome = run_test(options, say=lambda _: None)
    history = lines(outcome.results / "history.jsonl")
    kills = [e for e in history if e["f"] == "start-kill-controller" and e["type"] != "invoke"]
    assert kills and "error" not in kills[0], kills
    victim = kills[0]["value"]["targets"][0]
    assert victim.endswith("-broker1"), "in ZooKeeper mode the controller is a broker"
    samples = lines(outcome.results / "cluster-state.jsonl")
    assert all(s["mode"] == "zookeeper" for s in samples)
    seen = claimants(samples, "zookeeper")
    assert [victim] in seen, "the victim reported being the controller before it was killed"
    after = seen[seen.index([victim]):]
    assert any(c and victim not in c for c in after), "another broker became the controller"
    assert outcome.valid is True, outcome.result_json["anomalies"]
    assert outcome.result_json["stats"]["cluster"]["views"] == len(samples)
    run_id = orjson.loads((outcome.results / "test.json").read_bytes())["run_id"]
    assert labelled_leftovers(docker_client, run_id) == []


@pytest.mark.slow
@pytest.mark.cluster
def test_dual_controller_zk_reports_two_active_controllers_with_the_window_and_the_nodes(tmp_path, image_for):
    outcome = scenario("dual-controller-zk", tmp_path, image_for)
    history = lines(outcome.results / "history.jsonl")
    cut = next(e for e in history if e["f"] == "start-partition-controller" and e["type"] != "invoke")
    isolated = cut["value"]["isolated"]
    zookeepers = ["dc1-zookeeper1", "dc2-zookeeper1", "dc3-zookeeper1"]
    assert sorted(cut["value"]["components"]) == sorted([[isolated], zookeepers])
    found = outcome.result_json["anomalies"]["split-brain-controller"]
    assert outcome.valid is False
    assert any(isolated in f["nodes"] and f["duration_s"] > 5 for f in found), found
    assert all(f["nemesis"] and f["nemesis"][0]["nemesis"] == "partition-controller" for f in found)
    assert not outcome.result_json["anomalies"].get("lost-write"), "acks=all lost nothing"


@pytest.mark.slow
@pytest.mark.cluster
def test_dual_controller_zk_control_keeps_one_controller_through_the_same_cut(tmp_path, image_for):
    outcome = scenario("dual-controller-zk", tmp_path, image_for, control=True)
    samples = lines(outcome.results / "cluster-state.jsonl")
    assert outcome.valid is True, outcome.result_json["anomalies"]
    assert "split-brain-controller" not in outcome.result_json["anomalies"]
    seen = [c for c in claimants(samples, "zookeeper") if c]
    assert seen and all(len(c) == 1 for c in seen) and len({c[0] for c in seen}) == 1, \
        "one controller all along: the 40 s session outlived the 30 s cut"


@pytest.mark.slow
@pytest.mark.cluster
def test_kraft_controller_isolation_stays_clean_while_the_quorum_elects_a_new_leader(tmp_path, image_for):
    outcome = scenario("kraft-controller-isolation", tmp_path, image_for)
    history = lines(outcome.results / "history.jsonl")
    cut = next(e for e in history if e["f"] == "start-partition-controller-quorum" and e["type"] != "invoke")
    isolated = cut["value"]["isolated"]
    samples = lines(outcome.results / "cluster-state.jsonl")
    seen = claimants(samples, "kraft")
    assert [isolated] in seen and any(c and isolated not in c for c in seen[seen.index([isolated]):]), \
        "the quorum moved on: another controller became active while the old one was cut off"
    assert outcome.valid is True, outcome.result_json["anomalies"]
    assert "split-brain-controller" not in outcome.result_json["anomalies"]

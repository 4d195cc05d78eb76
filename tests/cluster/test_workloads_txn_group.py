"""The txn and group workloads end to end: a real cluster, broker kills, real clients, the checkers' verdicts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

import checkers
from core.topology import default_topology
from harness.runner import RunOptions, RunOutcome, run_test
from tests.cluster.conftest import labelled_leftovers

pytestmark = pytest.mark.cluster


# The coordinators' internal topics are created on first use, inside the run: 50 partitions each by default,
# which takes tens of seconds (minutes on a busy 2-core host). Three are as good for these tests.
SMALL_INTERNAL_TOPICS = (("offsets.topic.num.partitions", 3), ("transaction.state.log.num.partitions", 3))


def run(tmp_path: Path, node_image: str, workload: str) -> tuple[RunOutcome, list[dict[str, Any]]]:
    topology = replace(default_topology(), broker_config=SMALL_INTERNAL_TOPICS)
    options = RunOptions(topology=topology, workload_name=workload, nemesis="kill", nemesis_interval=12,
                         time_limit=30, seed=3, image=node_image, results_root=tmp_path)
    outcome = run_test(options, say=lambda _: None)
    history = [orjson.loads(line) for line in (outcome.results / "history.jsonl").read_bytes().splitlines()]
    return outcome, history


def run_id(outcome: RunOutcome) -> str:
    return str(orjson.loads((outcome.results / "test.json").read_bytes())["run_id"])


def failures(outcome: RunOutcome) -> dict[str, Any]:
    """The anomalies that make the verdict invalid, for the assertion message."""
    return {name: found for name, found in outcome.result_json["anomalies"].items()
            if name not in checkers.INFORMATIONAL}


def test_txn_run_under_kills_commits_aborts_on_purpose_and_is_valid(tmp_path: Path, node_image: str,
                                                                    docker_client: Any) -> None:
    outcome, history = run(tmp_path, node_image, "txn")
    txns = [e for e in history if e["f"] == "txn" and e["type"] != "invoke"]
    committed = [e for e in txns if e["type"] == "ok"]
    assert len(committed) >= 10, "real transactions committed (40-300 in 30 s here, 13 at a load average of 90)"
    assert any(e["type"] == "fail" and e["error"] == "aborted-on-purpose" for e in txns)
    ops = [op for e in committed for op in e["value"]["ops"]]
    assert all("offset" in op for op in ops if op["f"] == "send")
    assert any(op["f"] == "poll" and op["records"] for op in ops), "transactions read committed records"
    assert any(op["f"] == "commit" and op["offsets"] for op in ops), "consume-transform-produce offsets"
    assert len({op["partition"] for op in ops if op["f"] == "send"}) == 3
    assert any(e["f"] == "start-kill" for e in history)
    assert outcome.result_json["stats"]["txn"]["committed"] >= len(committed)
    assert outcome.valid is True, failures(outcome)
    assert sum(1 for e in history if e["f"] == "drain" and e["type"] == "ok") == 3
    assert labelled_leftovers(docker_client, run_id(outcome)) == []


def test_group_run_under_kills_rebalances_commits_and_is_valid(tmp_path: Path, node_image: str,
                                                               docker_client: Any) -> None:
    outcome, history = run(tmp_path, node_image, "group")
    rebalances = [e["value"] for e in history if e["f"] == "rebalance" and e["type"] == "ok"]
    assert any(r["revoked"] for r in rebalances) and any(r["assigned"] for r in rebalances)
    members = {e["process"] for e in history if e["f"] == "subscribe"}
    rebalanced = {e["process"] for e in history if e["f"] == "rebalance"}
    assert len(members) >= 5, "members joined during the run"
    assert len(rebalanced) >= 3, "partitions moved between several members"
    assert sum(1 for e in history if e["f"] == "commit" and e["type"] == "ok") >= 3
    assert sum(1 for e in history if e["f"] == "send" and e["type"] == "ok") > 50
    group = next(iter(outcome.result_json["stats"]["groups"].values()))
    assert group["commits"] >= 3 and group["consumed"] > 50
    assert outcome.valid is True, failures(outcome)
    drains = [e for e in history if e["f"] == "drain" and e["type"] != "invoke"]
    assert sum(1 for e in drains if e["type"] == "ok") == 3, [(e["value"], e.get("error")) for e in drains]
    assert labelled_leftovers(docker_client, run_id(outcome)) == []

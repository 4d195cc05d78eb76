"""Consumer groups on KIP-848's consumer protocol and the classic one, in one group, on a real 4.x cluster: the
coordinator paused, members stalling past their poll interval; the ownership checks judge it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from core.topology import default_topology
from harness.runner import RunOptions, run_test
from tests.cluster.conftest import labelled_leftovers
from tests.cluster.test_workloads_txn_group import SMALL_INTERNAL_TOPICS, failures, run_id
from workloads.group import GroupOptions

pytestmark = pytest.mark.cluster


def test_a_mixed_group_under_a_paused_coordinator_and_stalls_is_judged_valid(tmp_path: Path, node_image: str,
                                                                            docker_client: Any) -> None:
    topology = replace(default_topology(), broker_config=SMALL_INTERNAL_TOPICS)
    options = RunOptions(topology=topology, workload_name="group", nemesis="pause-coordinator",
                         nemesis_interval=12, time_limit=40, seed=5, image=node_image, results_root=tmp_path,
                         workload_options=GroupOptions(group_protocol="mixed", stall=10.0, churn_interval=6.0))
    outcome = run_test(options, say=lambda _: None)
    history = [orjson.loads(line) for line in (outcome.results / "history.jsonl").read_bytes().splitlines()]
    protocols = {e["value"]["protocol"] for e in history if e["f"] == "subscribe"}
    assert protocols == {"consumer", "classic"}
    rebalances = [e["value"] for e in history if e["f"] == "rebalance" and e["type"] == "ok" and e["value"]["assigned"]]
    assert rebalances and all(r["generation"] > 0 and r["member_id"] for r in rebalances), "librdkafka said who"
    paused = [e for e in history if e["f"] == "start-pause-coordinator" and e["type"] != "invoke"]
    assert paused and not any("error" in e for e in paused), "the coordinator was found and paused"
    test = orjson.loads((outcome.results / "test.json").read_bytes())
    assert test["topology"]["broker_config"]["group.consumer.session.timeout.ms"] == 6_000
    group = next(iter(outcome.result_json["stats"]["groups"].values()))
    assert set(group["protocols"]) == {"consumer", "classic"}
    assert outcome.valid is True, failures(outcome)
    assert labelled_leftovers(docker_client, run_id(outcome)) == []

"""A KIP-853 dynamic controller quorum on a real 4.x cluster: the quorum nemeses change its voters while a queue
workload writes, every change is injected and healed, the nodes' voter counts are recorded, and the run is
judged like any other, with the one-leader-per-epoch and voter-count checks among its split-brain checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from core.topology import resolve
from harness.runner import RunOptions, run_test
from tests.cluster.conftest import labelled_leftovers
from tests.cluster.test_workloads_txn_group import failures, run_id

pytestmark = pytest.mark.cluster


def test_voters_removed_and_added_while_writing_are_healed_and_judged(tmp_path: Path, node_image: str,
                                                                     docker_client: Any) -> None:
    options = RunOptions(topology=resolve("dynamic-quorum"), nemesis="remove-active-controller,add-controller",
                         nemesis_interval=8, time_limit=45, seed=5, image=node_image, results_root=tmp_path)
    outcome = run_test(options, say=lambda _: None)
    history = [orjson.loads(line) for line in (outcome.results / "history.jsonl").read_bytes().splitlines()]
    started = [e for e in history if e["process"] == "nemesis" and e["f"].startswith("start-")
               and e["type"] == "info" and e["value"].get("change")]
    assert started, "no voter change was injected"
    for event in started:  # each change named the voter it moved and what the quorum was before
        assert event["value"]["voters_before"] == [101, 103, 104] and event["value"]["directory_id"]
    cluster = outcome.result_json["stats"]["cluster"]
    assert cluster["quorum_samples"] > 20 and cluster["voter_count_samples"] > 20, cluster
    assert {"kraft-epoch-two-leaders", "voter-count-divergence"} <= set(cluster["checked"])
    states = [orjson.loads(line) for line in (outcome.results / "cluster-state.jsonl").read_bytes().splitlines()]
    counts = {v["raft_voters"] for s in states for v in s.get("views", {}).values() if "raft_voters" in v}
    assert counts >= {3}, counts  # the formatted quorum; 2 or 4 while a change held
    assert len(counts) > 1, f"no node ever saw the voter count change: {counts}"
    final = {n: v.get("raft_voters") for n, v in states[-1]["views"].items() if v.get("jmx") == "ok"}
    assert final and set(final.values()) == {3}, f"heal did not restore the three initial voters: {final}"
    assert outcome.valid is True, failures(outcome)
    assert labelled_leftovers(docker_client, run_id(outcome)) == []

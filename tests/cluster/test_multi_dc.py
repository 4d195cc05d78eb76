"""Both multi-DC models for real: a DR drill on two active-active clusters joined by MirrorMaker 2, and a run on
the two-cities-three-dcs preset with its per-pair WAN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

import checkers
from core.topology import resolve
from harness.drill import DrillPlan, drill_options, write_figures
from harness.runner import RunOptions, run_test
from tests.cluster.conftest import labelled_leftovers
from workloads.options import ClientOptions

pytestmark = pytest.mark.cluster


def history(outcome: Any) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (outcome.results / "history.jsonl").read_bytes().splitlines()]


def failures(outcome: Any) -> dict[str, Any]:
    return {n: a for n, a in outcome.result_json["anomalies"].items() if a and n not in checkers.INFORMATIONAL}


@pytest.mark.timeout(600)
def test_drill_on_active_active_clusters_fails_over_and_back_and_measures_rto_and_rpo(
        tmp_path: Path, node_image: str, docker_client: Any) -> None:
    plan = DrillPlan("dc1", steady_s=20, outage_s=30, after_s=25)
    base = RunOptions(topology=resolve("active-active"), workload=ClientOptions(rate=40, concurrency=3),
                      seed=1, image=node_image, results_root=tmp_path)
    outcome = run_test(drill_options(plan, base), say=lambda _: None)
    figures = write_figures(outcome.results)
    events = history(outcome)
    # Records really crossed: dc2 read dc1's writes through the mirror, and the other way round.
    mirrored = {(e["value"]["cluster"], e["value"]["source_cluster"]) for e in events
                if e["f"] == "mirror-poll" and e["type"] == "ok" and e["value"]["records"]}
    assert {("dc2", "dc1"), ("dc1", "dc2")} <= mirrored
    assert [e["f"] for e in events if e["process"] == "nemesis" and e["type"] == "invoke"][:3] == [
        "start-outage-dc1", "failover-clients", "stop-outage-dc1"]
    # The failed DC's clients wrote again in dc2 within the outage, and that data was read there.
    assert figures["rto_write_s"] is not None and 0 < figures["rto_write_s"] < plan.outage_s
    assert figures["rto_read_s"] is not None and figures["rto_read_s"] >= figures["rto_write_s"]
    # A cut, not a disaster: once healed, MirrorMaker 2 copies everything; nothing acknowledged is lost.
    assert figures["rpo"]["acknowledged_before_failure"] > 100 and figures["rpo"]["lost"] == 0
    assert figures["failback_s"] is not None, "the clients came home once dc1 answered again"
    reads = figures["app"]["reads_by_phase"]
    assert reads["home"] > 100 and reads["failback"] > 0, f"the app group read at home and after failback: {reads}"
    assert outcome.valid is True, failures(outcome)
    stats = outcome.result_json["stats"]["mirror"]
    assert stats, "the mirror checks ran"
    assert (outcome.results / "drill.png").exists() and (outcome.results / "drill.md").exists()
    assert labelled_leftovers(docker_client, orjson.loads((outcome.results / "test.json").read_bytes())["run_id"]) == []


@pytest.mark.slow  # `make test-all`: the drill covers the multi-DC plumbing in `make test`
@pytest.mark.timeout(480)
def test_two_cities_three_dcs_shapes_its_wan_and_a_dc_partition_run_is_valid(
        tmp_path: Path, node_image: str, docker_client: Any) -> None:
    options = RunOptions(topology=resolve("two-cities-three-dcs"), nemesis="partition-dc", nemesis_interval=12,
                         time_limit=30, seed=2, image=node_image, results_root=tmp_path)
    outcome = run_test(options, say=lambda _: None)
    test = orjson.loads((outcome.results / "test.json").read_bytes())
    assert test["wan"]["mechanism"] in ("netem", "nfqueue")
    assert outcome.valid is True, failures(outcome)
    assert outcome.result_json["stats"]["sends"]["acknowledged"] > 100
    assert labelled_leftovers(docker_client, test["run_id"]) == []

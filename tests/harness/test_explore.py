"""`harness explore`'s loop, with a fake run and a fake clock: the budget, what is kept, the summary files."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson
import pytest

from core.errors import HarnessError
from harness import explore, random_timeline, scenario
from harness.sweep import Case, Trial


class FakeRuns:
    """Runs that take `seconds` on a fake clock and end with the given verdicts (True, False, "error", ...),
    making a results directory where run_trial would; a KeyboardInterrupt verdict is a Ctrl-C mid-run."""

    def __init__(self, verdicts: Sequence[object] = (True,), seconds: float = 110.0) -> None:
        self.verdicts, self.seconds, self.t = list(verdicts), seconds, 0.0
        self.cases: list[Case] = []

    def now(self) -> float:
        return self.t

    def __call__(self, case: Case, run: int, say: Callable[[str], None]) -> Trial:
        assert case.options is not None
        self.cases.append(case)
        results = case.options.results_root / f"run-{run}" / case.options.name() / "20261202T120000"
        results.mkdir(parents=True)
        (results / "results.json").write_bytes(orjson.dumps({"run": {"faults_injected": 2}}))
        self.t += self.seconds
        verdict = self.verdicts[min(run - 1, len(self.verdicts) - 1)]
        if verdict is KeyboardInterrupt:
            raise KeyboardInterrupt
        failures = ("lost-write",) if verdict is False else ()
        return Trial(case.key, case.variant, run, verdict, failures, None, 0.0,  # type: ignore[arg-type]
                     results=str(results), error="brokers not registered" if verdict == "error" else "")


def plan(tmp_path: Path, budget: float = 300.0, **changes: object) -> explore.Plan:
    return explore.Plan(budget=budget, run_time=40.0, seed=1, kafka_version="4.3.1", root=tmp_path / "explore",
                        **changes)  # type: ignore[arg-type]


def run(p: explore.Plan, runs: FakeRuns) -> explore.Summary:
    return explore.explore(p, run_one=runs, now=runs.now)


# ---- the budget ---------------------------------------------------------------------------------------------

def test_no_run_starts_that_the_longest_run_so_far_says_would_end_past_the_budget(tmp_path: Path) -> None:
    # 0 + 100 (run time + startup, before any run) ≤ 300: run 1; 110 + 110 ≤ 300: run 2; 220 + 110 > 300: stop.
    runs = FakeRuns(seconds=110.0)
    summary = run(plan(tmp_path), runs)
    assert [r.number for r in summary.runs] == [1, 2]
    assert summary.stopped == "budget" and summary.elapsed == 220.0


@pytest.mark.parametrize("budget, seconds", [(300.0, 100.0), (1000.0, 90.0), (150.0, 149.0), (3600.0, 170.0)])
def test_runs_as_long_as_the_first_stay_inside_the_budget(tmp_path: Path, budget: float, seconds: float) -> None:
    runs = FakeRuns(seconds=seconds)
    summary = run(plan(tmp_path, budget), runs)
    assert summary.elapsed <= budget
    assert len(summary.runs) == int(budget // seconds)


def test_a_budget_too_small_for_one_run_is_refused_before_anything(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="--budget 90 s leaves no room for one run"):
        explore.check(plan(tmp_path, budget=90.0))
    assert not (tmp_path / "explore").exists()


# ---- what a run is ------------------------------------------------------------------------------------------

def test_each_run_is_a_scenario_run_of_the_safe_config_with_its_own_seed_and_timeline(tmp_path: Path) -> None:
    runs = FakeRuns(verdicts=(False,))
    summary = run(plan(tmp_path, client="java", workload="txn"), runs)
    for case, explored in zip(runs.cases, summary.runs, strict=True):
        options = case.options
        assert options is not None
        assert options.timeline == tuple((s.at, s.nemesis, s.hold) for s in explored.timeline)
        assert options.seed == explored.seed and options.time_limit == 40.0
        assert options.workload.acks == "all" and options.workload.idempotent
        assert options.workload.min_insync_replicas == 2 and not options.workload.unclean_leader_election
        assert options.workload.replication == 3
        assert options.workload_name == "txn" and options.client == "java" and options.kafka_version == "4.3.1"
        assert options.scenario is not None and options.scenario["source"] == explored.scenario
        assert options.scenario["expect"] == []  # the safe config must stay clean: anything failing is a finding


def test_the_same_seed_explores_the_same_runs(tmp_path: Path) -> None:
    first = run(plan(tmp_path / "a"), FakeRuns())
    second = run(plan(tmp_path / "b"), FakeRuns())
    assert [(r.seed, r.timeline) for r in first.runs] == [(r.seed, r.timeline) for r in second.runs]
    other = run(explore.Plan(300.0, 40.0, 2, "4.3.1", root=tmp_path / "c"), FakeRuns())
    assert [r.seed for r in other.runs] != [r.seed for r in first.runs]


def test_the_timelines_are_drawn_from_the_kinds_asked_for(tmp_path: Path) -> None:
    summary = run(plan(tmp_path, budget=2000.0, kinds=("kill", "clock")), FakeRuns())
    allowed = set(random_timeline.names(random_timeline.pool(("kill", "clock"), "queue")))
    assert {s.nemesis for r in summary.runs for s in r.timeline} <= allowed


# ---- what is kept -------------------------------------------------------------------------------------------

def test_a_finding_is_kept_with_a_scenario_file_that_reruns_its_timeline(tmp_path: Path) -> None:
    runs = FakeRuns(verdicts=(True, False), seconds=60.0)
    summary = run(plan(tmp_path, budget=150.0), runs)
    valid, finding = summary.runs
    assert valid.verdict == "valid" and valid.results == "" and valid.scenario == ""
    assert valid.faults_injected == 2  # read before its directory went: a VALID run tested something
    assert not (tmp_path / "explore" / "runs" / "run-1").exists()  # a VALID run leaves only its summary line
    assert not list((tmp_path / "explore" / "scenarios").glob("explore-001.toml"))
    assert finding.finding and finding.anomalies == ("lost-write",) and Path(finding.results).is_dir()
    loaded = scenario.load(Path(finding.scenario))
    assert loaded.timeline == finding.timeline and loaded.expect == () and loaded.kafka_version == "4.3.1"
    text = Path(finding.scenario).read_text()
    assert f"Found: lost-write ({finding.results}). Shrink: harness shrink {finding.results}" in text
    assert f"harness run --scenario {finding.scenario} --seed {finding.seed}" in text


def test_harness_errors_and_unknown_verdicts_are_kept_apart_neither_findings_nor_valid(tmp_path: Path) -> None:
    runs = FakeRuns(verdicts=("error", "unknown", "no-fault-injected", True), seconds=50.0)
    summary = run(plan(tmp_path, budget=200.0), runs)
    assert [r.verdict for r in summary.runs] == ["error", "unknown", "no-fault-injected", "valid"]
    assert summary.findings == ()
    assert summary.counts() == {"error": 1, "unknown": 1, "no-fault-injected": 1, "valid": 1}
    assert summary.runs[0].error == "brokers not registered"
    assert all(Path(r.results).is_dir() for r in summary.runs[:3])  # kept, to see what went wrong


def test_harness_errors_in_a_row_stop_the_explore(tmp_path: Path) -> None:
    summary = run(plan(tmp_path, budget=10_000.0), FakeRuns(verdicts=("error",), seconds=5.0))
    assert len(summary.runs) == explore.MAX_ERRORS_IN_A_ROW and summary.stopped == "harness errors"


def test_ctrl_c_mid_run_stops_and_still_writes_the_summary(tmp_path: Path) -> None:
    summary = run(plan(tmp_path, budget=1000.0), FakeRuns(verdicts=(False, KeyboardInterrupt), seconds=60.0))
    assert summary.stopped == "interrupted"
    assert [r.verdict for r in summary.runs] == ["invalid", "interrupted"]
    assert Path(summary.runs[1].results).is_dir()  # what the interrupted run left is kept
    written = orjson.loads((tmp_path / "explore" / "explore.json").read_bytes())
    assert written["stopped"] == "interrupted" and len(written["runs"]) == 2


# ---- the summary --------------------------------------------------------------------------------------------

def test_explore_json_has_one_entry_per_run_with_seed_timeline_verdict_anomalies_results(tmp_path: Path) -> None:
    summary = run(plan(tmp_path, budget=200.0), FakeRuns(verdicts=(False, True), seconds=60.0))
    written = orjson.loads((tmp_path / "explore" / "explore.json").read_bytes())
    assert written["plan"] == {"budget": 200.0, "run_time": 40.0, "seed": 1, "kafka_version": "4.3.1",
                               "client": "librdkafka", "workload": "queue", "faults": list(random_timeline.KINDS),
                               "results_dir": str(tmp_path / "explore")}
    assert written["stopped"] == "budget" and written["counts"] == {"invalid": 1, "valid": 2}
    first = written["runs"][0]
    assert first["seed"] == summary.runs[0].seed and first["verdict"] == "invalid"
    assert first["anomalies"] == ["lost-write"] and first["results"] == summary.runs[0].results
    assert first["timeline"] == [{"at": s.at, "nemesis": s.nemesis, "hold": s.hold} for s in summary.runs[0].timeline]


def test_explore_md_has_a_line_per_run_and_the_commands_for_each_finding(tmp_path: Path) -> None:
    summary = run(plan(tmp_path, budget=200.0, client="java"), FakeRuns(verdicts=(False, True), seconds=60.0))
    text = (tmp_path / "explore" / "explore.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| run ")]
    assert len(rows) == len(summary.runs) == 3
    first = summary.runs[0]
    assert rows[0].startswith(f"| 1 | {first.seed} | {explore.describe(first.timeline)} | 2/{len(first.timeline)} "
                              "| invalid")
    assert "removed (valid)" in rows[1]
    finding = summary.runs[0]
    assert (f"- run 1, seed {finding.seed}: lost-write. Re-run: `harness run --scenario {finding.scenario} --seed "
            f"{finding.seed} --client java`; shrink: `harness shrink {finding.results}`") in text


def test_the_summary_is_rewritten_after_every_run(tmp_path: Path) -> None:
    seen: list[int] = []
    runs = FakeRuns(seconds=60.0)

    def watching(case: Case, number: int, say: Callable[[str], None]) -> Trial:
        summary = tmp_path / "explore" / "explore.json"
        seen.append(len(orjson.loads(summary.read_bytes())["runs"]) if summary.exists() else 0)
        return runs(case, number, say)

    explore.explore(plan(tmp_path, budget=200.0), run_one=watching, now=runs.now)
    assert seen == [0, 1, 2]


def test_every_scenario_file_explore_writes_is_valid_toml_for_every_workload(tmp_path: Path) -> None:
    for workload in random_timeline.WORKLOADS:
        p = plan(tmp_path / workload, workload=workload)
        timeline = random_timeline.generate(7, 40.0, random_timeline.pool(random_timeline.KINDS, workload))
        parsed = scenario.parse(tomllib.loads(explore.scenario_text(p, 1, 7, timeline, ())), "explore")
        assert parsed.unsafe.workload_name == workload and parsed.timeline == timeline


def test_without_an_engine_the_cli_stops_after_the_harness_errors_and_writes_the_summary(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    out = tmp_path / "explore"
    result = subprocess.run([sys.executable, "-m", "harness.cli.main", "explore", "--budget", "600", "--run-time", "20",
                             "--seed", "3", "--results-dir", str(out)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    written = orjson.loads((out / "explore.json").read_bytes())
    assert written["stopped"] == "harness errors" and written["counts"] == {"error": explore.MAX_ERRORS_IN_A_ROW}
    assert all("no Docker engine answers" in r["error"] for r in written["runs"])
    assert "stopped (harness errors) after 3 run(s), 0 finding(s)" in " ".join(result.stderr.split())


def test_a_findings_results_directory_is_what_replay_and_shrink_read(tmp_path: Path) -> None:
    # What the runner writes into test.json for an explore run reads back as a scenario run with its timeline,
    # its seed, its client and a scenario file `harness shrink` can rewrite.
    from harness import replay
    from harness.run_options import to_json as run_options_json
    from harness.shrink import timeline_toml

    p = plan(tmp_path, client="java")
    timeline = random_timeline.generate(11, 40.0, random_timeline.pool(random_timeline.KINDS, "queue"))
    case = explore.run_case(p, 1, 11, timeline)
    assert case.options is not None
    results = tmp_path / "results"
    results.mkdir()
    (results / "test.json").write_bytes(orjson.dumps({"seed": 11, "run_options": run_options_json(case.options)}))
    recorded = replay.read(results)
    assert recorded.options == case.options and recorded.options.client == "java"
    source = Path(recorded.options.scenario["source"])  # type: ignore[index]
    assert scenario.find(str(source)).timeline == timeline
    shrunk = ((timeline[0].at, timeline[0].nemesis, 1.0),)
    assert "hold = 1\n" in timeline_toml(source.read_text(), "explore-shrunk", ["# shrunk"], shrunk)

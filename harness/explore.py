"""`harness explore`: random mixes of faults on the safe config for a time budget; every run that found an
anomaly is kept with the seed and the timeline that found it.

Each run is a scenario of its own: a random timeline (harness/random_timeline.py) in the explore's base scenario,
the safe config (acks=all, idempotence on, min.insync.replicas=2, no unclean election, RF 3 over three DCs),
written as a TOML file and run as a sweep runs a scenario (harness/sweep.py's `run_trial`). So `harness run
--scenario FILE`, `harness replay DIR` and `harness shrink DIR` take a finding as it is. The base scenario
expects nothing: any failing anomaly is a finding. Harness errors, UNKNOWN and no-fault-injected runs are
neither findings nor VALID, and are counted apart.

A run starts only if it would end inside the budget, judged by the longest run so far (before the first, the run
time plus STARTUP_S). explore.json and explore.md are rewritten after every run and once more at the end, on
Ctrl-C too (the runner tears the current run down first). A VALID run's directory and TOML are removed (its line
in the summary keeps its seed and timeline); every other run's are kept. `run_one` is the only side effect, so
the loop is unit-tested with a fake.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core.errors import HarnessError
from harness import random_timeline, scenario
from harness.scenario import TimelineStep
from harness.shrink import timeline_toml
from harness.sweep import Case, Trial, run_trial, scenario_run_options

STARTUP_S = 60.0  # what a run costs beyond its run time, until one has been measured: cluster up, drain, check
MAX_ERRORS_IN_A_ROW = 3  # harness errors one after another: the harness, not Kafka, is failing; stop
VALID, INVALID, INTERRUPTED = "valid", "invalid", "interrupted"

RunOne = Callable[[Case, int, Callable[[str], None]], Trial]


@dataclass(frozen=True)
class Plan:
    budget: float  # seconds for the whole explore
    run_time: float  # seconds of workload (and faults) per run
    seed: int
    kafka_version: str
    client: str = "librdkafka"
    workload: str = "queue"
    kinds: tuple[str, ...] = random_timeline.KINDS
    root: Path = Path("results/explore")


@dataclass(frozen=True)
class Explored:
    """One run: its seed and timeline, what it found, and where its results and scenario file are (if kept)."""

    number: int
    seed: int
    timeline: tuple[TimelineStep, ...]
    verdict: str  # valid, invalid, unknown, no-fault-injected, error, interrupted
    anomalies: tuple[str, ...]
    seconds: float
    results: str = ""  # "" when removed (a VALID run)
    scenario: str = ""
    error: str = ""
    faults_injected: int | None = None  # of the timeline's faults, those that hit something (None: not known)

    @property
    def finding(self) -> bool:
        return self.verdict == INVALID


@dataclass(frozen=True)
class Summary:
    plan: Plan
    runs: tuple[Explored, ...]
    stopped: str  # "budget", "interrupted", "harness errors", "running" (written mid-explore)
    elapsed: float

    @property
    def findings(self) -> tuple[Explored, ...]:
        return tuple(run for run in self.runs if run.finding)

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for run in self.runs:
            counted[run.verdict] = counted.get(run.verdict, 0) + 1
        return counted


# ---- the loop ---------------------------------------------------------------------------------------------------

def explore(plan: Plan, run_one: RunOne = run_trial, now: Callable[[], float] = time.monotonic,
            say: Callable[[str], None] = lambda _: None) -> Summary:
    faults = random_timeline.pool(plan.kinds, plan.workload)
    plan.root.mkdir(parents=True, exist_ok=True)
    seeds = random.Random(plan.seed)
    started = now()
    runs: list[Explored] = []
    stopped = "budget"
    try:
        while now() - started + _estimate(plan, runs) <= plan.budget:
            if len(runs) >= MAX_ERRORS_IN_A_ROW and all(r.verdict == "error" for r in runs[-MAX_ERRORS_IN_A_ROW:]):
                stopped = "harness errors"
                break
            number, seed = len(runs) + 1, seeds.randrange(2**31)
            timeline = random_timeline.generate(seed, plan.run_time, faults)
            case = run_case(plan, number, seed, timeline)
            say(f"run {number} (seed {seed}): {describe(timeline)}")
            began = now()
            try:
                trial = run_one(case, number, say)
            except KeyboardInterrupt:
                runs.append(Explored(number, seed, timeline, INTERRUPTED, (), now() - began,
                                     _kept_dir(case, number), _scenario_path(plan, number).as_posix()))
                raise
            runs.append(_keep(plan, case, number, seed, timeline, trial, now() - began))
            write(Summary(plan, tuple(runs), "running", now() - started))
    except KeyboardInterrupt:
        stopped = INTERRUPTED
    summary = Summary(plan, tuple(runs), stopped, now() - started)
    write(summary)
    return summary


def _estimate(plan: Plan, runs: Sequence[Explored]) -> float:
    return max((run.seconds for run in runs), default=plan.run_time + STARTUP_S)


def run_case(plan: Plan, number: int, seed: int, timeline: tuple[TimelineStep, ...]) -> Case:
    """Run `number` as a scenario: its TOML written, read back as `harness run --scenario FILE` reads it."""
    path = _scenario_path(plan, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scenario_text(plan, number, seed, timeline, ()))
    options = scenario_run_options(scenario.load(path), False, plan.root / "runs", seed)
    options = dataclasses.replace(options, client=plan.client, test_name=f"explore-{number:03d}")
    return Case(f"run-{number:03d}", "explore", options)


def _scenario_path(plan: Plan, number: int) -> Path:
    return plan.root / "scenarios" / f"explore-{number:03d}.toml"


def _run_dir(case: Case, number: int) -> Path:
    assert case.options is not None
    return case.options.results_root / f"run-{number}"  # where run_trial puts run `number` of a case


def _kept_dir(case: Case, number: int) -> str:
    return str(_run_dir(case, number)) if _run_dir(case, number).exists() else ""


def _keep(plan: Plan, case: Case, number: int, seed: int, timeline: tuple[TimelineStep, ...], trial: Trial,
          seconds: float) -> Explored:
    verdict = VALID if trial.valid is True else INVALID if trial.valid is False else str(trial.valid)
    path = _scenario_path(plan, number)
    injected = _faults_injected(trial.results)
    if verdict == VALID:  # it found nothing: its seed, timeline and faults in the summary are all it leaves
        shutil.rmtree(_run_dir(case, number), ignore_errors=True)
        path.unlink(missing_ok=True)
        return Explored(number, seed, timeline, verdict, (), seconds, faults_injected=injected)
    if verdict == INVALID:
        path.write_text(scenario_text(plan, number, seed, timeline, trial.failures, trial.results))
    return Explored(number, seed, timeline, verdict, trial.failures, seconds, trial.results or _kept_dir(case, number),
                    path.as_posix(), trial.error, injected)


def _faults_injected(results: str) -> int | None:
    """What results.json says of the faults that took effect: a VALID run with none would have tested nothing."""
    path = Path(results) / "results.json"
    if not results or not path.is_file():
        return None
    injected = orjson.loads(path.read_bytes()).get("run", {}).get("faults_injected")
    return int(injected) if isinstance(injected, int) else None


# ---- the scenario file of a run ---------------------------------------------------------------------------------

def base_toml(plan: Plan) -> str:
    """The safe config every explore run shares, as a scenario file without a timeline."""
    table = {"txn": "\n[txn]\n", "group": "\n[group]\n"}.get(plan.workload, "")
    return f'''name = "explore"
summary = "random faults on the safe config (acks=all, idempotence, min.insync.replicas=2, no unclean election)"
references = []
expect = []  # the safe config must stay clean: any failing anomaly is a finding
time_limit = {plan.run_time:g}
kafka_version = "{plan.kafka_version}"

[workload]
acks = "all"
idempotence = true
min_insync_replicas = 2
unclean_leader_election = false
replication = 3
{table}
[control]
explains = "none: an explore run has no unsafe variant; the run itself is on the safe config"
'''


def scenario_text(plan: Plan, number: int, seed: int, timeline: tuple[TimelineStep, ...],
                  found: tuple[str, ...], results: str = "") -> str:
    client = "" if plan.client == "librdkafka" else f" --client {plan.client}"
    header = [f"# Run {number} of `harness explore --seed {plan.seed}` (this run's seed: {seed}), {plan.workload} "
              f"workload, Kafka {plan.kafka_version}, {plan.client}.",
              f"# Re-run: harness run --scenario {_scenario_path(plan, number).as_posix()} --seed {seed}{client}"]
    if found:
        header.append(f"# Found: {', '.join(found)} ({results}). Shrink: harness shrink {results}")
    steps = tuple((step.at, step.nemesis, step.hold) for step in timeline)
    return timeline_toml(base_toml(plan), f"explore-{plan.seed}-{number:03d}", header, steps)


# ---- the summary ------------------------------------------------------------------------------------------------

def describe(timeline: Sequence[TimelineStep]) -> str:
    return ", ".join(f"{step.nemesis} {step.at:g}–{step.at + step.hold:.1f} s" for step in timeline)


def to_json(summary: Summary) -> dict[str, Any]:
    plan = summary.plan
    return {"plan": {"budget": plan.budget, "run_time": plan.run_time, "seed": plan.seed,
                     "kafka_version": plan.kafka_version, "client": plan.client, "workload": plan.workload,
                     "faults": list(plan.kinds), "results_dir": str(plan.root)},
            "stopped": summary.stopped, "elapsed": round(summary.elapsed, 1), "counts": summary.counts(),
            "runs": [{**dataclasses.asdict(run), "timeline": [dataclasses.asdict(s) for s in run.timeline],
                      "seconds": round(run.seconds, 1)} for run in summary.runs]}


def markdown(summary: Summary) -> str:
    plan = summary.plan
    counts = ", ".join(f"{n} {verdict}" for verdict, n in sorted(summary.counts().items())) or "no run"
    lines = [f"# harness explore --seed {plan.seed}", "",
             f"Kafka {plan.kafka_version}, {plan.client}, {plan.workload} workload, faults: {', '.join(plan.kinds)}; "
             f"{plan.run_time:g} s per run, budget {plan.budget:g} s, {summary.elapsed:.0f} s used; stopped: "
             f"{summary.stopped}. {len(summary.runs)} run(s): {counts}. Only `invalid` runs are findings; "
             "harness errors, `unknown` and `no-fault-injected` are neither findings nor valid.", "",
             "| run | seed | timeline | faults injected | verdict | anomalies | seconds | results |",
             "|---|---|---|---|---|---|---|---|"]
    for run in summary.runs:
        injected = "?" if run.faults_injected is None else f"{run.faults_injected}/{len(run.timeline)}"
        lines.append(f"| {run.number} | {run.seed} | {describe(run.timeline)} | {injected} | {run.verdict} | "
                     f"{', '.join(run.anomalies) or '—'} | {run.seconds:.0f} | "
                     f"{run.results or 'removed (valid)'}{' — ' + run.error if run.error else ''} |")
    lines += ["", "## Findings", ""]
    client = "" if plan.client == "librdkafka" else f" --client {plan.client}"
    for run in summary.findings:
        lines.append(f"- run {run.number}, seed {run.seed}: {', '.join(run.anomalies)}. Re-run: `harness run "
                     f"--scenario {run.scenario} --seed {run.seed}{client}`; shrink: `harness shrink {run.results}`")
    if not summary.findings:
        lines.append("none")
    return "\n".join(lines) + "\n"


def paths(root: Path) -> list[Path]:
    return [root / "explore.json", root / "explore.md"]


def write(summary: Summary) -> list[Path]:
    summary.plan.root.mkdir(parents=True, exist_ok=True)
    written = paths(summary.plan.root)
    written[0].write_bytes(orjson.dumps(to_json(summary), option=orjson.OPT_INDENT_2) + b"\n")
    written[1].write_text(markdown(summary))
    return written


def check(plan: Plan) -> None:
    """Refuse, before the first run and writing nothing, what no run of this plan could do: too little budget for
    one run, a run too short for a fault, a client that cannot run the workload."""
    from harness.runner import check_client

    faults = random_timeline.pool(plan.kinds, plan.workload)
    timeline = random_timeline.generate(plan.seed, plan.run_time, faults)
    if plan.budget < plan.run_time + STARTUP_S:
        one = plan.run_time + STARTUP_S
        raise HarnessError(f"--budget {plan.budget:g} s leaves no room for one run (about {one:g} s: --run-time "
                           f"{plan.run_time:g} plus some {STARTUP_S:g} s to start the cluster, drain and check)",
                           hint=f"--budget at least {one:g}, or a shorter --run-time")
    text = scenario_text(plan, 1, plan.seed, timeline, ())
    parsed = scenario.parse(tomllib.loads(text), "the explore's base scenario")
    options = scenario_run_options(parsed, False, plan.root / "runs", plan.seed)
    check_client(dataclasses.replace(options, client=plan.client))

"""Detection figures: run scenarios (unsafe and control) or a grid of configs many times and aggregate.

Two sweeps share one shape: a list of Cases (what to run), each run N times, one Trial per run (what it
found, read back from its results.json and history), then rows aggregated per case and written as a matrix
in Markdown, HTML and JSON. Everything but `run_trial` is pure, so the aggregation is unit-tested without
Docker.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from core import kafka_versions
from core.anomalies import CATALOG, fails, harmed
from core.errors import HarnessError
from core.history import naming, op_fields, read_events
from core.topology import Topology
from core.units import parse_duration_ms, parse_percent
from harness.runner import RunOptions
from harness.scenario import Scenario
from workloads.options import ClientOptions

LOSS = tuple(name for name in CATALOG if harmed(name) == "loss")
REORDER = tuple(name for name in CATALOG if harmed(name) == "reorder")


@dataclass(frozen=True)
class Case:
    """One thing to run N times: a scenario variant, or one grid combination under one nemesis."""

    key: str  # scenario name, or the combination as "acks=1 min.insync.replicas=2 ..."
    variant: str  # "unsafe" / "control", or the nemesis name
    options: RunOptions | None  # None: the combination is not a valid config (see `skipped`)
    expect: tuple[str, ...] = ()  # anomalies that count as a detection (scenarios)
    skipped: str = ""
    axes: tuple[tuple[str, str], ...] = ()  # the run axes' values of this case (harness/sweep_axes.py)


@dataclass(frozen=True)
class Trial:
    """What one run found."""

    key: str
    variant: str
    run: int
    valid: bool | str  # the checker's verdict; "unknown" / "error" when it could not judge
    failures: tuple[str, ...]  # failing anomalies found
    first_anomaly_s: float | None  # seconds into the workload of the earliest failing anomaly's first op
    unavailable_s: float  # seconds of the workload without any acknowledged write
    results: str = ""
    error: str = ""
    axes: tuple[tuple[str, str], ...] = ()

    def found(self, names: Iterable[str]) -> bool:
        return any(name in self.failures for name in names)


@dataclass(frozen=True)
class Row:
    key: str
    variant: str
    runs: int
    hits: int  # runs that found what this row counts (expected anomaly / any anomaly / loss / reorder)
    errors: int  # runs the harness could not complete or judge
    first_anomaly_s: float | None  # median over the hits
    unavailable_s: float | None  # median over completed runs
    loss: int = 0
    reorder: int = 0
    anomalies: tuple[str, ...] = ()  # every failing anomaly seen in any run
    note: str = ""
    axes: tuple[tuple[str, str], ...] = ()

    def rate(self) -> str:
        judged = self.runs - self.errors
        return f"{self.hits}/{judged}" if judged else "—"


# ---- scenario sweep -------------------------------------------------------------------------------------------

def scenario_cases(scenarios: Sequence[Scenario], root: Path) -> list[Case]:
    return [Case(s.name, variant, scenario_run_options(s, variant == "control", root / s.name / variant),
                 expect=s.expect)
            for s in scenarios for variant in ("unsafe", "control")]


def scenario_run_options(scenario: Scenario, control: bool, results_root: Path, seed: int | None = None) -> RunOptions:
    """What `harness run --scenario NAME [--control]` runs."""
    variant = scenario.variant(control)
    wan = dict(variant.wan)
    return RunOptions(
        topology=variant.topology, workload=variant.workload, workload_name=variant.workload_name,
        workload_options=variant.workload_options, nemesis="none",
        timeline=tuple((step.at, step.nemesis, step.hold) for step in scenario.timeline),
        time_limit=scenario.time_limit, seed=seed, results_root=results_root,
        kafka_version=variant.kafka_version or scenario.kafka_version or kafka_versions.DEFAULT,
        test_name=f"scenario-{scenario.name}-{'control' if control else 'unsafe'}",
        wan_latency_ms=parse_duration_ms(wan.get("latency", "0ms")),
        wan_jitter_ms=parse_duration_ms(wan.get("jitter", "0ms")),
        wan_loss_pct=parse_percent(wan.get("loss", "0%")), scenario=scenario.to_json(control),
        **({"client": variant.client} if variant.client else {}), client_version=variant.client_version)


def scenario_rows(trials: Sequence[Trial], cases: Sequence[Case]) -> list[Row]:
    """Unsafe rows count runs that found an expected anomaly (detection); control rows count runs that found
    any failing anomaly (false alarms). A regression scenario (expects nothing) counts alarms in both."""
    rows = []
    for case in cases:
        mine = [t for t in trials if _of(t, case)]
        rows.append(_row(case, mine, _alarm if case.variant == "control" or not case.expect else
                         _detection(case.expect)))
    return rows


def _of(trial: Trial, case: Case) -> bool:
    return (trial.key, trial.variant, trial.axes) == (case.key, case.variant, case.axes)


def _alarm(trial: Trial) -> bool:
    return trial.valid is False


def _detection(expect: tuple[str, ...]) -> Callable[[Trial], bool]:
    return lambda trial: trial.found(expect)


# ---- config grid ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[str, ...]


# grid key -> (ClientOptions field, parser)
_GRID_KEYS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "acks": ("acks", lambda v: _choice(v, ("all", "-1", "1", "0"))),
    "min.insync.replicas": ("min_insync_replicas", int),
    "unclean": ("unclean_leader_election", lambda v: _boolean(v)),
    "idempotence": ("idempotence", lambda v: _boolean(v)),
    "replication": ("replication", int),
    "max.in.flight": ("max_in_flight", int),
    "retries": ("retries", int),
}
_ALIASES = {"unclean.leader.election.enable": "unclean", "enable.idempotence": "idempotence",
            "max.in.flight.requests.per.connection": "max.in.flight", "min.insync": "min.insync.replicas",
            "replication.factor": "replication"}


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"not one of {', '.join(allowed)}")
    return value


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"{value!r} is not true or false")
    return lowered == "true"


def parse_grid(items: Sequence[str]) -> list[Axis]:
    """`acks=1,all min.insync.replicas=1,2` -> axes; each value checked now, not mid-sweep."""
    if not items:
        raise HarnessError("--grid needs at least one KEY=V1,V2 axis", hint="e.g. --grid acks=1,all unclean=true,false")
    axes: list[Axis] = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = _ALIASES.get(key.strip(), key.strip())
        if not sep or not raw.strip():
            raise HarnessError(f"grid axis {item!r} is not KEY=V1,V2", hint="e.g. acks=1,all")
        if key not in _GRID_KEYS:
            raise HarnessError(f"unknown grid key {key!r}", hint="known: " + ", ".join(sorted(_GRID_KEYS)))
        if any(a.name == key for a in axes):
            raise HarnessError(f"grid key {key!r} given twice")
        values = tuple(v.strip() for v in raw.split(",") if v.strip())
        for value in values:
            try:
                _GRID_KEYS[key][1](value)
            except ValueError as error:
                raise HarnessError(f"grid {key}: bad value {value!r} ({error})") from None
        axes.append(Axis(key, values))
    return axes


def combinations(axes: Sequence[Axis]) -> list[tuple[tuple[str, str], ...]]:
    return [tuple(zip([a.name for a in axes], values, strict=True))
            for values in itertools.product(*(a.values for a in axes))]


def combination_options(base: ClientOptions, combination: tuple[tuple[str, str], ...]) -> ClientOptions:
    """ClientOptions for one combination; HarnessError when Kafka's client would refuse it."""
    changes = {_GRID_KEYS[key][0]: _GRID_KEYS[key][1](value) for key, value in combination}
    return dataclasses.replace(base, **changes)


def grid_cases(axes: Sequence[Axis], nemeses: Sequence[str], topology: Topology, root: Path, time_limit: float,
               nemesis_interval: float, base: ClientOptions | None = None) -> list[Case]:
    cases = []
    for combination in combinations(axes):
        key = " ".join(f"{k}={v}" for k, v in combination)
        slug = "_".join(f"{k}-{v}" for k, v in combination)
        for nemesis in nemeses:
            try:
                workload = combination_options(base or ClientOptions(), combination)
            except HarnessError as refused:
                cases.append(Case(key, nemesis, None, skipped=str(refused)))
                continue
            cases.append(Case(key, nemesis, RunOptions(
                topology=topology, workload=workload, nemesis=nemesis, nemesis_interval=nemesis_interval,
                time_limit=time_limit, results_root=root / slug / nemesis, test_name=f"grid-{nemesis}")))
    return cases


def grid_rows(trials: Sequence[Trial], cases: Sequence[Case]) -> list[Row]:
    return [_row(case, [t for t in trials if _of(t, case)], _alarm) for case in cases]


# ---- aggregation and rendering --------------------------------------------------------------------------------

def _row(case: Case, trials: Sequence[Trial], hit: Callable[[Trial], bool]) -> Row:
    judged = [t for t in trials if t.valid in (True, False)]
    hits = [t for t in judged if hit(t)]
    firsts = [t.first_anomaly_s for t in hits if t.first_anomaly_s is not None]
    gaps = [t.unavailable_s for t in judged]
    return Row(case.key, case.variant, len(trials), len(hits), len(trials) - len(judged),
               statistics.median(firsts) if firsts else None, statistics.median(gaps) if gaps else None,
               loss=sum(t.found(LOSS) for t in judged), reorder=sum(t.found(REORDER) for t in judged),
               anomalies=tuple(sorted({a for t in judged for a in t.failures})), note=case.skipped, axes=case.axes)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _axis_names(rows: Sequence[Row]) -> list[str]:
    return [name for name, _ in rows[0].axes] if rows else []


def scenario_table(rows: Sequence[Row]) -> list[list[str]]:
    header = ["scenario", "variant", *_axis_names(rows), "runs", "detected / false alarms",
              "median time to first anomaly (s)", "median availability lost (s)", "anomalies seen", "harness errors"]
    body = []
    for r in rows:
        axes = [value for _, value in r.axes]
        if r.note:
            body.append([r.key, r.variant, *axes, "0", "n/a", "—", "—", f"not run: {r.note}", "0"])
            continue
        body.append([r.key, r.variant, *axes, str(r.runs), r.rate(), _seconds(r.first_anomaly_s),
                     _seconds(r.unavailable_s), ", ".join(r.anomalies) or "none", str(r.errors)])
    return [header, *body]


def grid_table(rows: Sequence[Row]) -> list[list[str]]:
    header = ["config", "nemesis", *_axis_names(rows), "runs", "lost data", "reordered / duplicated", "any anomaly",
              "median availability lost (s)", "anomalies seen"]
    body = []
    for r in rows:
        axes = [value for _, value in r.axes]
        if r.note:
            body.append([r.key, r.variant, *axes, "0", "n/a", "n/a", "n/a", "—", f"not run: {r.note}"])
            continue
        judged = r.runs - r.errors
        body.append([r.key, r.variant, *axes, str(r.runs), f"{r.loss}/{judged}", f"{r.reorder}/{judged}", r.rate(),
                     _seconds(r.unavailable_s), ", ".join(r.anomalies) or "none"])
    return [header, *body]


def markdown(title: str, table: list[list[str]], notes: Sequence[str] = ()) -> str:
    lines = [f"# {title}", "", *notes, "" if notes else ""]
    lines.append("| " + " | ".join(table[0]) + " |")
    lines.append("|" + "---|" * len(table[0]))
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table[1:]]
    return "\n".join(lines) + "\n"


def html_page(title: str, table: list[list[str]], notes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table[1:])
    paragraphs = "".join(f"<p>{html.escape(n)}</p>" for n in notes)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#eee}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{paragraphs}<table><tr>{head}</tr>{body}</table></body></html>\n")


def write_matrix(directory: Path, title: str, table: list[list[str]], rows: Sequence[Row],
                 trials: Sequence[Trial], notes: Sequence[str] = (), changes: Sequence[str] = ()) -> list[Path]:
    """`changes`: where a run axis (a Kafka release, a client) changed the outcome, one line each."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "matrix.md", directory / "matrix.html", directory / "matrix.json"]
    shown = [*notes, *(["Where the outcome changes:", *(f"- {line}" for line in changes)] if changes else [])]
    paths[0].write_text(markdown(title, table, shown))
    paths[1].write_text(html_page(title, table, shown))
    paths[2].write_bytes(orjson.dumps({"title": title, "notes": list(notes), "changes": list(changes),
                                       "rows": [dataclasses.asdict(r) for r in rows],
                                       "trials": [dataclasses.asdict(t) for t in trials]},
                                      option=orjson.OPT_INDENT_2))
    return paths


# ---- one run, read back ---------------------------------------------------------------------------------------

@dataclass
class HistoryFacts:
    workload_start: float | None = None  # seconds (history clock) of the first send invoke
    workload_end: float | None = None  # of the last send completion
    acknowledged: list[float] = field(default_factory=list)  # times of ok sends
    times: dict[int, float] = field(default_factory=dict)  # op index -> time, for the indexes asked for


def read_history(path: Path, indexes: set[int]) -> HistoryFacts:
    facts = HistoryFacts()
    with naming(path):
        for line, event in read_events(path):
            index, time, _, type_, f = op_fields(line, event)
            t = time / 1e9
            if index in indexes:
                facts.times[index] = t
            if f != "send":
                continue
            if type_ == "invoke":
                if facts.workload_start is None:
                    facts.workload_start = t
            else:
                facts.workload_end = t
                if type_ == "ok":
                    facts.acknowledged.append(t)
    return facts


def unavailable_seconds(acknowledged: Sequence[float], start: float | None, end: float | None) -> float:
    """Whole seconds from start (a partial last second is left out) in which no write was acknowledged."""
    if start is None or end is None or end <= start:
        return 0.0
    buckets = int(end - start)
    served = {int(t - start) for t in acknowledged if start <= t < start + buckets}
    return float(buckets - len(served))


def trial_from_results(case: Case, run: int, results: Path) -> Trial:
    data = orjson.loads((results / "results.json").read_bytes())
    failures = tuple(sorted(name for name, evidence in data.get("anomalies", {}).items()
                            if evidence and fails(name)))
    earliest = {min(e["ops"]) for name in failures for e in data["anomalies"][name] if e.get("ops")}
    facts = read_history(results / "history.jsonl", earliest)
    first = min((facts.times[i] for i in earliest if i in facts.times), default=None)
    start = facts.workload_start
    return Trial(case.key, case.variant, run, data.get("valid", "unknown"), failures,
                 None if first is None or start is None else max(0.0, first - start),
                 unavailable_seconds(facts.acknowledged, start, facts.workload_end), str(results), axes=case.axes)


def run_trial(case: Case, run: int, say: Callable[[str], None]) -> Trial:
    """Run one case once; a harness failure is a Trial with an error, never the end of the sweep."""
    from harness.runner import run_test

    assert case.options is not None
    options = dataclasses.replace(case.options, results_root=case.options.results_root / f"run-{run}")
    started = time.monotonic()
    try:
        outcome = run_test(options, say=lambda message: None)
    except Exception as error:  # noqa: BLE001 - one failed run is a data point, not the end of a long sweep
        say(f"  {case.key} {case.variant}{_label(case)} run {run}: harness error: {error}")
        return Trial(case.key, case.variant, run, "error", (), None, 0.0, error=str(error), axes=case.axes)
    trial = trial_from_results(case, run, outcome.results)
    say(f"  {case.key} {case.variant}{_label(case)} run {run}: {'valid' if trial.valid is True else trial.valid} "
        f"{', '.join(trial.failures)} ({time.monotonic() - started:.0f} s)")
    return trial


def _label(case: Case) -> str:
    return "".join(f" {name}={value}" for name, value in case.axes)

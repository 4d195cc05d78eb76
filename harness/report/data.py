"""What a report needs from a results directory, read in one streaming pass over the history.

A history can hold a million lines, so nothing keeps every op: latencies are thinned to a bounded, evenly
spread sample, throughput is counted per second, and only the ops the checker cites are kept verbatim.
Every file but history.jsonl may be missing; the report says which ones were.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from core.anomalies import INFORMATIONAL
from core.errors import HarnessError
from core.faults import FaultTimeline
from core.history import NEMESIS, Event, naming, op_fields, read_events

OUTCOMES = ("ok", "fail", "info")
MAX_POINTS_PER_SERIES = 4000
MAX_CITED_OPS = 2000
# Kinds reported for information, never a broken guarantee (the catalog's).
NOT_FAILURES = frozenset(INFORMATIONAL)

# Evidence keys that name ops: `op`, `ops`, `index`, `indexes`, `send_index`, `read-ops`, ... (not `topic`).
_OP_KEY = re.compile(r"(^|[_\-\s])(ops?|indexes|indices)($|[_\-\s])|index")


@dataclass
class Thinned:
    """At most `cap` (x, y) points, evenly spread over everything added: keeps every stride-th point and
    doubles the stride whenever the buffer fills, so memory stays bounded on any history length."""

    cap: int = MAX_POINTS_PER_SERIES
    stride: int = 1
    seen: int = 0
    points: list[tuple[float, float]] = field(default_factory=list)

    def add(self, x: float, y: float) -> None:
        if self.seen % self.stride == 0:
            self.points.append((x, y))
            if len(self.points) > self.cap:
                self.points = self.points[::2]
                self.stride *= 2
        self.seen += 1


@dataclass(frozen=True)
class FaultWindow:
    """One fault: from its start invoke to the completion of its stop (or of heal-all)."""

    fault: str
    nemesis: str
    start: float
    end: float | None  # None: still active when the history ends
    targets: tuple[str, ...]
    detail: str


@dataclass
class RunData:
    path: Path
    test: dict[str, Any] | None = None
    results: dict[str, Any] | None = None
    cluster_state: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lines: int = 0
    start: float = 0.0  # seconds of the first event (the recorder's clock starts before the cluster is up)
    duration: float = 0.0  # seconds of the last event
    op_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    latencies: dict[tuple[str, str], Thinned] = field(default_factory=dict)
    throughput: dict[str, Counter[int]] = field(default_factory=lambda: {o: Counter() for o in OUTCOMES})
    faults: list[FaultWindow] = field(default_factory=list)
    cited: dict[int, bytes] = field(default_factory=dict)

    @property
    def client_fs(self) -> list[str]:
        order = {"send": 0, "poll": 1, "txn": 2, "commit": 3}
        return sorted({f for f, _ in self.op_counts}, key=lambda f: (order.get(f, 9), f))


def load_run(path: Path) -> RunData:
    history = path / "history.jsonl"
    if not history.is_file():
        raise HarnessError(f"no history.jsonl in {path}", hint="pass a results directory written by `harness run`")
    data = RunData(path=path)
    data.test = _read_json(path / "test.json", data)
    data.results = _read_json(path / "results.json", data)
    if (path / "cluster-state.jsonl").is_file():
        with naming(path / "cluster-state.jsonl"):
            data.cluster_state = [sample for _, sample in read_events(path / "cluster-state.jsonl")]
    else:
        data.missing.append("cluster-state.jsonl")
    wanted = cited_indexes(data.results)
    if len(wanted) > MAX_CITED_OPS:
        data.problems.append(f"the checker cites {len(wanted)} ops; the report lists the first {MAX_CITED_OPS}")
        wanted = set(sorted(wanted)[:MAX_CITED_OPS])
    _stream_history(history, data, wanted)
    return data


def cited_indexes(results: dict[str, Any] | None) -> set[int]:
    if not results:
        return set()
    found: set[int] = set()
    for evidence_list in (results.get("anomalies") or {}).values():
        for evidence in evidence_list if isinstance(evidence_list, list) else [evidence_list]:
            found.update(evidence_indexes(evidence))
    return found


def evidence_indexes(evidence: Any) -> list[int]:
    """Op indexes an evidence dict cites, in the order it cites them (the checker's fields are not fixed yet,
    so any key that looks like `op`/`ops`/`...index...` counts, and any nested dict with an `index`)."""
    found: list[int] = []

    def ints(value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            found.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                ints(item)
        elif isinstance(value, dict):
            if isinstance(value.get("index"), int):
                found.append(value["index"])
            else:
                walk(value)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if _OP_KEY.search(str(key).lower()):
                    ints(item)
                elif isinstance(item, dict | list):
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(evidence)
    return list(dict.fromkeys(found))


def _read_json(path: Path, data: RunData) -> dict[str, Any] | None:
    if not path.is_file():
        data.missing.append(path.name)
        return None
    try:
        loaded = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        data.problems.append(f"{path.name} is not valid JSON ({error}); ignored")
        return None
    return loaded if isinstance(loaded, dict) else None


def _stream_history(path: Path, data: RunData, wanted: set[int]) -> None:
    # The hot loop of a report on a million-line history: locals only, the shared reader and its checks.
    pending: dict[Any, tuple[float, int, Event]] = {}  # client process -> its outstanding invoke
    faults = FaultTimeline()
    counts: dict[tuple[str, str], int] = {}
    latencies = data.latencies
    throughput = data.throughput
    cited = data.cited
    lines = 0
    first, last = float("inf"), 0.0
    with naming(path):
        for line, op in read_events(path):
            index, time, process, type_, f = op_fields(line, op)
            seconds = time / 1e9
            lines += 1
            first = seconds if seconds < first else first
            last = seconds if seconds > last else last
            if index in wanted:
                cited[index] = orjson.dumps(op)
            if process == NEMESIS:
                faults.feed(index, int(time), type_, f, op.get("value"), op.get("error"))
                continue
            key = (f, type_)
            counts[key] = counts.get(key, 0) + 1
            if type_ == "invoke":
                pending[process] = (seconds, index, op)
                continue
            if type_ in throughput:
                throughput[type_][int(seconds)] += 1
            invoke = pending.pop(process, None)
            if invoke is not None:
                series = latencies.get(key)
                if series is None:
                    series = latencies[key] = Thinned()
                series.add(seconds, (seconds - invoke[0]) * 1e3)
                if index in wanted and len(cited) < MAX_CITED_OPS * 2:
                    cited[invoke[1]] = orjson.dumps(invoke[2])
    data.lines, data.start, data.duration = lines, (first if lines else 0.0), last
    data.op_counts = Counter({(str(f), str(t)): n for (f, t), n in counts.items()})
    data.faults = fault_windows(faults)


def fault_windows(faults: FaultTimeline) -> list[FaultWindow]:
    """The report's view of the faults (core/faults.py pairs them): seconds, targets and a one-line detail; a
    start that completed `fail` never took effect and has no window."""
    windows = []
    for fault in faults.faults():
        if fault.failed:
            continue
        value = fault.value if isinstance(fault.value, dict) else {}
        if fault.error is not None:
            value = {**value, "error": fault.error}
        end = fault.stop_time / 1e9 if fault.stop_time is not None else None
        windows.append(_window(str(fault.fault), str(value.get("nemesis", fault.nemesis)), fault.start_time / 1e9,
                               end, value))
    return sorted(windows, key=lambda w: w.start)


def _window(key: str, nemesis: str, start: float, end: float | None, value: dict[str, Any]) -> FaultWindow:
    targets = value.get("targets") or []
    detail = []
    if value.get("isolated"):
        detail.append(f"isolated {_compact(value['isolated'])}")
    if value.get("components"):
        detail.append(" | ".join(", ".join(map(str, c)) for c in value["components"] if isinstance(c, list)))
    extra = {k: v for k, v in value.items() if k not in ("fault", "nemesis", "targets", "isolated", "components")}
    if extra:
        detail.append(_compact(extra))
    return FaultWindow(fault=key, nemesis=nemesis, start=start, end=end,
                       targets=tuple(map(str, targets if isinstance(targets, list) else [targets])),
                       detail="; ".join(detail))


def _compact(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def group_rows(stats: Any) -> list[tuple[str, str, int, int, int, str]]:
    """(group, protocol, members, rebalances, redelivered, redelivered per rebalance) from results.json's
    stats.groups: both protocols side by side (a mixed group has a row for each)."""
    rows = []
    for name, g in sorted(((stats or {}).get("groups") or {}).items()):
        protocols = g.get("protocols") or {}
        for protocol in sorted(set(protocols) | set(g.get("rebalances") or {})):
            rebalances = (g.get("rebalances") or {}).get(protocol, 0)
            redelivered = (g.get("redelivered_by_protocol") or {}).get(protocol, 0)
            per = f"{redelivered / rebalances:.1f}" if rebalances else "–"
            rows.append((name, protocol, protocols.get(protocol, 0), rebalances, redelivered, per))
    return rows

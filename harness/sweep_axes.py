"""Axes of the run itself that multiply a sweep's cases: the Kafka release and the client library.

A grid axis (harness/sweep.py) changes the workload's config; a run axis changes what runs it. Each case of a
scenario sweep or a config grid is run once per combination of the run axes' values, and each combination is a
column of the matrix. A value that cannot run a case (ZooKeeper mode on Kafka 4) leaves that cell "not run"
with the reason, as the grid does for a config Kafka's client refuses. An axis given no values still labels
each case with its own value (a ZooKeeper scenario's pinned 3.9.1, the default elsewhere), so the matrix always
says which release every row ran on.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from core import kafka_versions
from core.errors import HarnessError
from harness import runner
from harness.runner import RunOptions
from harness.sweep import Case, Row

Check = Callable[[RunOptions], None]  # raises HarnessError when the options cannot run


@dataclass(frozen=True)
class RunAxis:
    name: str  # the matrix column, and the results folder of each value (`kafka-4.0.0`)
    field: str  # the RunOptions field each value sets
    values: tuple[str, ...] = ()  # () : every case keeps its own value, which only labels it
    check: Check = lambda options: None
    label: Callable[[RunOptions], str] | None = None  # without values: how a case's own value is labelled


def _kafka_fits(options: RunOptions) -> None:
    kafka_versions.check_mode(options.kafka_version, options.topology.mode, options.topology.kraft_voters)


def kafka_axis(values: Sequence[str] = ()) -> RunAxis:
    return RunAxis("kafka", "kafka_version", tuple(kafka_versions.check(v, "--kafka-versions") for v in values),
                   _kafka_fits)


def _client_fits(options: RunOptions) -> None:
    runner.check_client(options)


def client_axis(values: Sequence[str] = ()) -> RunAxis:
    """`librdkafka,java`: each case through each client; a case the Java driver cannot run (a workload it does
    not speak, a nemesis that cuts the host's clients off) is not run, with the reason."""
    return RunAxis("client", "client", parse_clients(values) if values else (), _client_fits, _client_label)


def _client_label(options: RunOptions) -> str:
    """A case that pins its kafka-clients release (a client bug's scenario) shows it: `java 3.9.1`."""
    return f"{options.client} {options.client_version}" if options.client_version else options.client


def parse_clients(values: Sequence[str]) -> tuple[str, ...]:
    clients = tuple(v.strip() for v in values if v.strip())
    if not clients:
        raise HarnessError("--clients needs at least one client", hint="e.g. librdkafka,java")
    for client in clients:
        if client not in runner.CLIENTS:
            raise HarnessError(f"--clients: unknown client {client!r}", hint="known: " + ", ".join(runner.CLIENTS))
    repeated = sorted({c for c in clients if clients.count(c) > 1})
    if repeated:
        raise HarnessError(f"--clients: {repeated[0]} given twice")
    return clients


def expand(cases: Sequence[Case], axes: Sequence[RunAxis]) -> list[Case]:
    """Every case once per combination of the axes' values, labelled with it; refused combinations skipped."""
    expanded = []
    for case in cases:
        for combination in itertools.product(*(_values(axis, case) for axis in axes)):
            labels = tuple((axis.name, value) for axis, value in zip(axes, combination, strict=True))
            if case.options is None:  # already not runnable (a refused grid config): stays so, labelled
                expanded.append(dataclasses.replace(case, axes=case.axes + labels))
                continue
            options = case.options
            for axis, value in zip(axes, combination, strict=True):
                if axis.values:
                    options = dataclasses.replace(options, **{axis.field: value},
                                                  results_root=options.results_root / f"{axis.name}-{value}")
            try:
                for axis in axes:
                    axis.check(options)
            except HarnessError as refused:
                expanded.append(dataclasses.replace(case, options=None, skipped=refused.message,
                                                    axes=case.axes + labels))
                continue
            expanded.append(dataclasses.replace(case, options=options, axes=case.axes + labels))
    return expanded


def _values(axis: RunAxis, case: Case) -> tuple[str, ...]:
    if axis.values:
        return axis.values
    if case.options is None:
        return ("—",)
    return (axis.label(case.options) if axis.label else str(getattr(case.options, axis.field)),)


def outcome_changes(rows: Sequence[Row], axis: str) -> list[str]:
    """One line per row group (same case, same other axes) whose outcome differs along `axis`: the hit rate or
    the failing anomalies seen. Cells not run, and values no run could judge, do not count as a change."""
    groups: dict[tuple[object, ...], list[Row]] = {}
    for row in rows:
        others = tuple((name, value) for name, value in row.axes if name != axis)
        groups.setdefault((row.key, row.variant, others), []).append(row)
    lines = []
    for (key, variant, others), members in groups.items():
        judged = [r for r in members if not r.note and r.runs > r.errors]
        outcomes = {(Fraction(r.hits, r.runs - r.errors), r.anomalies) for r in judged}
        if len(outcomes) < 2:
            continue
        where = " ".join(f"{name}={value}" for name, value in others)  # type: ignore[misc]
        cells = "; ".join(f"{dict(r.axes).get(axis)}: {r.rate()} {', '.join(r.anomalies) or 'none'}"
                          for r in judged)
        lines.append(f"{key} {variant}{' ' + where if where else ''}: the outcome changes with {axis} ({cells})")
    return lines

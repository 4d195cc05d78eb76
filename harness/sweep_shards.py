"""Sweeps across machines: `--shard I/N` runs a deterministic 1/N of a sweep's cells, `merge` joins the shards.

A cell is one run of one case (case key, variant, run axes, run number). Shard I of N takes every N-th cell of
the cells sorted by their identity, starting at the I-th: the split depends on the set of cells only (not on the
order scenarios were listed in), every cell is in exactly one shard, and shards differ by at most one cell.

Each shard writes, next to its matrix, `shard.json`: the sweep's plan (what every shard must agree on: kind,
title, notes, runs, every case) and which cells it ran. `merge` refuses shards of different plans, of different
N, the same shard twice or a shard missing or unfinished, and otherwise writes the matrix an unsharded sweep of
the same plan would have written into the output directory (run paths rewritten to it, run directories linked
or copied there).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core.errors import HarnessError
from harness import sweep, sweep_axes
from harness.sweep import Case, Trial

MANIFEST = "shard.json"
FORMAT = 1
Runner = Callable[[Case, int, Callable[[str], None]], Trial]  # one cell: sweep.run_trial, or a fake in tests
KINDS: dict[str, tuple[Callable[..., list[sweep.Row]], Callable[..., list[list[str]]]]] = {
    "scenarios": (sweep.scenario_rows, sweep.scenario_table), "grid": (sweep.grid_rows, sweep.grid_table)}


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match is None:
        raise HarnessError(f"--shard {text!r} is not I/N", hint="e.g. --shard 2/4: the second of 4 shards")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise HarnessError(f"--shard {text}: I must be between 1 and N (N at least 1)",
                           hint="shards are numbered 1/N … N/N")
    return Shard(index, count)


@dataclass(frozen=True)
class Plan:
    """What a sweep runs and how its matrix reads; equal on every shard of one sweep."""

    kind: str  # "scenarios" or "grid" (KINDS)
    title: str
    notes: tuple[str, ...]
    cases: tuple[Case, ...]
    runs: int
    run_axes: tuple[str, ...]  # names of the run axes (harness/sweep_axes.py) the matrix reports changes along

    def cells(self) -> list[tuple[Case, int]]:
        """Every runnable case once per run, in the order an unsharded sweep runs them (round-robin)."""
        return [(case, run) for run in range(1, self.runs + 1) for case in self.cases if case.options is not None]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "notes": list(self.notes), "runs": self.runs,
                "run_axes": list(self.run_axes), "cases": [_case_json(c) for c in self.cases]}


def _case_json(case: Case) -> dict[str, Any]:
    return {"key": case.key, "variant": case.variant, "runnable": case.options is not None,
            "expect": list(case.expect), "skipped": case.skipped, "axes": [list(a) for a in case.axes]}


def cell_id(case: Case, run: int) -> str:
    return orjson.dumps([case.key, case.variant, [list(a) for a in case.axes], run]).decode()


def trial_cell(trial: Trial) -> str:
    return orjson.dumps([trial.key, trial.variant, [list(a) for a in trial.axes], trial.run]).decode()


def select(ids: Sequence[str], shard: Shard) -> set[str]:
    """Shard I/N's share of the cell ids: every N-th of them sorted, from the I-th."""
    return set(sorted(ids)[shard.index - 1::shard.count])


# ---- running ----------------------------------------------------------------------------------------------------

def write(plan: Plan, root: Path, trials: Sequence[Trial], extra_notes: Sequence[str] = (),
          cases: Sequence[Case] | None = None) -> list[Path]:
    """The matrix of `trials` (rows for `cases`, default every case), as `harness sweep` writes it."""
    rows_of, table_of = KINDS[plan.kind]
    rows = rows_of(trials, list(plan.cases if cases is None else cases))
    changes = [line for axis in plan.run_axes for line in sweep_axes.outcome_changes(rows, axis)]
    return sweep.write_matrix(root, plan.title, table_of(rows), rows, trials, [*plan.notes, *extra_notes], changes)


def execute(plan: Plan, root: Path, say: Callable[[str], None], shard: Shard | None = None,
            runner: Runner = sweep.run_trial) -> list[Path]:
    """Run the plan's cells (a shard's share of them), writing the matrix as each run finishes."""
    cells = plan.cells()
    if shard is None:
        mine, extra, cases = cells, [], None
    else:
        chosen = select([cell_id(c, r) for c, r in cells], shard)
        mine = [(c, r) for c, r in cells if cell_id(c, r) in chosen]
        extra = [f"Shard {shard} of this sweep: {len(mine)} of its {len(cells)} runs "
                 "(`harness sweep merge` joins the shards into one matrix)."]
        cases = [c for c in plan.cases if any(c is mc for mc, _ in mine)]
    root.mkdir(parents=True, exist_ok=True)
    trials: list[Trial] = []

    def record(complete: bool) -> list[Path]:
        if shard is not None:
            _write_manifest(root, plan, shard, [cell_id(c, r) for c, r in mine], complete)
        return write(plan, root, trials, extra, cases)

    record(False)
    say(f"sweep: {len(mine)} run(s) of {len({id(c) for c, _ in mine})} case(s)"
        f"{f' (shard {shard} of {len(cells)} runs)' if shard else ''} into {root}")
    for case, run in mine:
        trials.append(runner(case, run, say))
        record(False)
    return record(True)


def _write_manifest(root: Path, plan: Plan, shard: Shard, cells: list[str], complete: bool) -> None:
    body = plan.to_json()
    (root / MANIFEST).write_bytes(orjson.dumps({
        "format": FORMAT, "plan": body, "fingerprint": _fingerprint(body), "shard": str(shard),
        "root": str(root), "cells": cells, "complete": complete}, option=orjson.OPT_INDENT_2))


def _fingerprint(plan_json: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(plan_json, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


# ---- merging ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Part:
    directory: Path
    plan: dict[str, Any]
    shard: Shard
    root: str  # the results root the shard's run paths start with
    cells: tuple[str, ...]
    complete: bool
    trials: tuple[Trial, ...]


def merge(directories: Sequence[Path], out: Path) -> list[Path]:
    """One matrix from the shards in `directories`, written to `out`; HarnessError (one line) if they do not
    make exactly one whole sweep."""
    if not directories:
        raise HarnessError("sweep merge needs the shards' results directories",
                           hint="harness sweep merge results/sweeps/shard-1 results/sweeps/shard-2 --out DIR")
    parts = [_read_part(d) for d in directories]
    first = parts[0]
    for part in parts[1:]:
        _same_sweep(first, part)
    seen: dict[int, _Part] = {}
    for part in parts:
        if part.shard.index in seen:
            raise HarnessError(f"{seen[part.shard.index].directory} and {part.directory} are both shard {part.shard}",
                               hint="give each shard once")
        seen[part.shard.index] = part
    missing = [f"{i}/{first.shard.count}" for i in range(1, first.shard.count + 1) if i not in seen]
    if missing:
        raise HarnessError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
                           f"(given: {', '.join(str(p.shard) for p in sorted(parts, key=lambda p: p.shard.index))})",
                           hint="merge every shard of the sweep")
    plan = _plan_of(first.plan)
    _cover(plan, parts)
    order = {cell_id(c, r): n for n, (c, r) in enumerate(plan.cells())}
    trials = [_moved(t, part.root, out) for part in parts for t in part.trials]
    trials.sort(key=lambda t: order[trial_cell(t)])
    for part in parts:
        _link_runs(part.directory, out)
    return write(plan, out, trials)


def _read_part(directory: Path) -> _Part:
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise HarnessError(f"{directory} is not a shard of a sweep (no {MANIFEST})",
                           hint="shards come from `harness sweep ... --shard I/N --results-dir DIR`")
    try:
        data = orjson.loads(manifest.read_bytes())
        matrix = orjson.loads((directory / "matrix.json").read_bytes())
        shard = parse_shard(str(data["shard"]))
        if data.get("format") != FORMAT:
            raise HarnessError(f"{manifest}: format {data.get('format')!r}, this harness reads {FORMAT}")
        trials = tuple(_trial(t) for t in matrix["trials"])
        return _Part(directory, data["plan"], shard, str(data["root"]), tuple(data["cells"]),
                     bool(data["complete"]), trials)
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise HarnessError(f"{directory}: unreadable shard ({type(error).__name__}: {error})") from None


def _trial(data: dict[str, Any]) -> Trial:
    return Trial(**{**data, "failures": tuple(data["failures"]), "axes": tuple(tuple(a) for a in data["axes"])})


def _same_sweep(a: _Part, b: _Part) -> None:
    if a.shard.count != b.shard.count:
        raise HarnessError(f"{a.directory} is shard {a.shard} but {b.directory} is shard {b.shard}: "
                           "shards of one sweep share N")
    if _fingerprint(a.plan) == _fingerprint(b.plan):
        return
    differ = next((k for k in ("kind", "run_axes", "runs", "title", "notes") if a.plan[k] != b.plan[k]), None)
    if differ is None:
        axes_a, axes_b = ({tuple(map(tuple, c["axes"])) for c in p.plan["cases"]} for p in (a, b))
        differ = "axes" if axes_a != axes_b else "cases"
    raise HarnessError(f"{b.directory} is a shard of another sweep than {a.directory}: their {differ} differ",
                       hint="merge shards of one `harness sweep` command line")


def _plan_of(data: dict[str, Any]) -> Plan:
    cases = tuple(Case(c["key"], c["variant"], _RUNNABLE if c["runnable"] else None, tuple(c["expect"]),
                       c["skipped"], tuple(tuple(a) for a in c["axes"])) for c in data["cases"])
    return Plan(data["kind"], data["title"], tuple(data["notes"]), cases, int(data["runs"]), tuple(data["run_axes"]))


# A stand-in for the options of a runnable case read back from a manifest: merge never runs it, and the rows
# only ask whether a case ran.
_RUNNABLE: Any = object()


def _cover(plan: Plan, parts: Sequence[_Part]) -> None:
    """Every cell in exactly one shard, and each shard ran all of its cells."""
    owner: dict[str, Path] = {}
    for part in parts:
        for cell in part.cells:
            if cell in owner:
                raise HarnessError(f"{owner[cell]} and {part.directory} overlap: both ran {cell}")
            owner[cell] = part.directory
        ran = {trial_cell(t) for t in part.trials}
        if not part.complete or ran != set(part.cells):
            raise HarnessError(f"{part.directory} (shard {part.shard}) is unfinished: {len(ran & set(part.cells))} "
                               f"of its {len(part.cells)} runs done", hint="re-run that shard")
    expected = {cell_id(c, r) for c, r in plan.cells()}
    if set(owner) != expected:
        lost = sorted(expected - set(owner))
        raise HarnessError(f"the shards do not cover the sweep: {len(lost)} run(s) in no shard"
                           + (f", e.g. {lost[0]}" if lost else ""))


def _moved(trial: Trial, root: str, out: Path) -> Trial:
    """The trial with its run path under `out`, where an unsharded sweep into `out` would have put it."""
    if not trial.results:
        return trial
    try:
        relative = Path(trial.results).relative_to(Path(root))
    except ValueError:
        return trial
    return dataclasses.replace(trial, results=str(out / relative))


def _link_runs(shard: Path, out: Path) -> None:
    """The shard's run directories under `out`: hard links where the file system allows, else copies."""
    if shard.resolve() == out.resolve():
        return
    for entry in shard.iterdir():
        if entry.name in (MANIFEST, "matrix.md", "matrix.html", "matrix.json"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, out / entry.name, symlinks=True, dirs_exist_ok=True, copy_function=_link_or_copy)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def kind_of(directory: Path) -> str:
    """The kind of sweep (scenarios, grid) a shard directory holds; HarnessError if it is not a shard."""
    return str(_read_part(directory).plan["kind"])

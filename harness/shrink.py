"""Shrink a failing run's fault timeline: the fewest, shortest faults under which the same anomaly still appears.

Delta debugging (Zeller's ddmin) over the timeline's steps, then each remaining fault's hold halved while the
anomaly still appears. `still_fails(timeline)` is one run; the search is pure around it, so it is unit-tested
with a fake predicate. Every run counts against `max_runs`; a timeline asked twice is answered from the cache
and costs nothing. The first run replays the original timeline: if the anomaly does not come back, there is
nothing to shrink (a real cluster is not deterministic; the report says so rather than shrinking noise).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import HarnessError

Step = tuple[float, str, float]  # (at s, nemesis, hold s), as RunOptions.timeline
Timeline = tuple[Step, ...]


@dataclass(frozen=True)
class Attempt:
    phase: str  # "replay", "remove", "shorten"
    timeline: Timeline
    failed: bool  # the anomaly appeared
    note: str = ""  # e.g. the harness error of a run that could not finish


@dataclass(frozen=True)
class Phase:
    name: str
    runs: int
    before: Timeline
    after: Timeline


@dataclass(frozen=True)
class Shrunk:
    original: Timeline
    timeline: Timeline  # the smallest timeline found that still failed (the original if none did)
    reproduced: bool  # the replay of the original showed the anomaly
    attempts: tuple[Attempt, ...]
    phases: tuple[Phase, ...]
    out_of_runs: bool  # stopped by max_runs before the search finished

    @property
    def runs(self) -> int:
        return len(self.attempts)


class _OutOfRuns(Exception):
    pass


class _Search:
    def __init__(self, still_fails: Callable[[Timeline], bool | tuple[bool, str]], max_runs: int) -> None:
        self.still_fails, self.max_runs = still_fails, max_runs
        self.attempts: list[Attempt] = []
        self.cache: dict[Timeline, bool] = {}
        self.phase = "replay"

    def __call__(self, timeline: Timeline) -> bool:
        if timeline in self.cache:
            return self.cache[timeline]
        if len(self.attempts) >= self.max_runs:
            raise _OutOfRuns
        answer = self.still_fails(timeline)
        failed, note = answer if isinstance(answer, tuple) else (answer, "")
        self.attempts.append(Attempt(self.phase, timeline, failed, note))
        self.cache[timeline] = failed
        return failed


def shrink(timeline: Timeline, still_fails: Callable[[Timeline], bool | tuple[bool, str]], max_runs: int,
           min_hold: float = 1.0) -> Shrunk:
    """The smallest timeline found; `still_fails` may return (failed, note) to explain a run."""
    if max_runs < 1:
        raise HarnessError("--max-runs must be at least 1 (the replay of the original timeline)")
    original = tuple(sorted(timeline))
    search = _Search(still_fails, max_runs)
    best, phases, out = original, [], False
    try:
        if not search(original):
            return Shrunk(original, original, False, tuple(search.attempts), (), False)
        phases.append(Phase("replay", 1, original, original))
        for name, step in (("remove", _remove), ("shorten", lambda t, s: _shorten(t, s, min_hold))):
            search.phase, runs = name, len(search.attempts)
            before = best
            try:
                best = step(best, search)
            except _Found as partial:  # out of runs mid-phase: keep what this phase had found so far
                best = partial.timeline
                raise _OutOfRuns from None
            finally:
                phases.append(Phase(name, len(search.attempts) - runs, before, best))
    except _OutOfRuns:
        out = True
    return Shrunk(original, best, True, tuple(search.attempts), tuple(phases), out)


class _Found(Exception):
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline


def _remove(timeline: Timeline, fails: Callable[[Timeline], bool]) -> Timeline:
    """ddmin: try each chunk alone, then each chunk's complement, refining the chunks when neither fails."""
    current, n = timeline, 2
    try:
        while len(current) >= 2:
            chunks = _split(current, n)
            smaller = next((c for c in chunks if fails(c)), None)
            if smaller is not None:
                current, n = smaller, 2
                continue
            complements = [tuple(s for j, c in enumerate(chunks) if j != i for s in c) for i in range(len(chunks))]
            smaller = next((c for c in complements if len(chunks) > 2 and fails(c)), None)
            if smaller is not None:
                current, n = smaller, max(n - 1, 2)
                continue
            if n >= len(current):
                break
            n = min(2 * n, len(current))
    except _OutOfRuns:
        raise _Found(current) from None
    return current


def _split(timeline: Timeline, n: int) -> list[Timeline]:
    size, extra = divmod(len(timeline), n)
    chunks, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        chunks.append(timeline[start:end])
        start = end
    return [c for c in chunks if c]


def _shorten(timeline: Timeline, fails: Callable[[Timeline], bool], min_hold: float) -> Timeline:
    """Each fault's hold halved (to a tenth of a second) while the anomaly still appears, down to min_hold."""
    current = timeline
    try:
        for i in range(len(current)):
            while True:
                at, nemesis, hold = current[i]
                shorter = max(min_hold, round(hold / 2, 1))
                if shorter >= hold:
                    break
                candidate = current[:i] + ((at, nemesis, shorter),) + current[i + 1:]
                if not fails(candidate):
                    break
                current = candidate
    except _OutOfRuns:
        raise _Found(current) from None
    return current


# ---- the scenario file it writes -------------------------------------------------------------------------------

def scenario_toml(source_text: str, name: str, shrunk: Shrunk, anomaly: str, results: Path, seed: int) -> str:
    """The source scenario with its timeline replaced by the shrunk one, renamed, and a header saying how it was
    found: each phase's runs, and every run's timeline and outcome."""
    header = [f"# Shrunk by `harness shrink {results}` (seed {seed}): the smallest timeline found under which",
              f"# {anomaly} still appeared. {shrunk.runs} run(s) in all"
              + (" (stopped at --max-runs: the search was not finished)." if shrunk.out_of_runs else ".")]
    for phase in shrunk.phases:
        header.append(f"# {phase.name}: {phase.runs} run(s), {_describe(phase.before)} -> {_describe(phase.after)}")
    header.append("# runs:")
    for n, attempt in enumerate(shrunk.attempts, 1):
        header.append(f"#   {n}. {attempt.phase}: {_describe(attempt.timeline)}: "
                      f"{anomaly + ' appeared' if attempt.failed else 'not seen'}"
                      + (f" ({attempt.note})" if attempt.note else ""))
    return timeline_toml(source_text, name, header, shrunk.timeline)


def timeline_toml(source_text: str, name: str, header: Sequence[str], timeline: Timeline) -> str:
    """A scenario file's text with its timeline replaced by `timeline`, renamed `name`, under `header` (comment
    lines saying where it came from): what `harness shrink` and `harness explore` write."""
    body = re.sub(r"(?ms)^\[\[timeline\]\].*?(?=^\[|\Z)", "", source_text).rstrip() + "\n"
    body, renamed = re.subn(r'(?m)^name\s*=\s*".*"$', f'name = "{name}"', body, count=1)
    if not renamed:
        raise HarnessError("the scenario file has no top-level `name = \"...\"` line to rename")
    steps = "".join(f"\n[[timeline]]\nat = {_number(at)}\nnemesis = \"{nemesis}\"\nhold = {_number(hold)}\n"
                    for at, nemesis, hold in timeline)
    text = "\n".join(header) + "\n" + body + steps
    parsed = tomllib.loads(text)  # what we wrote must read back as the timeline we found
    assert tuple((float(s["at"]), s["nemesis"], float(s["hold"])) for s in parsed["timeline"]) == tuple(timeline)
    return text


def _describe(timeline: Sequence[Step]) -> str:
    if not timeline:
        return "no faults"
    return f"{len(timeline)} fault(s) [" + ", ".join(f"{n} at {_number(a)} s for {_number(h)} s"
                                                    for a, n, h in timeline) + "]"


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def to_json(shrunk: Shrunk) -> dict[str, Any]:
    return {"original": [list(s) for s in shrunk.original], "timeline": [list(s) for s in shrunk.timeline],
            "reproduced": shrunk.reproduced, "runs": shrunk.runs, "out_of_runs": shrunk.out_of_runs,
            "phases": [{"name": p.name, "runs": p.runs, "before": [list(s) for s in p.before],
                        "after": [list(s) for s in p.after]} for p in shrunk.phases],
            "attempts": [dataclasses.asdict(a) for a in shrunk.attempts]}

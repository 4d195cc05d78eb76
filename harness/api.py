"""The library API: `run(...)` and `check(...)` from Python, with typed results; the CLI is a thin layer over it.

    from harness.api import check, run
    result = run(nemesis="partition-leader", acks="1", time_limit=30)
    assert result.valid, result          # the failure message carries the anomalies and their evidence
    assert check("results/latest/history.jsonl").verdict is True

`run` takes the options of `harness run`, named by their flags in snake_case (`--time-limit` → `time_limit`,
`--no-idempotence` → `idempotence=False`). They go through the click command itself, with its defaults, choices
and conversions, and then through the same `options_from_flags` the CLI uses: the two cannot disagree.

Nothing here imports docker or confluent-kafka at module level: `harness check` works without them.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import checkers
from core.anomalies import fails
from core.errors import HarnessError
from core.faults import FaultRef
from harness.recording import Recorder
from harness.results import NO_FAULT_INJECTED
from infra.recorder import HistoryRecorder

if TYPE_CHECKING:
    import click

    from harness.runner import RunOptions, RunOutcome

__all__ = ["NO_FAULT_INJECTED", "CheckResult", "Finding", "Recorder", "RunResult", "check", "run", "run_flags"]

Verdict = bool | str  # True, False, "unknown" (nothing could be checked), "no-fault-injected" (runs only)
History = str | os.PathLike[str] | Iterable[Mapping[str, Any]] | Recorder | HistoryRecorder

R = TypeVar("R", bound="CheckResult")

# Who is told of every result (the pytest plugin: it prints the evidence of a failing test's checks in full).
_observers: list[Callable[[CheckResult], None]] = []

# Output-only flags of `harness run` that mean nothing to a caller holding the result.
_NOT_FOR_THE_API = {"json": "the result's .json holds what --json prints"}


@dataclass(frozen=True)
class Finding:
    """One anomaly found: its catalog name, whether it fails the verdict, the ops that prove it, one sentence."""

    name: str
    fails: bool
    ops: tuple[int, ...]
    explanation: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    nemesis: tuple[FaultRef, ...] = ()  # the faults active while its evidence happened


@dataclass(frozen=True, repr=False)
class CheckResult:
    """A checked history. `valid` is True only for a valid history (never for "unknown"), so `assert r.valid`
    means what it says; `str`/`repr` are the checker's own explanation (checkers.render_text) with the evidence."""

    verdict: Verdict
    anomalies: Mapping[str, tuple[Finding, ...]]
    stats: Mapping[str, Any]
    checked: checkers.CheckResult = field(compare=False)  # the checker's result, as render_text takes it

    @property
    def valid(self) -> bool:
        return self.verdict is True

    @property
    def failures(self) -> tuple[str, ...]:
        """Names of the anomalies that make the history invalid, sorted."""
        return self.checked.failures

    @property
    def json(self) -> dict[str, Any]:
        """What `harness check --json` prints."""
        return checkers.result_to_json(self.checked)

    @property
    def exit_code(self) -> int:
        """The CLI's: 0 valid, 1 anomalies found, 2 nothing checked (or no fault injected)."""
        return 0 if self.verdict is True else 1 if self.verdict is False else 2

    def __str__(self) -> str:
        return checkers.render_text(self.checked)

    def __repr__(self) -> str:
        # One line first (what pytest's assertion message shows of it), the full evidence after.
        return f"{type(self).__name__}(verdict={self.verdict!r}, failures={self.failures!r}):\n{self}"

    @classmethod
    def of(cls, checked: checkers.CheckResult) -> CheckResult:
        return cls(checked.valid, _findings(checked), checked.stats, checked)


@dataclass(frozen=True, repr=False)
class RunResult(CheckResult):
    """A run: its verdict (also "no-fault-injected": faults were selected but none took effect), the check of its
    history, where its results are, and results.json."""

    results_dir: Path = Path()
    json_data: Mapping[str, Any] = field(default_factory=dict, compare=False)
    options: RunOptions | None = field(default=None, compare=False)  # what ran (scenario, topology, ...)

    @property
    def json(self) -> dict[str, Any]:
        """results.json: the check, plus the run's own facts under "run"."""
        return dict(self.json_data)

    @property
    def run_facts(self) -> Mapping[str, Any]:
        """complete_drain, nemesis_errors, faults_selected, faults_injected."""
        facts: Mapping[str, Any] = self.json_data.get("run", {})
        return facts

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(verdict={self.verdict!r}, failures={self.failures!r}, "
                f"results_dir={str(self.results_dir)!r}):\n{self}")

    @classmethod
    def of_outcome(cls, outcome: RunOutcome, options: RunOptions) -> RunResult:
        checked = outcome.check
        assert checked is not None, "run_test returned no check"
        return cls(outcome.valid, _findings(checked), checked.stats, checked, outcome.results, outcome.result_json,
                   options)


@contextmanager
def observing(callback: Callable[[CheckResult], None]) -> Iterator[None]:
    """Call `callback` with every result `check` and `run` return inside the block."""
    _observers.append(callback)
    try:
        yield
    finally:
        _observers.remove(callback)


def _told(result: R) -> R:
    for callback in list(_observers):
        callback(result)
    return result


def _findings(checked: checkers.CheckResult) -> dict[str, tuple[Finding, ...]]:
    return {name: tuple(Finding(a.name, fails(a.name), a.ops, a.explanation, a.facts, a.nemesis) for a in found)
            for name, found in sorted(checked.anomalies.items())}


# ---- check ---------------------------------------------------------------------------------------------------

def check(history: History, workload: str = "auto", grace: float = 5.0) -> CheckResult:
    """Check a history: a history.jsonl path (with cluster-state.jsonl beside it the split-brain checks run too,
    as `harness check` does), a Recorder, or an iterable of event dicts (docs/history-format.md).

    Bad input (unknown workload, unreadable or invalid history) is a HarnessError naming the file and line."""
    if workload not in checkers.WORKLOADS:
        raise HarnessError(f"unknown workload {workload!r}", hint=_did_you_mean(workload, checkers.WORKLOADS))
    if not isinstance(grace, int | float) or grace < 0:
        raise HarnessError(f"grace must be a number of seconds ≥ 0, got {grace!r}")
    if isinstance(history, Recorder | HistoryRecorder):
        history = history.path
    if isinstance(history, str | os.PathLike):
        return _told(CheckResult.of(_check_file(Path(history), workload, float(grace))))
    if isinstance(history, Mapping) or not isinstance(history, Iterable):
        raise HarnessError(f"cannot check a {type(history).__name__}",
                           hint="pass a history.jsonl path, a Recorder, or a list of event dicts")
    try:
        return _told(CheckResult.of(checkers.check_events(history, workload)))  # type: ignore[arg-type]
    except checkers.HistoryError as error:
        raise HarnessError(f"history events: {error}") from None


def _check_file(path: Path, workload: str, grace: float) -> checkers.CheckResult:
    try:
        result = checkers.check_file(path, workload)
        state = path.with_name("cluster-state.jsonl")
        if state.exists():
            from checkers.cluster import check_cluster_file, merge

            result = merge(result, check_cluster_file(state, path, grace_s=grace))
    except checkers.HistoryError as error:
        message = str(error)  # "line N: ..." gains the file's name; other files' errors carry theirs
        raise HarnessError(f"{path}: {message}" if message.startswith("line ") else message) from None
    return result


# ---- run -----------------------------------------------------------------------------------------------------

def run(**options: Any) -> RunResult:
    """One full test, as `harness run` with these flags does it (options by flag name in snake_case; an option
    left out takes the flag's default). Messages go to stderr like the CLI's; `quiet=True` keeps only warnings."""
    return run_from_flags(run_flags(**options))


def run_from_flags(flags: Mapping[str, Any]) -> RunResult:
    """The run behind both `run()` and `harness run`: flags as the click command parsed them."""
    from harness.cli.run import options_from_flags
    from harness.progress import Progress
    from harness.runner import run_test

    options = options_from_flags(dict(flags))
    outcome = run_test(options, progress=Progress(quiet=flags["quiet"]))
    return _told(RunResult.of_outcome(outcome, options))


def run_flags(**options: Any) -> dict[str, Any]:
    """The flags `harness run` would parse from the equivalent command line: the click command checks names,
    choices and types and fills in its defaults, so a value means here exactly what it means there."""
    command = _run_command()
    by_name = {_flag_name(p): p for p in command.params}
    argv: list[str] = []
    for name, value in options.items():
        if name in _NOT_FOR_THE_API:
            raise HarnessError(f"run() has no option {name!r}", hint=_NOT_FOR_THE_API[name])
        param = by_name.get(name)
        if param is None:
            raise HarnessError(f"run() has no option {name!r}",
                               hint=_did_you_mean(name, [n for n in by_name if n not in _NOT_FOR_THE_API]))
        argv += _as_argv(name, param, value)
    import click

    try:
        with command.make_context("harness run", argv) as ctx:
            return dict(ctx.params)
    except click.ClickException as error:
        raise HarnessError(_api_words(error.format_message(), by_name)) from None


def _run_command() -> click.Command:
    from harness.cli.run import run as command

    return command


def _flag_name(param: click.Parameter) -> str:
    """`--time-limit` → time_limit, `--idempotence/--no-idempotence` → idempotence, `--json` → json."""
    long = next(opt for opt in param.opts if opt.startswith("--"))
    return long[2:].replace("-", "_")


def _as_argv(name: str, param: click.Parameter, value: Any) -> list[str]:
    """One option as the command line would say it; None leaves it at its default."""
    if value is None:
        return []
    flag = next(opt for opt in param.opts if opt.startswith("--"))
    if getattr(param, "is_flag", False):
        if not isinstance(value, bool):
            raise HarnessError(f"{name} is on or off: pass True or False, not {value!r}")
        if value:
            return [flag]
        return list(param.secondary_opts[:1])  # --no-idempotence; a plain flag is off by leaving it out
    if isinstance(value, bool):  # an int option given True would silently mean 1
        raise HarnessError(f"{name} takes a value, not {value!r}")
    return [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]


def _api_words(message: str, by_name: Mapping[str, click.Parameter]) -> str:
    """click says `--time-limit`; a Python caller wrote time_limit."""
    for name, param in by_name.items():
        for opt in (*param.opts, *param.secondary_opts):
            message = message.replace(f"'{opt}'", f"{name}").replace(f"{opt}", name)
    return message


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=3)
    return f"did you mean {' or '.join(close)}?" if close else "known: " + ", ".join(known)

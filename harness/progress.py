"""Live progress of `harness run` on stderr: phase, time left, ops/s by outcome, the nemesis, and a summary.

On a terminal it is a rich live panel that log lines scroll above; elsewhere (CI logs) it prints one plain line
on every phase change and every `interval` seconds; `quiet` prints only warnings (lines the runner colours red
or yellow). It only reads the recorder's counters, so it never slows the clients down.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

PHASES = ("image", "cluster up", "warm-up", "faults", "heal", "drain", "check")
OUTCOMES = ("ok", "fail", "info")
RATE_WINDOW = 5.0  # seconds of counts behind an ops/s figure
Counts = Mapping[tuple[str, str], int]


class OpSource(Protocol):
    """What progress reads from the history recorder (infra.recorder.HistoryRecorder fits)."""

    counts: dict[tuple[str, str], int]

    def elapsed(self) -> float: ...


@dataclass(frozen=True)
class Snapshot:
    phase: str
    elapsed: float
    time_left: float | None
    time_left_is_limit: bool
    totals: dict[str, int]
    rates: dict[str, float]
    active_faults: tuple[str, ...]
    nemesis_text: str


def is_nemesis_f(f: str) -> bool:
    return f.startswith(("start-", "stop-")) or f == "heal-all"


def client_totals(counts: Counts) -> dict[str, int]:
    totals = dict.fromkeys(OUTCOMES, 0)
    for (f, type_), n in counts.items():
        if type_ in totals and not is_nemesis_f(f):
            totals[type_] += n
    return totals


def active_faults(counts: Counts) -> tuple[str, ...]:
    """Nemeses whose start was invoked and not yet undone, as the history's counters tell it."""
    if any(counts.get(("heal-all", t), 0) for t in OUTCOMES):
        return ()
    active = []
    for f, type_ in list(counts):
        if type_ == "invoke" and f.startswith("start-"):
            name = f.removeprefix("start-")
            ended = sum(counts.get((f"stop-{name}", t), 0) for t in OUTCOMES) + counts.get((f, "fail"), 0)
            active += [name] * max(counts[(f, type_)] - ended, 0)
    return tuple(sorted(active))


class Progress:
    def __init__(self, *, quiet: bool = False, console: Console | None = None, plain: bool | None = None,
                 interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.quiet = quiet
        self.plain = (not self.console.is_terminal) if plain is None else plain
        self.interval = interval
        self._clock = clock
        self._t0 = clock()
        self._lock = threading.Lock()
        self._source: OpSource | None = None
        self._phase = "starting"
        self._deadline: float | None = None
        self._deadline_is_limit = False
        self._nemesis_text = ""
        self._samples: deque[tuple[float, dict[str, int]]] = deque()
        self._live: Live | None = None
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()

    # --- what the runner calls -------------------------------------------------------------------------------

    def attach(self, source: OpSource) -> None:
        """Read op counts from this recorder from now on."""
        with self._lock:
            self._source = source

    def phase(self, name: str, seconds: float | None = None, *, timeout: float | None = None) -> None:
        """Enter a phase; `seconds` is how long it will take, `timeout` the most it may take."""
        with self._lock:
            self._phase = name
            length = seconds if seconds is not None else timeout
            self._deadline = self._clock() + length if length is not None else None
            self._deadline_is_limit = seconds is None and timeout is not None
        if self.plain and not self.quiet:
            self.console.print(self.line(), markup=False, highlight=False, soft_wrap=True)

    def nemesis(self, text: str) -> None:
        """The nemesis schedule's `say`: remembers the latest fault message and logs it."""
        with self._lock:
            self._nemesis_text = text.removeprefix("nemesis: ")
        self.say(text)

    def say(self, message: str) -> None:
        """A log line (rich markup allowed) that scrolls above the live panel."""
        if self.quiet and "[red]" not in message and "[yellow]" not in message:
            return
        self.console.print(f"[dim]{self._clock() - self._t0:7.1f}s[/dim] {message}", soft_wrap=True)

    def start(self) -> None:
        if self.quiet or self._live is not None or self._ticker is not None:
            return
        if self.plain:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()
        else:
            self._live = Live(console=self.console, get_renderable=self._panel, refresh_per_second=4,
                              transient=True, redirect_stdout=False)
            self._live.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._ticker is not None:
            self._ticker.join(2)
            self._ticker = None

    def __enter__(self) -> Progress:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def summary(self, counts: Counts, result: Mapping[str, Any] | None, results_path: Path | str) -> None:
        """The final table: ops by type and outcome, anomalies by name, verdict and where the results are."""
        self.stop()
        if self.quiet:
            return
        self.console.print(summary_table(counts, result, results_path, ascii_only=self.plain))

    # --- what is shown ---------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        now = self._clock()
        with self._lock:
            counts = _copy_counts(self._source)
            totals = client_totals(counts)
            self._samples.append((now, totals))
            while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
                self._samples.popleft()
            first_time, first = self._samples[0]
            span = now - first_time
            rates = {o: (totals[o] - first[o]) / span if span > 0 else 0.0 for o in OUTCOMES}
            left = max(self._deadline - now, 0.0) if self._deadline is not None else None
            return Snapshot(self._phase, now - self._t0, left, self._deadline_is_limit, totals, rates,
                            active_faults(counts), self._nemesis_text)

    def line(self) -> str:
        s = self.snapshot()
        ops = " ".join(f"{o} {s.totals[o]} ({s.rates[o]:.1f}/s)" for o in OUTCOMES)
        return f"[{s.elapsed:7.1f}s] {_phase_label(s.phase)}{_left(s)} | {ops} | nemesis: {_nemesis(s)}"

    def _tick(self) -> None:
        while not self._stopped.wait(self.interval):
            self.console.print(self.line(), markup=False, highlight=False, soft_wrap=True)

    def _panel(self) -> Group:
        s = self.snapshot()
        steps = Text()
        for name in PHASES:
            done = PHASES.index(name) < PHASES.index(s.phase) if s.phase in PHASES else False
            style = "bold cyan" if name == s.phase else ("green" if done else "dim")
            steps.append(("✓ " if done else "▶ " if name == s.phase else "· ") + name + "  ", style=style)
        grid = Table.grid(padding=(0, 2))
        grid.add_row(Text("phase", style="bold"), steps, Text(f"{s.elapsed:.0f} s{_left(s)}"))
        ops = Text()
        for outcome, style in zip(OUTCOMES, ("green", "red", "yellow"), strict=True):
            ops.append(f"{outcome} {s.totals[outcome]} ", style=style)
            ops.append(f"({s.rates[outcome]:.1f}/s)  ", style="dim")
        grid.add_row(Text("ops", style="bold"), ops, Text(""))
        grid.add_row(Text("nemesis", style="bold"), Text(_nemesis(s)), Text(""))
        return Group(grid)


def summary_table(counts: Counts, result: Mapping[str, Any] | None, results_path: Path | str,
                  ascii_only: bool = False) -> Table:
    frame = box.ASCII if ascii_only else box.SIMPLE_HEAVY
    ops = Table(title="ops by type and outcome", box=frame, title_justify="left")
    ops.add_column("op")
    for column in ("invoke", *OUTCOMES):
        ops.add_column(column, justify="right")
    for f in sorted({f for f, _ in counts if not is_nemesis_f(f)}):
        ops.add_row(f, *(str(counts.get((f, t), 0)) for t in ("invoke", *OUTCOMES)))
    anomalies = Table(title="anomalies", box=frame, title_justify="left")
    anomalies.add_column("name")
    anomalies.add_column("count", justify="right")
    found = {k: v for k, v in ((result or {}).get("anomalies") or {}).items() if v}
    for name, evidence in found.items():
        anomalies.add_row(name, str(len(evidence) if isinstance(evidence, list) else 1))
    if not found:
        anomalies.add_row("none" if result is not None else "not checked", "")
    word, style = _verdict(result)
    outer = Table.grid(padding=(0, 4))
    outer.add_row(ops, anomalies)
    groups = _groups_table(result, frame)
    if groups is not None:
        outer.add_row(groups, Text(""))
    footer = Table.grid(padding=(0, 2))
    footer.add_row(Text("verdict", style="bold"), Text(word, style=style))
    footer.add_row(Text("results", style="bold"), Text(str(results_path)))
    wrapper = Table.grid()
    wrapper.add_row(outer)
    wrapper.add_row(footer)
    return wrapper


def _groups_table(result: Mapping[str, Any] | None, frame: box.Box) -> Table | None:
    """Consumer groups by protocol: rebalances and redeliveries side by side."""
    from harness.report.data import group_rows

    rows = group_rows((result or {}).get("stats"))
    if not rows:
        return None
    table = Table(title="consumer groups by protocol", box=frame, title_justify="left")
    for column in ("protocol", "members", "rebalances", "redelivered", "per rebalance"):
        table.add_column(column, justify="left" if column == "protocol" else "right")
    for _, protocol, members, rebalances, redelivered, per in rows:
        table.add_row(protocol, str(members), str(rebalances), str(redelivered), per)
    return table


def _verdict(result: Mapping[str, Any] | None) -> tuple[str, str]:
    if result is None:
        return "NOT CHECKED", "bold yellow"
    valid = result.get("valid")
    if valid is True:
        return "VALID", "bold green"
    return ("INVALID", "bold red") if valid is False else ("UNKNOWN", "bold yellow")


def _copy_counts(source: OpSource | None) -> dict[tuple[str, str], int]:
    if source is None:
        return {}
    for _ in range(5):
        try:
            return dict(source.counts)
        except RuntimeError:  # resized by a client thread mid-copy: try again
            continue
    return {}


def _phase_label(phase: str) -> str:
    return f"{PHASES.index(phase) + 1}/{len(PHASES)} {phase}" if phase in PHASES else phase


def _left(s: Snapshot) -> str:
    if s.time_left is None:
        return ""
    return f", {'at most ' if s.time_left_is_limit else ''}{s.time_left:.0f} s left"


def _nemesis(s: Snapshot) -> str:
    active = ", ".join(s.active_faults) if s.active_faults else "no fault active"
    return f"{active}" + (f" (last: {s.nemesis_text})" if s.nemesis_text else "")

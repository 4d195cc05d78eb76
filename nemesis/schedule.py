"""The nemesis schedule: one thread that applies faults and heals them, recording both.

Two kinds of schedule, interpreted in this one place:
- random (the default): each cycle waits `interval`, starts one nemesis chosen by the seeded RNG among those
  selected, waits `interval`, and stops it;
- a timeline (scenarios): exact steps "at t seconds start nemesis N, hold it h seconds, heal".
`final_heal` stops what is active and heals every selected nemesis; the runner calls it from a `finally`, so
it runs on normal end, on error and on Ctrl-C alike.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from core.clock import REAL_CLOCK, Clock
from infra.recorder import HistoryRecorder
from nemesis.base import EffectOnStop, Fault, Nemesis, NemesisContext

PROCESS = "nemesis"


@dataclass(frozen=True)
class Step:
    """One fault of a timeline: start `nemesis` at `at` seconds after the workload started, heal after `hold`."""

    at: float
    nemesis: Nemesis
    hold: float


class NemesisSchedule:
    def __init__(self, nemeses: Sequence[Nemesis], ctx: NemesisContext, history: HistoryRecorder,
                 interval: float, say: Any = lambda _: None, timeline: Sequence[Step] = (),
                 clock: Clock = REAL_CLOCK, first_fault: int = 0) -> None:
        """`first_fault`: the first fault id, when several schedules write one history (each `with fault(...)` of
        a user's test has its own) and their faults must not share ids."""
        self.timeline = sorted(timeline, key=lambda step: step.at)
        self.nemeses = list(nemeses) + [s.nemesis for s in self.timeline if s.nemesis not in nemeses]
        self.ctx = ctx
        self.history = history
        self.interval = interval
        self.say = say
        self.clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the schedule thread and final_heal never act at once
        self._active: dict[int, tuple[Nemesis, Fault]] = {}
        self._next_id = first_fault
        self._threads: list[threading.Thread] = []
        self._healed = False
        self.errors: list[str] = []
        self.injected = 0  # faults that started and hit at least one target

    @property
    def active(self) -> list[Fault]:
        return [fault for _, fault in self._active.values()]

    def start(self) -> None:
        if not self.nemeses:
            return
        if not self.timeline:
            self._threads = [self.clock.spawn(self._run, "nemesis")]
            return
        # Steps may overlap (kill the followers, then the leader while they are down): each has its own thread.
        started = self.clock.now()
        self._threads = [self.clock.spawn(partial(self._run_step, started, step), f"nemesis-step-{i}")
                         for i, step in enumerate(self.timeline)]

    def inject(self, nemesis: Nemesis) -> int | None:
        """Start one fault now, from the caller's thread (a user's `with fault(...)` block), recorded and healed
        like a scheduled one; its id, or None if it could not be applied (then `errors` says why)."""
        with self._lock:
            return self._start_fault(nemesis)

    def _run_step(self, started: float, step: Step) -> None:
        if self.clock.wait(self._stop, started + step.at - self.clock.now()):
            return
        with self._lock:
            if self._stop.is_set():
                return
            fault_id = self._start_fault(step.nemesis)
        if fault_id is None or self.clock.wait(self._stop, step.hold):
            return
        with self._lock:
            self._stop_fault(fault_id)

    def _run(self) -> None:
        while not self.clock.wait(self._stop, self.interval):
            nemesis = self.ctx.rng.choice(self.nemeses)
            with self._lock:
                if self._stop.is_set():
                    return
                self._start_fault(nemesis)
            if self.clock.wait(self._stop, self.interval):
                return
            with self._lock:
                self._stop_all_active()

    def _start_fault(self, nemesis: Nemesis) -> int | None:
        """Start one fault and record it; its id, or None if it could not be applied (recorded and healed)."""
        fault_id = self._next_id
        self._next_id += 1
        f = f"start-{nemesis.name}"
        self.history.invoke(PROCESS, f, {"nemesis": nemesis.name, "fault": fault_id})
        try:
            fault = nemesis.start(self.ctx)
        except Exception as error:  # noqa: BLE001 - a failed fault is recorded and healed, not fatal
            self.errors.append(f"{f}: {error}")
            self.history.record(PROCESS, "info", f, {"nemesis": nemesis.name, "fault": fault_id}, str(error))
            self._heal(nemesis)
            return None
        self._active[fault_id] = (nemesis, fault)
        self.injected += fault.took_effect and not isinstance(nemesis, EffectOnStop)  # those count at stop
        self.history.record(PROCESS, "info", f, {**fault.to_json(), "fault": fault_id})
        self.say(f"nemesis: {nemesis.name} " + fault.summary())
        return fault_id

    def _stop_all_active(self) -> None:
        for fault_id in sorted(self._active):
            self._stop_fault(fault_id)

    def _stop_fault(self, fault_id: int) -> None:
        if fault_id not in self._active:
            return
        nemesis, fault = self._active.pop(fault_id)
        f = f"stop-{nemesis.name}"
        value = {**fault.to_json(), "fault": fault_id}
        self.history.invoke(PROCESS, f, value)
        try:
            observed = nemesis.stop(self.ctx, fault)  # type: ignore[func-returns-value]
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"{f}: {error}")
            self.history.record(PROCESS, "info", f, value, str(error))
            self._heal(nemesis)
        else:
            # A stop may say what the fault did while it was on (a disk fault: the operations it hit; a request
            # hold: what it held, and whether that was anything, which is when such a fault counts as injected).
            report = observed if isinstance(observed, dict) else {}
            if isinstance(nemesis, EffectOnStop):
                self.injected += bool(report.get("effective"))
            self.history.record(PROCESS, "info", f, {**value, **report})
            self.say(f"nemesis: healed {nemesis.name}")

    def _heal(self, nemesis: Nemesis) -> None:
        try:
            nemesis.heal_all(self.ctx)
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"heal {nemesis.name}: {error}")

    def final_heal(self, timeout: float = 120.0) -> None:
        """Stop the schedule, undo the active fault, and heal everything every selected nemesis can do."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            if self._healed:
                return
            self._healed = True
            self._stop_all_active()
            if self.nemeses:
                self.history.invoke(PROCESS, "heal-all", {"nemeses": [n.name for n in self.nemeses]})
                for nemesis in self.nemeses:
                    self._heal(nemesis)
                self.history.record(PROCESS, "info", "heal-all", {"nemeses": [n.name for n in self.nemeses]})

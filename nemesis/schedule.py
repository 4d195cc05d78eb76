"""The nemesis schedule: one thread that alternates fault and heal on an interval, recording both.

Each cycle waits `interval`, starts one nemesis (chosen by the seeded RNG among those selected), waits
`interval`, and stops it. `final_heal` stops what is active and heals every selected nemesis; the runner calls
it from a `finally`, so it runs on normal end, on error and on Ctrl-C alike.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from harness.history import HistoryRecorder
from nemesis.base import Fault, Nemesis, NemesisContext

PROCESS = "nemesis"


class NemesisSchedule:
    def __init__(self, nemeses: Sequence[Nemesis], ctx: NemesisContext, history: HistoryRecorder,
                 interval: float, say: Any = lambda _: None) -> None:
        self.nemeses = list(nemeses)
        self.ctx = ctx
        self.history = history
        self.interval = interval
        self.say = say
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the schedule thread and final_heal never act at once
        self._active: tuple[int, Nemesis, Fault] | None = None
        self._next_id = 0
        self._thread: threading.Thread | None = None
        self._healed = False
        self.errors: list[str] = []

    @property
    def active(self) -> Fault | None:
        return self._active[2] if self._active else None

    def start(self) -> None:
        if not self.nemeses:
            return
        self._thread = threading.Thread(target=self._run, name="nemesis", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            nemesis = self.ctx.rng.choice(self.nemeses)
            with self._lock:
                if self._stop.is_set():
                    return
                self._start_fault(nemesis)
            if self._stop.wait(self.interval):
                return
            with self._lock:
                self._stop_active()

    def _start_fault(self, nemesis: Nemesis) -> None:
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
            return
        self._active = (fault_id, nemesis, fault)
        self.history.record(PROCESS, "info", f, {**fault.to_json(), "fault": fault_id})
        self.say(f"nemesis: {nemesis.name} " + fault.summary())

    def _stop_active(self) -> None:
        if self._active is None:
            return
        fault_id, nemesis, fault = self._active
        f = f"stop-{nemesis.name}"
        value = {**fault.to_json(), "fault": fault_id}
        self.history.invoke(PROCESS, f, value)
        try:
            nemesis.stop(self.ctx, fault)
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"{f}: {error}")
            self.history.record(PROCESS, "info", f, value, str(error))
            self._heal(nemesis)
        else:
            self.history.record(PROCESS, "info", f, value)
            self.say(f"nemesis: healed {nemesis.name}")
        self._active = None

    def _heal(self, nemesis: Nemesis) -> None:
        try:
            nemesis.heal_all(self.ctx)
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"heal {nemesis.name}: {error}")

    def final_heal(self, timeout: float = 120.0) -> None:
        """Stop the schedule, undo the active fault, and heal everything every selected nemesis can do."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            if self._healed:
                return
            self._healed = True
            self._stop_active()
            if self.nemeses:
                self.history.invoke(PROCESS, "heal-all", {"nemeses": [n.name for n in self.nemeses]})
                for nemesis in self.nemeses:
                    self._heal(nemesis)
                self.history.record(PROCESS, "info", "heal-all", {"nemeses": [n.name for n in self.nemeses]})

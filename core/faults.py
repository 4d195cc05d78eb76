"""Nemesis faults over time, so each anomaly can name the faults that were active while it happened.

The one place that pairs a history's nemesis ops into faults, for the checkers' evidence and the report's
fault windows alike. A fault is active from its start's invoke to the completion of the stop that ends it. Starts
and stops pair by `value.fault` when both carry it, otherwise by nemesis name (the `<name>` of `start-<name>`).
A start whose completion is `fail` or carries an `error` failed to apply and was healed at once, so it ends
there (a `fail` one is marked `failed`: it certainly never took effect). `heal-all` (or any
nemesis f beginning with `heal`) ends every active fault when it completes. Any other nemesis f is a one-shot
fault, active from its invoke to its completion. Faults never stopped stay active to the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FaultRef:
    """A nemesis fault that was active while an anomaly's evidence happened."""

    nemesis: str
    fault: Any  # the fault id from the history (or the nemesis name when it has none)
    start: int  # op index of the start's invoke
    stop: int | None  # op index of the completion that ended it; None if it never ended
    value: Any = None  # the start's completed value: targets, grudge, ...

    def to_json(self) -> dict[str, Any]:
        return {"nemesis": self.nemesis, "fault": self.fault, "start": self.start, "stop": self.stop,
                "value": self.value}


@dataclass
class Fault:
    """One fault as the history shows it (times in ns since the test began; value: the start's, completion over
    invoke)."""

    nemesis: str
    fault: Any
    start: int
    start_time: int
    value: Any
    one_shot: bool = False
    stop: int | None = None
    stop_time: int | None = None
    failed: bool = False  # the start completed `fail`: certainly never applied
    error: Any = None  # why the start broke, if it did


def _name(f: str) -> tuple[str, str]:
    """('start'|'stop'|'heal'|'once', nemesis name)."""
    for prefix in ("start-", "stop-"):
        if f.startswith(prefix):
            return prefix[:-1], f[len(prefix):]
    return ("heal", f) if f.startswith("heal") else ("once", f)


def _fault_id(value: Any) -> Any:
    return value.get("fault") if isinstance(value, dict) else None


class FaultTimeline:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._active: dict[Any, Fault] = {}  # by fault id, or by name when the history gives no id
        self._once: Fault | None = None

    def feed(self, index: int, time: int, type_: str, f: str, value: Any, error: Any) -> None:
        kind, name = _name(f)
        key = _fault_id(value)
        if type_ == "invoke":
            if kind == "start":
                fault = Fault(name, key if key is not None else name, index, time, value)
                self._faults.append(fault)
                self._active[fault.fault] = fault
            elif kind == "once":
                self._once = Fault(name, key if key is not None else name, index, time, value, one_shot=True)
                self._faults.append(self._once)
            return
        if kind == "start":
            started = self._active.get(key if key is not None else name)
            if started is not None:
                started.value = _merged(started.value, value)
                if error is not None or type_ == "fail":
                    started.failed, started.error = type_ == "fail", error
                    self._end(started, index, time)
        elif kind == "stop":
            stopped = self._active.get(key) if key is not None else None
            if stopped is None:
                stopped = next((a for a in self._active.values() if a.nemesis == name), None)
            if stopped is not None:
                self._end(stopped, index, time)
        elif kind == "heal":
            for active in list(self._active.values()):
                self._end(active, index, time)
        elif self._once is not None:
            self._once.stop, self._once.stop_time = index, time
            self._once.value = _merged(self._once.value, value)
            self._once = None

    def _end(self, fault: Fault, index: int, time: int) -> None:
        fault.stop, fault.stop_time = index, time
        self._active.pop(fault.fault, None)

    def active(self, t0: int, t1: int) -> tuple[FaultRef, ...]:
        """Faults active at any moment of [t0, t1] (nanoseconds since the test began)."""
        return tuple(FaultRef(f.nemesis, f.fault, f.start, f.stop, f.value) for f in self._faults
                     if f.start_time <= t1 and (f.stop_time is None or f.stop_time >= t0))

    def throughout(self, t0: int, t1: int) -> tuple[FaultRef, ...]:
        """Faults active over the whole of [t0, t1]."""
        return tuple(FaultRef(f.nemesis, f.fault, f.start, f.stop, f.value) for f in self._faults
                     if f.start_time <= t0 and (f.stop_time is None or f.stop_time >= t1))

    def faults(self) -> tuple[Fault, ...]:
        """Every fault, in the order they started; those never stopped have no stop."""
        return tuple(self._faults)

    def __len__(self) -> int:
        return len(self._faults)


def _merged(invoked: Any, completed: Any) -> Any:
    if isinstance(invoked, dict) and isinstance(completed, dict):
        return {**invoked, **completed}
    return completed if completed is not None else invoked

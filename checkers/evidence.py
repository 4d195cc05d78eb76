"""Turning facts into an Anomaly: the nemesis faults active between the first and last op of the evidence."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checkers.log import NONE, Log, OpTimes
from checkers.result import Anomaly
from core.faults import FaultTimeline


class Evidence:
    def __init__(self, log: Log, times: OpTimes, faults: FaultTimeline) -> None:
        self.log = log
        self.times = times
        self.faults = faults

    def __call__(self, name: str, ops: Iterable[int], explanation: str, **facts: Any) -> Anomaly:
        indexes = tuple(sorted({i for i in ops if i != NONE}))
        if indexes and len(self.faults):
            stamps = [self.times.at(i) for i in indexes]
            active = self.faults.active(min(stamps), max(stamps))
        else:
            active = ()
        return Anomaly(name, indexes, explanation, facts, active)

    @staticmethod
    def offsets(offsets: list[int], shown: int = 20) -> str:
        """'offset 3' or 'offsets 3, 4, ...' (at most `shown` of them)."""
        listed = ", ".join(map(str, offsets[:shown])) + (", ..." if len(offsets) > shown else "")
        return ("offset " if len(offsets) == 1 else "offsets ") + listed

    def value(self, row: int) -> Any:
        return self.log.value[row] if row != NONE else None

    def value_at(self, pid: int, offset: int) -> Any:
        return self.log.value_at(pid, offset)

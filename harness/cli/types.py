"""Flag types that refuse what no run can mean: NaN, infinities, zero or negative sizes, absurd durations.

Click checks them while it parses the command line, so a bad number is one line before anything starts. Only
click and core here: `check`, `report` and `runs` use these types too and must not import docker.
"""

from __future__ import annotations

from typing import Any

import click

from core.units import out_of_bounds

DAY_S = 86_400.0


class Number(click.ParamType):
    """A finite float in (low, high], or [low, high] with `zero_ok` (low is then 0)."""

    def __init__(self, low: float = 0.0, high: float = DAY_S, zero_ok: bool = False, unit: str = "seconds") -> None:
        self.low, self.high, self.zero_ok, self.name = low, high, zero_ok, unit

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number of {self.name}", param, ctx)
        problem = out_of_bounds(number, self.low, self.high, self.zero_ok)
        if problem is not None:
            self.fail(f"{value!r}: {self.name} {problem}", param, ctx)
        return number


SECONDS = Number()
SECONDS_OR_ZERO = Number(zero_ok=True)
SHORT_SECONDS = Number(high=3600.0)  # a delivery timeout, a grace window, a processing delay
SHORT_SECONDS_OR_ZERO = Number(high=3600.0, zero_ok=True)
RATE = Number(high=100_000.0, unit="sends per second")


def count(low: int = 1, high: int | None = None) -> click.IntRange:
    """A whole number of at least `low` (and at most `high`): `--partitions 0` is refused, not defaulted."""
    return click.IntRange(min=low, max=high)

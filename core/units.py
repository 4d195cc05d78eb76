"""Durations and percentages as users type them in flags and TOML files."""

from __future__ import annotations

import math
import re

from core.errors import HarnessError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|s)?\s*$")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, None: 1.0}


def parse_duration_ms(text: str) -> float:
    """`40ms`, `0.5s`, `250us` or a bare number of milliseconds -> milliseconds."""
    match = _DURATION.match(str(text))
    if not match:
        raise HarnessError(f"{text!r} is not a duration", hint="e.g. 40ms, 0.5s or 40 (milliseconds)")
    return round(float(match.group(1)) * _UNIT_MS[match.group(2)], 6)


def parse_percent(text: str) -> float:
    """`0.1%` or `0.1` -> 0.1 (percent), between 0 and 100."""
    match = re.match(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%?\s*$", str(text))
    if not match or float(match.group(1)) > 100:
        raise HarnessError(f"{text!r} is not a percentage", hint="e.g. 0.1% or 5 (percent, 0 to 100)")
    return float(match.group(1))



def out_of_bounds(number: float, low: float, high: float, low_inclusive: bool = False) -> str | None:
    """What `number` fails to be, or None if it is a finite number in (low, high] (or [low, high]).

    NaN compares false with everything, so `number <= 0` alone lets it through: finiteness is checked first."""
    above = number >= low if low_inclusive else number > low
    if math.isfinite(number) and above and number <= high:
        return None
    return f"must be a finite number {'from' if low_inclusive else 'above'} {low:g} up to {high:g}"


def bounded(value: float, what: str, low: float, high: float, *, low_inclusive: bool = False) -> float:
    """`value` as a float if it is within bounds (see out_of_bounds); else a HarnessError naming `what`."""
    problem = out_of_bounds(float(value), low, high, low_inclusive)
    if problem is not None:
        raise HarnessError(f"{what} {problem}, got {value!r}")
    return float(value)

"""Numbers as users type them: NaN and infinities are never in bounds."""

import math

import pytest

from core.errors import HarnessError
from core.units import bounded, out_of_bounds


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1.0, 86_400.5])
def test_out_of_bounds(value: float) -> None:
    assert out_of_bounds(value, 0, 86_400) == "must be a finite number above 0 up to 86400"


def test_zero_may_be_in_bounds_when_the_low_end_is_inclusive() -> None:
    assert out_of_bounds(0.0, 0, 10, low_inclusive=True) is None
    assert out_of_bounds(math.nan, 0, 10, low_inclusive=True) == "must be a finite number from 0 up to 10"


def test_bounded_names_what_it_refused() -> None:
    assert bounded(60, "--time-limit", 0, 100) == 60.0
    with pytest.raises(HarnessError, match=r"^--time-limit must be a finite number above 0 up to 100, got nan$"):
        bounded(math.nan, "--time-limit", 0, 100)

"""Poll for a state with a deadline instead of sleeping and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from core.errors import HarnessError

T = TypeVar("T")


class WaitTimeout(HarnessError):
    pass


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Call `predicate` until it returns something truthy; raise WaitTimeout naming `what` at the deadline.

    Exceptions from the predicate count as "not yet" (a broker that refuses connections is not ready); the
    timeout message quotes the last one if the last try raised it, or says when the last one happened, so an
    old error is not mistaken for the state at the deadline. A HarnessError is definitive and propagates at once.
    """
    start = time.monotonic()
    deadline = start + timeout
    last_error: Exception | None = None
    last_error_at = 0.0
    while True:
        try:
            value = predicate()
            if value:
                return value
            failed_now = False
        except HarnessError:
            raise
        except Exception as error:  # noqa: BLE001 - any failure means "not ready yet"
            last_error, last_error_at, failed_now = error, time.monotonic() - start, True
        if time.monotonic() >= deadline:
            if last_error is None:
                detail = ""
            elif failed_now:
                detail = f" (last error: {last_error})"
            else:
                detail = f" (it answered, but not yet as wanted; last error, {last_error_at:.0f} s in: {last_error})"
            raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)

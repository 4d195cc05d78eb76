"""ManualClock: time moves only on advance, and advance returns once the threads have acted and sleep again."""

from __future__ import annotations

import threading

import pytest

from core.clock import ManualClock


def test_sleepers_wake_in_deadline_order_at_their_own_times() -> None:
    clock, woke, stop = ManualClock(), [], threading.Event()
    for name, seconds in (("late", 0.5), ("early", 0.2)):
        clock.spawn(lambda n=name, s=seconds: (clock.wait(stop, s), woke.append((n, clock.now()))), name)
    clock.advance(0.3)
    assert woke == [("early", 0.2)]
    clock.advance(1.0)
    assert woke == [("early", 0.2), ("late", 0.5)] and clock.now() == 1.3


def test_a_stop_event_wakes_a_sleeper_at_once() -> None:
    clock, stop, result = ManualClock(), threading.Event(), []
    thread = clock.spawn(lambda: result.append(clock.wait(stop, 100.0)), "sleeper")
    clock.settle()
    stop.set()
    thread.join(5)
    assert result == [True] and clock.now() == 0.0


def test_a_thread_that_never_sleeps_again_is_reported_not_waited_for() -> None:
    clock, release = ManualClock(settle_timeout=0.2), threading.Event()
    clock.spawn(lambda: release.wait(5), "busy")  # live, but not asleep on the clock
    with pytest.raises(TimeoutError, match="did not settle"):
        clock.advance(1.0)
    release.set()

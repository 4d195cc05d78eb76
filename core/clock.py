"""Time as a parameter: what code that schedules (the nemesis schedule) asks of a clock.

`RealClock` is the monotonic clock and real threads. `ManualClock` is time that moves only when a test says so:
threads started through it sleep in `wait` until `advance` moves time past their deadline, and `advance`
returns once every such thread has done what was due and is asleep again (or finished), so a test reads like
"at t = 0.2 s the leader is killed" with no sleeping and no timing windows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Sleep `seconds` or until `stop` is set; True if it was set."""
        ...

    def spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        """Start a daemon thread that runs `target` (threads that sleep on this clock must start here)."""
        ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))

    def spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread


REAL_CLOCK = RealClock()


class ManualClock:
    """Test time. `settle_timeout` bounds (in real seconds) how long `advance` waits for the threads to settle:
    a thread that never goes back to sleep is a bug in the code under test, reported, not waited for forever."""

    POLL = 0.002  # real seconds between looks at a stop event (Event.set wakes no condition of ours)

    def __init__(self, start: float = 0.0, settle_timeout: float = 10.0) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._live = 0  # threads started through spawn and not finished
        self._sleeping: dict[int, float] = {}  # thread id -> deadline, while it waits
        self.settle_timeout = settle_timeout

    def now(self) -> float:
        with self._cond:
            return self._now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            deadline = self._now + max(0.0, seconds)
            self._sleeping[me] = deadline
            self._cond.notify_all()
            try:
                while not stop.is_set() and self._now < deadline:
                    self._cond.wait(self.POLL)
            finally:
                del self._sleeping[me]
                self._cond.notify_all()
            return stop.is_set()

    def spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        def tracked() -> None:
            try:
                target()
            finally:
                with self._cond:
                    self._live -= 1
                    self._cond.notify_all()

        with self._cond:
            self._live += 1
        thread = threading.Thread(target=tracked, name=name, daemon=True)
        thread.start()
        return thread

    def settle(self) -> None:
        """Return once every live thread sleeps with a deadline still ahead (or none is live)."""
        limit = time.monotonic() + self.settle_timeout
        with self._cond:
            while not self._settled():
                if time.monotonic() >= limit:
                    raise TimeoutError(f"threads did not settle at t={self._now}: {self._live} live, "
                                       f"{len(self._sleeping)} asleep")
                self._cond.wait(self.POLL)

    def _settled(self) -> bool:
        return len(self._sleeping) == self._live and all(d > self._now for d in self._sleeping.values())

    def advance(self, seconds: float) -> None:
        """Move time forward in steps to each deadline that falls inside, letting the threads act at each."""
        self.settle()
        target = self.now() + seconds
        while True:
            with self._cond:
                due = [d for d in self._sleeping.values() if d <= target]
                self._now = min(due) if due else target
                self._cond.notify_all()
            self.settle()
            if not due:
                return

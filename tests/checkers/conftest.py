from __future__ import annotations

import pytest

import checkers
from tests.checkers.notation import History


def check(h: History, workload: str = "auto") -> checkers.CheckResult:
    return checkers.check_events(h.events, workload)


def only(result: checkers.CheckResult, name: str) -> checkers.Anomaly:
    """The single anomaly of `name`, asserting there is exactly one."""
    found = result.anomalies.get(name, ())
    assert len(found) == 1, (name, [a.explanation for a in found], checkers.render_text(result))
    return found[0]


def names(result: checkers.CheckResult) -> set[str]:
    return {name for name, found in result.anomalies.items() if found}


@pytest.fixture
def h() -> History:
    return History()

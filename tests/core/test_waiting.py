"""wait_until's timeout message says what the state was at the deadline, not an error from long before."""

from __future__ import annotations

import pytest

from core.errors import HarnessError
from core.waiting import WaitTimeout, wait_until


def test_an_error_on_the_last_try_is_quoted():
    def refused():
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(WaitTimeout, match=r"waiting for the broker \(last error: connection refused\)"):
        wait_until(refused, 0.05, "the broker", interval=0.01)


def test_an_old_error_is_not_passed_off_as_the_state_at_the_deadline():
    tries = []

    def refused_then_not_yet():
        tries.append(1)
        if len(tries) == 1:
            raise ConnectionRefusedError("connection refused")
        return False

    with pytest.raises(WaitTimeout) as timeout:
        wait_until(refused_then_not_yet, 0.05, "the broker", interval=0.01)
    assert "it answered, but not yet as wanted; last error, 0 s in: connection refused" in str(timeout.value)


def test_a_harness_error_is_definitive():
    calls = []

    def broken():
        calls.append(1)
        raise HarnessError("bad config")

    with pytest.raises(HarnessError, match="bad config"):
        wait_until(broken, 5, "anything")
    assert calls == [1]


def test_the_value_is_returned_as_soon_as_it_is_truthy():
    values = iter([0, None, "ready"])
    assert wait_until(lambda: next(values), 1, "a value", interval=0.001) == "ready"


def test_a_broker_registration_timeout_names_the_brokers_that_did_register():
    from infra.admin import Admin

    admin = Admin("127.0.0.1:1")
    admin.broker_ids = lambda timeout=5.0: {1, 3}  # type: ignore[method-assign]
    with pytest.raises(WaitTimeout, match=r"registered at the end: \[1, 3\]$"):
        admin.wait_brokers({1, 2, 3}, timeout=0.01)

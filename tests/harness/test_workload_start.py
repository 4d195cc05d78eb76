"""A workload that cannot start ends the run there, in one line: no fault is injected against it (an earlier
share workload raised in start() and the runner went on to kill brokers 90 s later)."""

from __future__ import annotations

import pytest

from core.errors import HarnessError
from harness.runner import _start


class Refusing:
    name = "share"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def start(self) -> None:
        raise self.error


def test_a_client_librarys_refusal_becomes_one_line() -> None:
    with pytest.raises(HarnessError) as raised:
        _start(Refusing(RuntimeError("no share groups")))  # type: ignore[arg-type]
    assert raised.value.message == "the share workload did not start: RuntimeError: no share groups"
    assert "\n" not in str(raised.value)


def test_the_workloads_own_error_passes_unchanged() -> None:
    own = HarnessError("share workload: Kafka refused the group config")
    with pytest.raises(HarnessError) as raised:
        _start(Refusing(own))  # type: ignore[arg-type]
    assert raised.value is own

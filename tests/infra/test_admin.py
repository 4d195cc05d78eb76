"""Admin.create_topic: which refusals it waits out and which it reports at once."""

import pytest
from confluent_kafka import KafkaError, KafkaException

from core.errors import HarnessError
from core.waiting import WaitTimeout
from infra.admin import Admin

FENCED = ("All brokers specified in the manual partition assignment for partition 0 are fenced or in "
          "controlled shutdown.")


class _Future:
    def __init__(self, error):
        self.error = error

    def result(self, timeout=None):
        if self.error is not None:
            raise KafkaException(self.error)


class _Client:
    """Answers create_topics with the queued errors, then with success."""

    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0

    def create_topics(self, specs, request_timeout=None):
        self.calls += 1
        error = self.errors.pop(0) if self.errors else None
        return {specs[0].topic: _Future(error)}


def _admin(errors):
    admin = Admin.__new__(Admin)
    admin.client = _Client(errors)
    return admin


def test_a_broker_still_fenced_after_its_restart_is_waited_out():
    admin = _admin([KafkaError(KafkaError.INVALID_REPLICA_ASSIGNMENT, FENCED)] * 2)
    admin.create_topic("t", 1, 1, {}, replica_assignment=[[1]], timeout=10)
    assert admin.client.calls == 3


def test_fenced_until_the_deadline_names_kafkas_refusal():
    admin = _admin([KafkaError(KafkaError.INVALID_REPLICA_ASSIGNMENT, FENCED)] * 100)
    with pytest.raises(WaitTimeout, match="fenced or in controlled shutdown"):
        admin.create_topic("t", 1, 1, {}, replica_assignment=[[1]], timeout=1.5)


def test_an_assignment_that_can_never_work_fails_at_once():
    admin = _admin([KafkaError(KafkaError.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes "
                                                                        "broker 9, but no such broker is registered.")])
    with pytest.raises(HarnessError, match="no such broker"):
        admin.create_topic("t", 1, 1, {}, replica_assignment=[[9]], timeout=10)
    assert admin.client.calls == 1

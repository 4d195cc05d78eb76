"""Kafka client errors → history outcomes: `fail` only when the write certainly did not happen.

A wrong `fail` makes the checker cry wolf (a "failed" send that is later read looks like an aborted read),
so everything ambiguous is `info`: timeouts, lost connections, NOT_LEADER_OR_FOLLOWER (KAFKA-13574),
NOT_ENOUGH_REPLICAS_AFTER_APPEND, and errors we do not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaError

# Rejected before the broker appends anything, whatever attempt it was.
_ALWAYS_DEFINITE = {
    KafkaError.MSG_SIZE_TOO_LARGE,
    KafkaError.INVALID_RECORD,
    KafkaError.INVALID_MSG_SIZE,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.INVALID_REQUIRED_ACKS,
    KafkaError._PURGE_QUEUE,  # purged from the local queue, never sent
}

# Rejected before append *by this request*; but if the client retried, an earlier attempt that timed out may
# have been appended, so these are definite only when the producer makes a single attempt.
_DEFINITE_ON_FIRST_ATTEMPT = {KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.UNKNOWN_TOPIC_OR_PART}


@dataclass(frozen=True)
class Outcome:
    type: str  # "fail" or "info"
    error: str


def classify_send_error(error: KafkaError, single_attempt: bool) -> Outcome:
    code = error.code()
    name = error.name().lower().lstrip("_").replace("_", "-")
    if code in _ALWAYS_DEFINITE:
        return Outcome("fail", name)
    if code in _DEFINITE_ON_FIRST_ATTEMPT and single_attempt:
        return Outcome("fail", name)
    return Outcome("info", name)

"""The Java client's send errors -> fail or info: fail only where the record certainly was not written."""

import pytest

from workloads.outcome import (
    _JAVA_ALWAYS_DEFINITE,
    _JAVA_BEFORE_SEND_DEFINITE,
    _JAVA_DEFINITE_ON_FIRST_ATTEMPT,
    _JAVA_INDETERMINATE,
    classify_java_send_error,
    java_error_name,
)

ERRORS = "org.apache.kafka.common.errors."


def outcome(simple, before_send=False, single_attempt=False, package=ERRORS):
    result = classify_java_send_error(package + simple, before_send, single_attempt)
    return result.type, result.error


@pytest.mark.parametrize("simple", sorted(_JAVA_BEFORE_SEND_DEFINITE))
def test_an_error_raised_inside_send_before_the_append_is_a_fail(simple):
    package = "java.lang." if simple == "IllegalStateException" else ERRORS
    assert outcome(simple, before_send=True, package=package)[0] == "fail"


def test_a_metadata_timeout_inside_send_fails_but_a_delivery_timeout_afterwards_is_unknown():
    assert outcome("TimeoutException", before_send=True) == ("fail", "timeout")
    assert outcome("TimeoutException", before_send=False) == ("info", "timeout")


def test_a_plain_kafka_exception_inside_send_stays_unknown():
    # KafkaProducer.doSend may raise it after the append too (the transaction manager's error state).
    assert outcome("KafkaException", before_send=True, package="org.apache.kafka.common.") == ("info", "kafka")


def test_a_broker_error_class_raised_inside_send_is_not_taken_for_the_brokers_answer():
    assert outcome("NotEnoughReplicasException", before_send=True, single_attempt=True)[0] == "info"


@pytest.mark.parametrize("simple", sorted(_JAVA_ALWAYS_DEFINITE))
def test_a_broker_rejection_before_append_is_a_fail_whatever_the_attempt(simple):
    assert outcome(simple, single_attempt=False)[0] == "fail"


@pytest.mark.parametrize("simple", sorted(_JAVA_DEFINITE_ON_FIRST_ATTEMPT))
def test_not_enough_replicas_is_a_fail_only_when_the_producer_made_one_attempt(simple):
    assert outcome(simple, single_attempt=True)[0] == "fail"
    assert outcome(simple, single_attempt=False)[0] == "info"  # an earlier, timed-out attempt may be in the log


@pytest.mark.parametrize("simple", sorted(_JAVA_INDETERMINATE))
def test_errors_after_which_the_write_may_exist_are_info(simple):
    package = "org.apache.kafka.common." if simple == "KafkaException" else ERRORS
    for single_attempt in (False, True):
        assert outcome(simple, single_attempt=single_attempt, package=package)[0] == "info"


def test_an_unknown_exception_is_info_wherever_it_surfaced():
    for before_send in (False, True):
        assert outcome("BrandNewException", before_send=before_send, package="com.example.") == \
            ("info", "brand-new")


def test_error_names_are_the_class_in_kebab_case():
    assert java_error_name(ERRORS + "NotEnoughReplicasAfterAppendException") == "not-enough-replicas-after-append"
    assert java_error_name(ERRORS + "NotLeaderOrFollowerException") == "not-leader-or-follower"
    assert java_error_name("java.lang.IllegalStateException") == "illegal-state"
    assert java_error_name("org.example.Outer$InnerException") == "inner"

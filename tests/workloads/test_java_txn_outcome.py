"""The Java client's transactions and consumer commits -> fail or info: a transaction is `fail` only when
abortTransaction returned; a commit only when the consumer refused it locally."""

import pytest

from workloads.outcome import (
    JAVA_ABORTABLE_ON_COMMIT,
    JAVA_COMMIT_DEFINITE,
    JAVA_COMMIT_INDETERMINATE,
    classify_java_commit_error,
    classify_java_txn_error,
)

ERRORS = "org.apache.kafka.common.errors."


def txn(stage, simple, abort):
    result = classify_java_txn_error(stage, None if simple is None else ERRORS + simple, abort)
    return result.type, result.error


def test_an_abort_on_purpose_that_returned_is_a_fail():
    assert txn("purpose", None, "ok") == ("fail", "aborted-on-purpose")


def test_a_step_that_threw_then_a_returned_abort_is_a_fail_named_by_the_step():
    assert txn("step", "NotEnoughReplicasException", "ok") == ("fail", "not-enough-replicas")
    assert txn("step", "TimeoutException", "ok") == ("fail", "timeout")


@pytest.mark.parametrize("simple", sorted(JAVA_ABORTABLE_ON_COMMIT))
def test_an_abortable_commit_error_then_a_returned_abort_is_a_fail(simple):
    assert txn("commit", simple, "ok")[0] == "fail"


@pytest.mark.parametrize("simple", sorted(JAVA_COMMIT_INDETERMINATE))
def test_commit_errors_after_which_the_commit_may_exist_are_info(simple):
    kind, error = txn("commit", simple, "not-tried")
    assert kind == "info" and error.startswith("commit: ")


def test_no_class_is_both_abortable_and_indeterminate_on_commit():
    assert not set(JAVA_ABORTABLE_ON_COMMIT) & set(JAVA_COMMIT_INDETERMINATE)
    assert {"TimeoutException", "ProducerFencedException", "InvalidProducerEpochException",
            "TransactionAbortedException"} <= set(JAVA_COMMIT_INDETERMINATE)


def test_a_returned_abort_after_a_commit_error_not_named_abortable_still_proves_nothing():
    assert txn("commit", "ProducerFencedException", "ok") == ("info", "commit: producer-fenced")


def test_an_abort_that_threw_leaves_the_transaction_unknown_whatever_the_stage():
    assert txn("step", "NetworkException", ERRORS + "ProducerFencedException") == (
        "info", "network; abort: producer-fenced")
    assert txn("purpose", None, ERRORS + "TimeoutException") == ("info", "aborted-on-purpose; abort: timeout")
    assert txn("commit", "KafkaException", "org.apache.kafka.common.KafkaException")[0] == "info"


def test_an_unknown_exception_on_commit_is_info():
    assert txn("commit", "SomethingNewException", "not-tried") == ("info", "commit: something-new")


@pytest.mark.parametrize("simple", sorted(JAVA_COMMIT_DEFINITE))
def test_a_commit_the_consumer_refused_locally_is_a_fail(simple):
    assert classify_java_commit_error("java.lang." + simple).type == "fail"


@pytest.mark.parametrize(("simple", "name"), [
    ("CommitFailedException", "commit-failed"), ("RebalanceInProgressException", "rebalance-in-progress"),
    ("TimeoutException", "timeout"), ("WakeupException", "wakeup"), ("SomethingNewException", "something-new")])
def test_a_commit_that_may_have_reached_the_coordinator_is_info(simple, name):
    result = classify_java_commit_error(ERRORS + simple)
    assert (result.type, result.error) == ("info", name)

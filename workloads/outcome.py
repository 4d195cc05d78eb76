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


# ---- the Java client (`--client java`) ---------------------------------------------------------------------
# The driver (infra/compose/driver/) reports a send that threw as the exception's class and whether it surfaced
# inside send(), and this table decides. Keys are simple class names of org.apache.kafka.common.errors (and
# java.lang); a class not listed is `info`.

# Raised inside send(), i.e. by KafkaProducer.doSend before RecordAccumulator.append: the record never joined a
# batch, so no request carried it. Only classes doSend raises *before* append are listed: a plain KafkaException
# may also come from the transaction manager's check after append (maybeAddPartition), so it stays info.
_JAVA_BEFORE_SEND_DEFINITE = {
    "TimeoutException": "waitOnMetadata gave up after max.block.ms (topic or partition not in the metadata)",
    "BufferExhaustedException": "no buffer memory within max.block.ms; the allocation precedes the append",
    "RecordTooLargeException": "ensureValidRecordSize rejects the record before the accumulator",
    "SerializationException": "the key or value serializer failed; serializing precedes the append",
    "InvalidTopicException": "the metadata request named the topic invalid",
    "TopicAuthorizationException": "the metadata request was refused: not allowed to write the topic",
    "ClusterAuthorizationException": "the metadata or producer-id request was refused",
    "InterruptException": "interrupted while waiting for metadata or buffer memory, both before the append",
    "IllegalStateException": "throwIfProducerClosed, the first step of doSend: the producer was closed",
}

# The broker's answer to a produce request that it rejected before appending, on any attempt.
_JAVA_ALWAYS_DEFINITE = {
    "RecordTooLargeException": "MESSAGE_TOO_LARGE: the broker refuses the batch before append",
    "InvalidRecordException": "INVALID_RECORD: the broker's validation precedes the append",
    "CorruptRecordException": "CORRUPT_MESSAGE: the CRC check precedes the append",
    "InvalidTopicException": "INVALID_TOPIC_EXCEPTION: no such log to append to (e.g. an internal topic)",
    "TopicAuthorizationException": "TOPIC_AUTHORIZATION_FAILED: checked before append",
    "ClusterAuthorizationException": "CLUSTER_AUTHORIZATION_FAILED (idempotent write): checked before append",
    "InvalidRequiredAcksException": "INVALID_REQUIRED_ACKS: the request is refused as a whole",
}

# Rejected before append by *this* request; with retries an earlier attempt that timed out may have been
# appended, so definite only when the producer makes a single attempt (retries=0), as for librdkafka.
_JAVA_DEFINITE_ON_FIRST_ATTEMPT = {
    "NotEnoughReplicasException": "NOT_ENOUGH_REPLICAS: min.insync.replicas checked before append",
    "UnknownTopicOrPartitionException": "UNKNOWN_TOPIC_OR_PARTITION: this broker has no such log",
}

# Listed to say why they are info (the default would give the same answer): each may follow an append.
_JAVA_INDETERMINATE = {
    "TimeoutException": "after send() returned: delivery.timeout.ms expired while the batch may be in flight",
    "NetworkException": "the connection broke with the request in flight",
    "DisconnectException": "likewise",
    "NotLeaderOrFollowerException": "KAFKA-13574: a leader that lost leadership may have appended",
    "NotEnoughReplicasAfterAppendException": "appended, then too few replicas acknowledged",
    "OutOfOrderSequenceException": "the broker lost track of the producer's sequence; earlier batches may be in",
    "UnknownProducerIdException": "the producer's state expired on the broker; the batch may have been appended",
    "InvalidProducerEpochException": "fenced while the batch was in flight",
    "KafkaException": "e.g. 'Producer is closed forcefully' for batches that may have been sent",
}


def java_error_name(exception: str) -> str:
    """`org.apache.kafka.common.errors.NotEnoughReplicasException` -> `not-enough-replicas`."""
    simple = exception.rsplit(".", 1)[-1].rsplit("$", 1)[-1].removesuffix("Exception") or exception
    return "".join("-" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(simple))


def classify_java_send_error(exception: str, before_send: bool, single_attempt: bool) -> Outcome:
    """A Java producer's send that completed with `exception` (its class name); `before_send`: it surfaced
    inside send() (thrown, or the callback ran on the calling thread), not later from the I/O thread."""
    simple = exception.rsplit(".", 1)[-1]
    name = java_error_name(exception)
    if before_send:  # not from the broker: only the before-append table can make it definite
        return Outcome("fail" if simple in _JAVA_BEFORE_SEND_DEFINITE else "info", name)
    if simple in _JAVA_ALWAYS_DEFINITE:
        return Outcome("fail", name)
    if simple in _JAVA_DEFINITE_ON_FIRST_ATTEMPT and single_attempt:
        return Outcome("fail", name)
    return Outcome("info", name)


# ---- Java transactions (`--client java --workload txn`) ----------------------------------------------------
# A transaction that did not commit reaches the harness as the stage it went wrong at, the exception behind it,
# and what abortTransaction then did. `fail` needs a returned abortTransaction: the coordinator wrote the abort
# markers, so none of the transaction's writes can ever be read committed. Nothing else is certain.
TXN_STAGES = ("step", "purpose", "commit")  # a send/poll/sendOffsetsToTransaction threw; aborted on purpose; commit

# commitTransaction threw one of these: the transaction manager is in its *abortable* error state, so the EndTxn
# that commits was never sent. The driver aborts (it reads this table from its settings) and a returned abort is
# a `fail`. Every other class leaves the commit's outcome unknown and the driver does not abort (KAFKA-17754).
JAVA_ABORTABLE_ON_COMMIT = {
    "KafkaException": "'Cannot execute transactional method because we are in an error state': an earlier send "
                      "or sendOffsetsToTransaction failed abortably; commit refuses before any EndTxn",
    "TransactionAbortableException": "TRANSACTION_ABORTABLE (KIP-890, 4.x): the broker says abort",
}

# Listed to say why a commitTransaction that threw them is `info` (the default gives the same answer).
JAVA_COMMIT_INDETERMINATE = {
    "TimeoutException": "max.block.ms passed with the EndTxn unanswered; retried until the commit timeout, then "
                        "unknown: the coordinator may have written the commit",
    "ProducerFencedException": "a newer producer of the transactional.id took over; whether this commit landed "
                               "first is not said",
    "InvalidProducerEpochException": "the epoch moved on (KIP-890 bumps it per transaction): a retried EndTxn may "
                                     "meet a commit already made",
    "TransactionAbortedException": "reported for batches the client itself abandoned; not the coordinator's word",
    "InterruptException": "the client thread was interrupted while waiting for the EndTxn answer",
    "UnsupportedVersionException": "fatal: the producer can do nothing more, the commit's fate is not known",
    "AuthorizationException": "fatal, likewise",
    "IllegalStateException": "the transaction manager's own state refused; the driver cannot say more",
}


def classify_java_txn_error(stage: str, exception: str | None, abort: str) -> Outcome:
    """`abort`: `ok` (abortTransaction returned), `not-tried`, or the class abortTransaction threw."""
    reason = "aborted-on-purpose" if stage == "purpose" or exception is None else java_error_name(exception)
    simple = None if exception is None else exception.rsplit(".", 1)[-1]
    if abort == "ok" and (stage != "commit" or simple in JAVA_ABORTABLE_ON_COMMIT):
        return Outcome("fail", reason)
    if abort in ("not-tried", "ok"):  # "ok" here: aborted after a commit error not in the table, so unknown
        return Outcome("info", f"commit: {reason}" if stage == "commit" else reason)
    return Outcome("info", f"{reason}; abort: {java_error_name(abort)}")


# ---- Java consumer commits (`--client java --workload group`) ----------------------------------------------
# commitSync raised these before any OffsetCommit reached the coordinator: certainly not committed. Every other
# class is `info` (CommitFailedException, RebalanceInProgressException, a timeout: the client may have retried an
# attempt that did land). The driver reads this table too: after any other class the member acts no more.
JAVA_COMMIT_DEFINITE = {
    "IllegalArgumentException": "an offset or partition the consumer refuses locally",
    "IllegalStateException": "the consumer is not subscribed or has no assignment: nothing is sent",
}


def classify_java_commit_error(exception: str) -> Outcome:
    simple = exception.rsplit(".", 1)[-1]
    return Outcome("fail" if simple in JAVA_COMMIT_DEFINITE else "info", java_error_name(exception))

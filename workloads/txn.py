"""The txn workload: transactional producers that write, read and commit consumer offsets in one transaction.

Each worker owns one transactional.id and runs one transaction at a time, recorded as one `txn` op: sometimes a
read_committed poll first (consume-transform-produce: its positions go into the transaction with
send_offsets_to_transaction), one to `max_sends` sends across partitions, sometimes a poll after them, then a
commit, or, about one time in ten (seeded; and always worker 0's second transaction), an abort on purpose.
Outcomes are honest:

- ok: commit_transaction returned; every send carries its partition and offset, every poll its records.
- fail: the transaction certainly aborted: abort_transaction returned (we aborted on purpose, or after an
  abortable error). The consumer then seeks back to where the transaction began reading.
- info: anything else, e.g. a commit that timed out or a fatal error. That producer is never used again: no
  abort after an unknown commit (that is how a delayed EndTxn tears the next transaction, KAFKA-17754). A new
  producer with the same transactional.id takes over under a new process id; its init_transactions fences the old
  one and settles the old transaction one way or the other.

Plain read_committed consumers poll during the run; the drain reads every partition with read_committed until its
position reaches the high watermark (markers and aborted records are skipped, so the position, not the last
record, says how far it read).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from confluent_kafka import (
    OFFSET_STORED,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from core.errors import HarnessError
from infra.recorder import HistoryRecorder
from workloads.committed_reads import CommittedReads
from workloads.options import ClientOptions
from workloads.records import await_coordinator, close_quietly, error_name, kafka_error, records_of

POLL = -1  # a plan step: read; any other step is the partition of a send


@dataclass(frozen=True)
class TxnOptions:
    topic: str = "jepsen-txn"
    txn_rate: float | None = None  # transactions/s, all workers together; None: the queue's send rate / 4
    max_sends: int = 4
    poll_probability: float = 0.5  # a read before the sends (consume-transform-produce)
    late_poll_probability: float = 0.15  # a read after the sends
    abort_probability: float = 0.1
    poll_records: int = 50
    transaction_timeout_ms: int = 30_000  # the coordinator aborts a transaction left open this long
    commit_timeout: float = 10.0  # seconds of retrying a retriable commit/abort before the outcome is unknown
    ready_timeout: float = 90.0  # start() waits this long at most for the coordinators
    seed: int = 0

    def __post_init__(self) -> None:
        probabilities = (self.poll_probability, self.late_poll_probability, self.abort_probability)
        if not all(0.0 <= p <= 1.0 for p in probabilities):
            raise HarnessError("txn probabilities must be between 0 and 1")
        if self.max_sends < 1 or self.poll_records < 1 or (self.txn_rate is not None and self.txn_rate <= 0):
            raise HarnessError("txn workload: max_sends and poll_records at least 1, txn_rate positive")


@dataclass(frozen=True)
class TxnPlan:
    steps: tuple[int, ...]  # POLL or the partition of one send, in order
    abort: bool  # abort on purpose instead of committing

    @property
    def reads(self) -> bool:
        return POLL in self.steps


def plan_txn(rng: random.Random, partitions: int, options: TxnOptions) -> TxnPlan:
    steps: list[int] = [POLL] if rng.random() < options.poll_probability else []
    steps.extend(rng.randrange(partitions) for _ in range(rng.randint(1, options.max_sends)))
    if rng.random() < options.late_poll_probability:
        steps.append(POLL)
    return TxnPlan(tuple(steps), rng.random() < options.abort_probability)


def txn_invoke(plan: TxnPlan, topic: str, values: list[int], producer: str, group: str) -> dict[str, Any]:
    """The invoke value: micro-ops in order; a `commit` micro-op (offsets filled at completion) ends a txn that
    reads, for the positions it hands to send_offsets_to_transaction."""
    sent = iter(values)
    ops: list[dict[str, Any]] = [
        {"f": "poll"} if step == POLL else
        {"f": "send", "topic": topic, "value": next(sent), "producer": producer, "partition": step}
        for step in plan.steps]
    if plan.reads:
        ops.append({"f": "commit", "group": group})
    return {"ops": ops}


class _Abort(Exception):
    """A step of the transaction failed before its commit was asked for: abort it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Session:
    """One producer generation: its producer, its read_committed consumer and its process id."""

    producer: Any
    consumer: Any
    process: int
    name: str  # the producer instance, as send micro-ops name it
    group: str  # the consumer group whose offsets the transactions commit
    open: bool = True  # False once an outcome is unknown: close, never reuse


@dataclass
class _Attempt:
    """One transaction under way: the completion value being filled, and where its reads began."""

    ops: list[dict[str, Any]]
    first_read: dict[int, int] = field(default_factory=dict)  # partition -> first offset read in this txn


class TxnWorkload:
    name = "txn"
    checker = "txn"

    def __init__(self, options: ClientOptions, bootstrap_servers: str, history: HistoryRecorder, run_id: str,
                 logger: Any, txn: TxnOptions | None = None) -> None:
        if options.acks not in ("all", "-1") or options.idempotence is False:
            raise HarnessError("the txn workload needs --acks all and an idempotent producer",
                               hint="transactional producers are idempotent by definition")
        self.options = options
        self.txn = txn or TxnOptions()
        self.topic = self.txn.topic
        self.bootstrap = bootstrap_servers
        self.history = history
        self.run_id = run_id
        self.logger = logger
        self._stop = threading.Event()
        self._values = itertools.count()
        self._values_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.outcomes: dict[str, int] = {"ok": 0, "fail": 0, "info": 0}
        self._outcomes_lock = threading.Lock()
        self.producer_factory: Callable[[dict[str, Any]], Any] = Producer  # tests put fakes here
        self.consumer_factory: Callable[[dict[str, Any]], Any] = Consumer
        self.reads = CommittedReads(self.topic, options.partitions, history, self._consumer)

    def topic_spec(self) -> tuple[str, int, int, dict[str, str]]:
        o = self.options
        return self.topic, o.partitions, o.replication, o.topic_config()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.options.to_json(), "topic": self.topic, "txn": {
            "txn_rate": self._txn_rate(), "max_sends": self.txn.max_sends, "poll_probability":
            self.txn.poll_probability, "late_poll_probability": self.txn.late_poll_probability,
            "abort_probability": self.txn.abort_probability, "transaction_timeout_ms":
            self.txn.transaction_timeout_ms, "commit_timeout": self.txn.commit_timeout, "seed": self.txn.seed}}

    def _txn_rate(self) -> float:
        return self.txn.txn_rate if self.txn.txn_rate is not None else self.options.rate / 4

    # ---- clients -----------------------------------------------------------------------------------------

    def _transactional_id(self, k: int) -> str:
        return f"harness-{self.run_id}-txn-{k}"

    def _producer(self, transactional_id: str) -> Any:
        config = {**self.options.producer_config(self.bootstrap), "enable.idempotence": True, "acks": "all",
                  "transactional.id": transactional_id,
                  "transaction.timeout.ms": self.txn.transaction_timeout_ms, "logger": self.logger}
        return self.producer_factory(config)

    def _consumer(self, group: str) -> Any:
        return self.consumer_factory({
            "bootstrap.servers": self.bootstrap, "group.id": group, "isolation.level": "read_committed",
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "enable.partition.eof": False,
            "session.timeout.ms": 10_000, "logger": self.logger})

    def _partitions(self, offset: int) -> list[TopicPartition]:
        return [TopicPartition(self.topic, p, offset) for p in range(self.options.partitions)]

    # ---- run ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Once the transaction and group coordinators answer (their internal topics exist): the workers."""
        self._await_coordinators()
        for k in range(self.options.concurrency):
            self._spawn(f"txn-{k}", self.worker, k)
        for k in range(self.options.consumers):
            self._spawn(f"txn-reader-{k}", self._reader, k)

    def _await_coordinators(self) -> None:
        """Both internal topics are created on first use; ask for both coordinators at once."""
        deadline = time.monotonic() + self.txn.ready_timeout
        groups: list[bool] = []
        consumer = self._consumer(self._transactional_id(0))
        probe = threading.Thread(target=lambda: groups.append(await_coordinator(consumer, self.topic,
                                                                                self.txn.ready_timeout)))
        probe.start()
        producer = self._producer(f"harness-{self.run_id}-txn-probe")
        ready = False
        while not ready and time.monotonic() < deadline:
            try:
                producer.init_transactions(max(0.1, min(5.0, deadline - time.monotonic())))
                ready = True
            except KafkaException:
                continue
        del producer  # no transaction was begun; never close() a transactional producer (see _close)
        probe.join(max(0.1, deadline - time.monotonic()))
        close_quietly(consumer)
        if not (ready and groups and groups[0]):
            self.logger.warning("coordinators not ready after %.0f s; starting anyway", self.txn.ready_timeout)

    def _spawn(self, name: str, target: Callable[[int], None], k: int) -> None:
        thread = threading.Thread(target=target, args=(k,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Let every worker settle its transaction (commit, abort or give up), and wait for them."""
        self._stop.set()
        limit = timeout if timeout is not None else self.options.delivery_timeout_ms / 1000 + 2 * \
            self.txn.commit_timeout + 15
        deadline = time.monotonic() + limit
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))

    def _next_values(self, n: int) -> list[int]:
        with self._values_lock:
            return [next(self._values) for _ in range(n)]

    def worker(self, k: int) -> None:
        rng = random.Random(f"{self.txn.seed}-txn-{k}")
        period = self.options.concurrency / self._txn_rate()
        next_at = time.monotonic()
        generation = done = 0
        unsettled = False  # the last producer may have left a transaction open
        while not self._stop.is_set():
            session = self.open_session(k, generation)
            generation += 1
            if session is None:
                unsettled = True
                break
            try:
                while session.open and not self._stop.is_set():
                    next_at += period
                    if self._stop.wait(max(0.0, next_at - time.monotonic())):
                        break
                    plan = plan_txn(rng, self.options.partitions, self.txn)
                    if k == 0 and done == 1:  # however short the run, one abort on purpose is certain
                        plan = replace(plan, abort=True)
                    self.run_transaction(session, plan)
                    done += 1
                    next_at = max(next_at, time.monotonic() - period)  # no burst after a stall
            finally:
                unsettled = not session.open
                self._close(session)
        if unsettled:
            self._fence(k)

    def open_session(self, k: int, generation: int) -> Session | None:
        """A producer whose init_transactions succeeded (retried until stop), and a consumer that resumes at the
        offsets this worker's transactions committed."""
        while not self._stop.is_set():
            producer = self._producer(self._transactional_id(k))
            try:
                producer.init_transactions(self.txn.commit_timeout)
            except KafkaException:
                del producer  # never close(): it would abort, see _close
                self._stop.wait(0.5)
                continue
            consumer = self._consumer(self._transactional_id(k))
            consumer.assign(self._partitions(OFFSET_STORED))
            return Session(producer, consumer, self.history.new_process(), f"t{k}.{generation}",
                           self._transactional_id(k))
        return None

    def _close(self, session: Session) -> None:
        """Producer.close() aborts a transaction in progress and then flushes without a time limit; after an
        unknown commit that abort is the very thing to avoid, so the producer is only destroyed (its last
        reference dropped), which sends nothing to the coordinator."""
        close_quietly(session.consumer)
        session.producer = None

    def _fence(self, k: int) -> None:
        """Settle what a producer with an unknown last transaction left open: a newer epoch of the same
        transactional.id makes the coordinator finish it now, not after transaction.timeout.ms."""
        producer = self._producer(self._transactional_id(k))
        try:
            producer.init_transactions(self.txn.commit_timeout)
        except KafkaException as error:
            self.logger.warning("could not fence %s: %s", self._transactional_id(k), error)
        del producer

    # ---- one transaction ---------------------------------------------------------------------------------

    def run_transaction(self, s: Session, plan: TxnPlan) -> None:
        """One `txn` op: begin, the plan's steps, then commit or abort; the outcome as certain as Kafka lets it."""
        invoke = txn_invoke(plan, self.topic, self._next_values(sum(1 for p in plan.steps if p != POLL)),
                            s.name, s.group)
        try:
            s.producer.begin_transaction()
        except KafkaException:
            s.open = False  # a local state error: nothing was sent, nothing recorded; start a new producer
            return
        self.history.invoke(s.process, "txn", invoke)
        attempt = _Attempt([dict(op) for op in invoke["ops"]])
        try:
            self._perform(s, attempt)
        except _Abort as why:
            self._abort(s, invoke, attempt, why.reason)
            return
        if plan.abort:
            self._abort(s, invoke, attempt, "aborted-on-purpose")
        else:
            self._commit(s, invoke, attempt)

    def _perform(self, s: Session, attempt: _Attempt) -> None:
        """Sends, polls and offsets, in the plan's order; raises _Abort when a step failed."""
        reports: dict[int, tuple[Any, Any]] = {}
        for i, op in enumerate(attempt.ops):
            if op["f"] == "send":
                def delivered(err: Any, msg: Any, i: int = i) -> None:
                    reports[i] = (err, msg)
                try:
                    s.producer.produce(self.topic, value=str(op["value"]).encode(), partition=op["partition"],
                                       on_delivery=delivered)
                except BufferError:
                    raise _Abort("local-queue-full") from None
                except KafkaException as error:
                    raise _Abort(error_name(error)) from None
            elif op["f"] == "poll":
                try:
                    records = records_of(s.consumer.consume(self.txn.poll_records, 0.1))
                except KafkaException as error:
                    raise _Abort(error_name(error)) from None
                op["records"] = records
                for r in records:
                    attempt.first_read.setdefault(r["partition"], r["offset"])
        if s.producer.flush(self.options.delivery_timeout_ms / 1000 + 1) > 0:
            raise _Abort("no-delivery-report")
        errors = [err for _, (err, _) in sorted(reports.items()) if err is not None]
        if errors:  # a failed send makes librdkafka purge the rest: name the cause, not the purge
            raise _Abort(error_name(next((e for e in errors if e.code() != KafkaError._PURGE_QUEUE), errors[0])))
        for i, (_, msg) in reports.items():
            attempt.ops[i]["partition"], attempt.ops[i]["offset"] = msg.partition(), msg.offset()
        if any(op["f"] == "send" and "offset" not in op for op in attempt.ops):
            raise _Abort("no-delivery-report")
        commit = next((op for op in attempt.ops if op["f"] == "commit"), None)
        if commit is not None:
            self._send_offsets(s, commit)

    def _send_offsets(self, s: Session, commit: dict[str, Any]) -> None:
        positions = [tp for tp in s.consumer.position(self._partitions(OFFSET_STORED)) if tp.offset >= 0]
        commit["offsets"] = [{"topic": tp.topic, "partition": tp.partition, "offset": tp.offset} for tp in positions]
        if not positions:
            return
        metadata = s.consumer.consumer_group_metadata()
        deadline = time.monotonic() + self.txn.commit_timeout
        while True:
            try:
                s.producer.send_offsets_to_transaction(positions, metadata, self.txn.commit_timeout)
                return
            except KafkaException as error:
                err = kafka_error(error)
                if err is None or not err.retriable() or err.txn_requires_abort() or time.monotonic() > deadline:
                    raise _Abort(error_name(error)) from None

    def _commit(self, s: Session, invoke: dict[str, Any], attempt: _Attempt) -> None:
        deadline = time.monotonic() + self.txn.commit_timeout
        while True:
            try:
                s.producer.commit_transaction(max(0.1, deadline - time.monotonic()))
                break
            except KafkaException as error:
                err = kafka_error(error)
                if err is not None and err.txn_requires_abort() and not err.fatal():
                    self._abort(s, invoke, attempt, error_name(error))  # abortable: the commit was not made
                    return
                if err is not None and err.retriable() and not err.fatal() and time.monotonic() < deadline:
                    continue  # librdkafka resumes the same commit; its outcome is still to come
                self._unknown(s, invoke, f"commit: {error_name(error)}")
                return
        self._outcome("ok")
        self.history.record(s.process, "ok", "txn", {"ops": attempt.ops})

    def _abort(self, s: Session, invoke: dict[str, Any], attempt: _Attempt, reason: str) -> None:
        deadline = time.monotonic() + self.txn.commit_timeout
        while True:
            try:
                s.producer.abort_transaction(max(0.1, deadline - time.monotonic()))
                break
            except KafkaException as error:
                err = kafka_error(error)
                if err is not None and err.retriable() and not err.fatal() and time.monotonic() < deadline:
                    continue
                self._unknown(s, invoke, f"{reason}; abort: {error_name(error)}")
                return
        self._outcome("fail")
        self.history.record(s.process, "fail", "txn", invoke, reason)
        self._rewind(s, attempt)

    def _unknown(self, s: Session, invoke: dict[str, Any], reason: str) -> None:
        self._outcome("info")
        self.history.record(s.process, "info", "txn", invoke, reason)
        s.open = False

    def _rewind(self, s: Session, attempt: _Attempt) -> None:
        """After an abort the consumer reads again what the aborted transaction read (KAFKA-17582)."""
        try:
            for partition, offset in attempt.first_read.items():
                s.consumer.seek(TopicPartition(self.topic, partition, offset))
        except KafkaException:
            s.open = False  # a new consumer resumes at the committed offsets instead

    def _outcome(self, type_: str) -> None:
        with self._outcomes_lock:
            self.outcomes[type_] += 1

    # ---- plain readers and the final read ----------------------------------------------------------------

    def _reader(self, k: int) -> None:
        self.reads.poll_until(f"harness-{self.run_id}-txn-reader-{k}", self._stop)

    def drain(self, timeout: float, healed: bool = True) -> bool:
        return self.reads.drain(f"harness-{self.run_id}-txn-drain", timeout, healed)

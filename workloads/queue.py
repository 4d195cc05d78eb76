"""The queue workload: producers send unique integers to a topic, consumers read it from the beginning,
and after the faults a fresh consumer drains every partition to its high watermark.

Each producer process has at most one send outstanding and waits for its delivery report, so every send
gets an honest completion: ok with (partition, offset), fail only when Kafka certainly did not write it, info
otherwise. After an info the process id changes (the old one may still have a write in flight).
Producer k writes only to partition k mod P, so a partition whose leader is cut off stalls its own producers
and not the whole workload.

With `pipeline` N > 1, each producer is one client shared by N processes, each with its own send outstanding:
up to N sends of one producer are in flight at once, as in an application that does not wait for each ack, so
retries can reorder or duplicate them (without idempotence). The invoke and the hand-over to the client happen
under one lock, so the history's invoke order is the order the producer took them.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from core.errors import HarnessError
from infra.recorder import HistoryRecorder
from workloads.outcome import classify_send_error
from workloads.records import record_drain, records_of


@dataclass(frozen=True)
class QueueOptions:
    topic: str = "jepsen-queue"
    partitions: int = 3
    replication: int = 3
    min_insync_replicas: int = 2
    unclean_leader_election: bool = False
    acks: str = "all"
    idempotence: bool | None = None  # None: on for acks=all, off otherwise (like the Java client's default)
    retries: int | None = None  # None: the client's default (retry until the delivery timeout)
    max_in_flight: int = 5
    delivery_timeout_ms: int = 10_000
    request_timeout_ms: int = 5_000
    rate: float = 100.0
    concurrency: int = 6
    consumers: int = 2
    pipeline: int = 1  # processes sharing one producer client, each with one send outstanding
    replica_assignment: tuple[tuple[int, ...], ...] = ()  # broker ids per partition; () lets Kafka place them
    extra_producer_config: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.acks not in ("all", "1", "0", "-1"):
            raise HarnessError(f"--acks {self.acks!r} is not one of all, 1, 0")
        if self.idempotence and self.acks not in ("all", "-1"):
            raise HarnessError(f"--idempotence needs --acks all, got --acks {self.acks}",
                               hint="use --no-idempotence with acks=1 or 0")
        if self.partitions < 1 or self.replication < 1:
            raise HarnessError("--partitions and --replication must be at least 1")
        if not 0 < self.rate < math.inf or self.concurrency < 1 or self.consumers < 0:  # `not`: NaN fails too
            raise HarnessError("--rate must be a positive number, --concurrency at least 1, --consumers at least 0")
        if not 1 <= self.min_insync_replicas <= self.replication:
            raise HarnessError(f"--min-insync {self.min_insync_replicas} must be from 1 to the replication factor "
                               f"({self.replication})", hint="above it every acks=all send fails with "
                               "NOT_ENOUGH_REPLICAS; Kafka's own minimum is 1")
        if self.max_in_flight < 1:
            raise HarnessError(f"--max-in-flight must be at least 1, got {self.max_in_flight}",
                               hint="1 keeps sends in order without idempotence; 5 is the most idempotence allows")
        if self.pipeline < 1:
            raise HarnessError(f"pipeline must be at least 1, got {self.pipeline}")
        if self.replica_assignment and (len(self.replica_assignment) != self.partitions or any(
                len(replicas) != self.replication for replicas in self.replica_assignment)):
            raise HarnessError(f"replica_assignment needs {self.partitions} lists of {self.replication} broker ids",
                               hint="one list per partition, as many ids as the replication factor")
        if self.retries is not None and self.retries < 0:
            raise HarnessError(f"--retries must be 0 or more, got {self.retries}")

    @property
    def idempotent(self) -> bool:
        return self.acks in ("all", "-1") if self.idempotence is None else self.idempotence

    def producer_config(self, bootstrap_servers: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "acks": self.acks,
            "enable.idempotence": self.idempotent,
            "max.in.flight.requests.per.connection": self.max_in_flight,
            "delivery.timeout.ms": self.delivery_timeout_ms,
            "request.timeout.ms": self.request_timeout_ms,
            "linger.ms": 0,
        }
        if self.retries is not None:
            config["retries"] = self.retries
        config.update(dict(self.extra_producer_config))
        return config

    def topic_config(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync_replicas),
                "unclean.leader.election.enable": str(self.unclean_leader_election).lower()}

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "partitions": self.partitions, "replication": self.replication,
                "topic_config": self.topic_config(), "rate": self.rate, "concurrency": self.concurrency,
                "consumers": self.consumers, "pipeline": self.pipeline,
                "replica_assignment": [list(r) for r in self.replica_assignment],
                "producer_config": {k: v for k, v in self.producer_config("").items() if k != "bootstrap.servers"}}


class QueueWorkload:
    name = "queue"
    checker = "queue"

    def __init__(self, options: QueueOptions, bootstrap_servers: str, history: HistoryRecorder,
                 run_id: str, logger: Any, cluster: str | None = None, values: Iterator[int] | None = None,
                 producer_prefix: str | None = None) -> None:
        """`cluster`: with several clusters (active-active), the one these clients use; every op says so.
        `values`: a counter shared with the other clusters' workloads, so values are unique in the run.
        `producer_prefix`: names its producers `<prefix>-p<k>` (default: the cluster), e.g. dc1's clients after
        they failed over to dc2."""
        self.options = options
        self.bootstrap = bootstrap_servers
        self.history = history
        self.run_id = run_id
        self.logger = logger
        self.cluster = cluster
        self.producer_prefix = producer_prefix or cluster
        self._where: dict[str, Any] = {"cluster": cluster} if cluster else {}
        self.acknowledged: set[int] = set()  # values of ok sends (a mirror's final read waits for them)
        self._stop = threading.Event()
        self._values = values if values is not None else itertools.count()
        self._values_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def topic_spec(self) -> tuple[str, int, int, dict[str, str]]:
        o = self.options
        return o.topic, o.partitions, o.replication, o.topic_config()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.options.to_json()}

    # ---- run -------------------------------------------------------------------------------------------

    def start(self) -> None:
        for k in range(self.options.concurrency):
            self._spawn(f"producer-{k}", self._producer_loop, k)
        for k in range(self.options.consumers):
            self._spawn(f"consumer-{k}", self._consumer_loop, k)

    def _spawn(self, name: str, target: Any, k: int) -> None:
        thread = threading.Thread(target=target, args=(k,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask every client to finish its current op, and wait for them."""
        self._stop.set()
        limit = timeout if timeout is not None else self.options.delivery_timeout_ms / 1000 + 10
        deadline = time.monotonic() + limit
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))

    def _next_value(self) -> int:
        with self._values_lock:
            return next(self._values)

    def _producer_loop(self, k: int) -> None:
        producer = Producer({**self.options.producer_config(self.bootstrap), "logger": self.logger})
        handing_over = threading.Lock()
        lanes = [threading.Thread(target=self._producer_lane, args=(k, producer, handing_over, lane),
                                  name=f"producer-{k}-{lane}", daemon=True) for lane in range(1, self.options.pipeline)]
        for lane in lanes:
            lane.start()
        self._producer_lane(k, producer, handing_over, 0)
        for lane in lanes:
            lane.join()
        producer.flush(1)

    def _producer_lane(self, k: int, producer: Any, handing_over: threading.Lock, lane: int) -> None:
        """One process of producer k: one send outstanding at a time (one of `pipeline` sharing the client)."""
        o = self.options
        name = f"{self.producer_prefix}-p{k}" if self.producer_prefix else f"p{k}"
        single_attempt = o.retries == 0
        period = o.concurrency * o.pipeline / o.rate
        next_at = time.monotonic() + lane * period / o.pipeline
        process = self.history.new_process()
        while not self._stop.is_set():
            next_at += period
            if self._stop.wait(max(0.0, next_at - time.monotonic())):
                break
            value = self._next_value()
            partition = k % o.partitions  # pinned: a stalled partition stalls only its own producers
            sent = {"topic": o.topic, "value": value, "producer": name, "partition": partition, **self._where}
            type_, completed, error = self._send_one(producer, sent, single_attempt, process, handing_over)
            self.history.record(process, type_, "send", completed, error)
            if type_ == "ok":
                self.acknowledged.add(value)
            if type_ == "info":
                process = self.history.new_process()
            next_at = max(next_at, time.monotonic() - period)  # no burst to "catch up" after a stall

    def _send_one(self, producer: Any, base: dict[str, Any], single_attempt: bool, process: int,
                  handing_over: threading.Lock) -> tuple[str, dict[str, Any], str | None]:
        """Invoke and produce one record, then wait for its delivery report: (type, completed value, error)."""
        o = self.options
        value, partition = base["value"], base["partition"]
        report: dict[str, Any] = {}
        done = threading.Event()

        def delivered(err: KafkaError | None, msg: Any) -> None:
            report["err"], report["msg"] = err, msg
            done.set()

        try:
            with handing_over:
                self.history.invoke(process, "send", base)
                producer.produce(o.topic, value=str(value).encode(), partition=partition, on_delivery=delivered)
        except BufferError:
            return "fail", base, "local-queue-full"
        except KafkaException as error:
            outcome = classify_send_error(error.args[0], single_attempt)
            return outcome.type, base, outcome.error
        deadline = time.monotonic() + o.delivery_timeout_ms / 1000 + 5
        while not done.is_set() and time.monotonic() < deadline:
            producer.poll(0.05)
        if not done.is_set():
            return "info", base, "no-delivery-report"
        if report["err"] is not None:
            outcome = classify_send_error(report["err"], single_attempt)
            return outcome.type, base, outcome.error
        msg = report["msg"]
        if msg.offset() is None or msg.offset() < 0:
            # Written, but the broker did not say where: an idempotent retry of a batch that left the broker's
            # window of the last 5 (DUPLICATE_SEQUENCE_NUMBER). Without an offset the checker cannot place it.
            return "info", base, "acknowledged-without-offset"
        return "ok", {**base, "partition": msg.partition(), "offset": msg.offset()}, None

    def _consumer(self, group_suffix: str) -> Any:
        return Consumer({
            "bootstrap.servers": self.bootstrap,
            "group.id": f"harness-{self.run_id}-{group_suffix}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "session.timeout.ms": 10_000,
            "logger": self.logger,
        })

    def _assign_all(self, consumer: Any, process: int) -> None:
        o = self.options
        parts = list(range(o.partitions))
        value = {"topic": o.topic, "partitions": parts, **self._where}
        self.history.invoke(process, "assign", value)
        consumer.assign([TopicPartition(o.topic, p, OFFSET_BEGINNING) for p in parts])
        self.history.record(process, "ok", "assign", value)

    def _poll_once(self, consumer: Any, process: int, timeout: float = 0.5) -> list[dict[str, Any]] | None:
        """One `poll` op; None when it ended in info (the caller must switch process)."""
        self.history.invoke(process, "poll", None)
        try:
            messages = consumer.consume(500, timeout)
        except KafkaException as error:
            self.history.record(process, "info", "poll", None, error.args[0].name().lower())
            return None
        records = records_of(messages)  # transient fetch errors arrive as messages; librdkafka retries them
        self.history.record(process, "ok", "poll", {"records": records, **self._where})
        return records

    def _consumer_loop(self, k: int) -> None:
        while not self._stop.is_set():
            consumer = self._consumer(f"c{k}")
            process = self.history.new_process()
            try:
                self._assign_all(consumer, process)
                while not self._stop.is_set():
                    if self._poll_once(consumer, process) is None:
                        break
            finally:
                consumer.close()

    # ---- final read --------------------------------------------------------------------------------------

    def drain(self, timeout: float, healed: bool = True) -> bool:
        """Read every partition to its high watermark with a fresh consumer; one `drain` op per partition.

        A partition whose high watermark cannot be learned, or that is not read up to it in time, gets a `drain`
        info: the checker then cannot claim that anything below it was lost.
        """
        o = self.options
        deadline = time.monotonic() + timeout
        consumer = self._consumer("drain")
        process = self.history.new_process()
        try:
            marks = self._watermarks(consumer, deadline)
            high = {p: hw for p, (_, hw) in marks.items()}
            self._assign_all(consumer, process)
            # Next offset to read: nothing exists below the log start (retention may have deleted it all).
            read_up_to = {p: marks[p][0] if p in marks else 0 for p in range(o.partitions)}
            while any(read_up_to[p] < hw for p, hw in high.items()) and time.monotonic() < deadline:
                records = self._poll_once(consumer, process, timeout=1.0)
                if records is None:
                    break
                for r in records:
                    read_up_to[r["partition"]] = max(read_up_to[r["partition"]], r["offset"] + 1)
            drained = [record_drain(self.history, process, {"topic": o.topic, "partition": p,
                                                            "high_watermark": high.get(p), **self._where},
                                    read_up_to[p], healed) for p in range(o.partitions)]
            return all(drained)
        finally:
            consumer.close()

    def _watermarks(self, consumer: Any, deadline: float) -> dict[int, tuple[int, int]]:
        """(log start, high watermark) of every partition we can learn before the deadline (retrying while
        brokers recover)."""
        high: dict[int, tuple[int, int]] = {}
        while len(high) < self.options.partitions and time.monotonic() < deadline:
            for p in range(self.options.partitions):
                if p in high:
                    continue
                try:
                    high[p] = consumer.get_watermark_offsets(TopicPartition(self.options.topic, p), timeout=5,
                                                             cached=False)
                except KafkaException:
                    continue  # leaderless or unreachable right now; try again until the deadline
            if len(high) < self.options.partitions:
                time.sleep(1)
        return high

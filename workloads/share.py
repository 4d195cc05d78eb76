"""The share workload (KIP-932, "queues for Kafka"): queue-style producers fill a topic while the members of one
share group take records from it and acknowledge each one: accept, release (deliver it again) or reject.

Each member is one process: `share-subscribe`, then pairs of `share-poll` (the records the broker handed over,
each acquired under a lock of `lock_duration_ms`, with its delivery count) and `share-ack` (what the member
answered for them, committed with commit_sync: only acks of an `ok` op without an `error` were applied). In
`implicit` mode the client accepts everything the previous poll returned; commit_sync is still called after each
poll, so each ack has an honest completion. A member whose poll or ack ended in `info` is closed, and a new
member, a new process, joins in its place.

Stalls (`stall`, seeded): a member that got records stops for `stall` seconds before acknowledging them, past its
acquisition locks when `stall` > the lock duration, so the broker hands the records to another member; its late
acks must then be refused. A stall is recorded as a `start-stall-member` / `stop-stall-member` fault.

The group's configuration (`share.auto.offset.reset=earliest`, so the group owes every record; the lock duration
and the delivery count limit) is set on the GROUP resource before any member joins; the brokers' bounds for it
(`group.share.min/max.record.lock.duration.ms`, `group.share.min/max.delivery.count.limit`) come from
broker_config(). Share groups need the `share.version` feature at 1, the default of a cluster formatted by 4.2 or
later: start() refuses, with one line, a cluster that has it off.

At the end a last member accepts everything the group still delivers until nothing comes for longer than a lock
duration (`share-drain`), and a plain consumer drains every partition to its high watermark (`drain`).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import AcknowledgeType, KafkaException, ShareConsumer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from core.errors import HarnessError
from infra.recorder import HistoryRecorder
from workloads.options import ClientOptions
from workloads.queue import QueueWorkload
from workloads.records import close_quietly, decode, error_name

NEMESIS = "nemesis"
MODES = ("explicit", "implicit")
ACK_TYPES = {"accept": AcknowledgeType.ACCEPT, "release": AcknowledgeType.RELEASE, "reject": AcknowledgeType.REJECT}
DELIVERY_LIMIT_CONFIG = "share.delivery.count.limit"  # a group config from Kafka 4.3 on


@dataclass(frozen=True)
class ShareOptions:
    topic: str = "jepsen-share"
    members: int | None = None  # members at a time; None: the queue's --consumers, at least 2
    ack_mode: str = "explicit"  # explicit (accept/release/reject per record) | implicit (accept all)
    accept: float = 0.8  # explicit mode: the mix of answers, as weights
    release: float = 0.15
    reject: float = 0.05
    lock_duration_ms: int = 10_000  # share.record.lock.duration.ms of the group
    delivery_count_limit: int = 5  # share.delivery.count.limit of the group
    stall: float = 0.0  # seconds a member holds records without answering (0: never)
    stall_probability: float = 0.05  # with stall > 0: the share of non-empty polls a stall follows
    final_idle: float | None = None  # share-drain: quiet seconds that end it; None: lock duration + 50 s
    final_read_timeout: float = 150.0
    setup_timeout: float = 60.0  # start(): the group config must be accepted within this
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ack_mode not in MODES:
            raise HarnessError(f"--share-ack-mode {self.ack_mode!r} is not one of {', '.join(MODES)}")
        if self.members is not None and self.members < 1:
            raise HarnessError("the share workload needs at least one member")
        if min(self.accept, self.release, self.reject) < 0 or self.accept + self.release + self.reject <= 0:
            raise HarnessError("share: the accept/release/reject mix needs weights of 0 or more, not all 0")
        if not 1_000 <= self.lock_duration_ms <= 3_600_000:
            raise HarnessError(f"--share-lock-duration {self.lock_duration_ms} ms is outside 1 s to 1 h")
        if not 2 <= self.delivery_count_limit <= 10:
            raise HarnessError(f"--share-delivery-limit {self.delivery_count_limit} is outside Kafka's 2 to 10",
                               hint="group.share.min/max.delivery.count.limit bound it on the brokers")
        if not 0 <= self.stall < 3600 or not 0.0 <= self.stall_probability <= 1.0:
            raise HarnessError("share: stall must be 0 to 3600 seconds, stall_probability in [0, 1]")

    @property
    def idle(self) -> float:
        # Well past every lock and a fresh member's join (heartbeats every 5 s): a share-partition that
        # delivers nothing for this long after every fault healed is not just slow.
        return self.final_idle if self.final_idle is not None else self.lock_duration_ms / 1000 + 50

    def group_config(self) -> dict[str, str]:
        """What the GROUP resource gets (incrementalAlterConfigs): group configs, not the brokers' group.share.*."""
        return {"share.auto.offset.reset": "earliest",
                "share.record.lock.duration.ms": str(self.lock_duration_ms),
                DELIVERY_LIMIT_CONFIG: str(self.delivery_count_limit)}

    def broker_config(self) -> dict[str, int]:
        """The brokers' bounds on the group's values: Kafka refuses a group lock duration outside
        [group.share.min.record.lock.duration.ms (15 s), group.share.max.record.lock.duration.ms (60 s)] with
        INVALID_CONFIG, so both are widened to take this one; the delivery limit's bounds are Kafka's (2 to 10)."""
        return {"group.share.min.record.lock.duration.ms": min(15_000, self.lock_duration_ms),
                "group.share.max.record.lock.duration.ms": max(60_000, self.lock_duration_ms),
                # 4.2 has no group config for the limit (share.delivery.count.limit came in 4.3): there the
                # brokers' own default is the group's limit, so it is set too (on 4.3+ the group config wins).
                "group.share.delivery.count.limit": self.delivery_count_limit}

    def controller_config(self) -> dict[str, int]:
        """The KRaft controllers validate a GROUP resource's configs (incrementalAlterConfigs is forwarded to
        them) against their own group.share.* bounds: the same as the brokers' (seen on 4.3.1: a broker with the
        lowered bound and a controller without it refuse the config)."""
        return self.broker_config()

    def check_node_config(self, configs: dict[str, dict[str, object]]) -> None:
        """A topology's own group.share.* bounds win over the widened ones (broker_config), so a lock duration or
        delivery limit outside them would be refused by Kafka only once the cluster runs: refuse it here.
        `configs`: where -> that node config (the topology's brokers, each DC's brokers, its controllers)."""
        for where, config in configs.items():
            for value, low, high, flag in (
                    (self.lock_duration_ms, "group.share.min.record.lock.duration.ms",
                     "group.share.max.record.lock.duration.ms", "--share-lock-duration"),
                    (self.delivery_count_limit, "group.share.min.delivery.count.limit",
                     "group.share.max.delivery.count.limit", "--share-delivery-limit")):
                least, most = config.get(low), config.get(high)
                if (least is not None and value < int(str(least))) or (most is not None and value > int(str(most))):
                    raise HarnessError(f"{flag} {value} is outside the topology's {where} bounds "
                                       f"{low}={least}, {high}={most}",
                                       hint="Kafka would refuse the share group's config once the cluster runs")

    def answers(self) -> tuple[list[str], list[float]]:
        if self.ack_mode == "implicit":
            return ["accept"], [1.0]
        return ["accept", "release", "reject"], [self.accept, self.release, self.reject]


class ShareWorkload:
    name = "share"
    checker = "share"

    def __init__(self, options: ClientOptions, bootstrap_servers: str, history: HistoryRecorder, run_id: str,
                 logger: Any, share: ShareOptions | None = None) -> None:
        self.share = share or ShareOptions()
        self.options = replace(options, topic=self.share.topic)
        self.members = self.share.members or max(2, options.consumers)
        # The producers and the final plain drain are the queue workload's; its own consumers stay off.
        self.queue = QueueWorkload(replace(self.options, consumers=0), bootstrap_servers, history, run_id, logger)
        self.bootstrap = bootstrap_servers
        self.history = history
        self.logger = logger
        self.group = f"harness-{run_id}-share"
        self.share_group = self.group  # what the share-coordinator nemeses aim at
        self.group_config = self.share.group_config()  # what the GROUP resource was given (less on Kafka 4.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rng = random.Random(self.share.seed)
        self._rng_lock = threading.Lock()

    def topic_spec(self) -> tuple[str, int, int, dict[str, str]]:
        return self.queue.topic_spec()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.options.to_json(), "members": self.members, "group": self.group,
                "group_config": self.group_config}

    # ---- run -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Configure the group, then start producers and members. Raises HarnessError, with nothing left
        running, when the cluster refuses the group's configuration or share consumers."""
        self._configure_group()
        consumers = []
        try:
            for _ in range(self.members):
                consumers.append(self._consumer())
        except KafkaException as error:
            for consumer in consumers:
                close_quietly(consumer)
            raise HarnessError(f"share workload: a share consumer could not be created: {error_name(error)}",
                               hint="share groups need Kafka 4.1+ with the share.version feature at 1") from None
        self.queue.start()
        for slot, consumer in enumerate(consumers):
            thread = threading.Thread(target=self._member_loop, args=(slot, consumer), name=f"share-{slot}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    def _configure_group(self) -> None:
        """Set the group's configs on its GROUP resource, retrying while the cluster warms up; a refusal the
        cluster will not change its mind about (INVALID_CONFIG, UNSUPPORTED_VERSION) ends the run at once."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "logger": self.logger})
        deadline = time.monotonic() + self.share.setup_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                       for k, v in self.group_config.items()]
            resource = ConfigResource(ResourceType.GROUP, self.group, incremental_configs=entries)
            try:
                admin.incremental_alter_configs([resource], request_timeout=10)[resource].result(timeout=15)
                return
            except KafkaException as error:
                last = error_name(error)
                detail = str(error.args[0].str()) if error.args and hasattr(error.args[0], "str") else str(error)
                if last == "invalid-config" and f"name: {DELIVERY_LIMIT_CONFIG}" in detail:
                    # Kafka 4.2 knows no such group config; the brokers' group.share.delivery.count.limit,
                    # set to the same value (ShareOptions.broker_config), is the group's limit there.
                    self.logger.info("share workload: %s unknown to the cluster (Kafka 4.2): the brokers' "
                                     "group.share.delivery.count.limit carries the limit", DELIVERY_LIMIT_CONFIG)
                    self.group_config = {k: v for k, v in self.group_config.items() if k != DELIVERY_LIMIT_CONFIG}
                    continue
                if last in ("invalid-config", "invalid-request", "unsupported-version", "policy-violation"):
                    raise HarnessError(f"share workload: Kafka refused the group config {self.group_config} "
                                       f"({last}: {detail})", hint="the brokers' group.share.min/max.* bounds it; "
                                       "share groups need the share.version feature at 1") from None
            time.sleep(1)
        raise HarnessError(f"share workload: the group config was not accepted in {self.share.setup_timeout:g} s "
                           f"(last error: {last})")

    def _consumer(self) -> Any:
        return ShareConsumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                              "share.acknowledgement.mode": self.share.ack_mode, "logger": self.logger})

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        limit = timeout if timeout is not None else 20.0
        deadline = time.monotonic() + limit
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.queue.stop(max(0.1, deadline - time.monotonic()) if timeout is not None else None)

    def _subscribe(self, consumer: Any, process: int) -> None:
        s = self.share
        value = {"topics": [s.topic], "group": self.group, "ack_mode": s.ack_mode,
                 "lock_duration_ms": s.lock_duration_ms, "delivery_count_limit": s.delivery_count_limit}
        self.history.invoke(process, "share-subscribe", value)
        consumer.subscribe([s.topic])
        self.history.record(process, "ok", "share-subscribe", value)

    def _member_loop(self, slot: int, consumer: Any) -> None:
        while not self._stop.is_set():
            process = self.history.new_process()
            try:
                self._subscribe(consumer, process)
                while not self._stop.is_set():
                    got = self._poll(consumer, process)
                    if got is None:
                        break
                    if got and self._stalls():
                        self._stall(process)
                    if got and not self._ack(consumer, process, got, self._answer):
                        break
            finally:
                close_quietly(consumer)
            if not self._stop.is_set():
                consumer = self._consumer()

    def _poll(self, consumer: Any, process: int, timeout: float = 0.5) -> list[Any] | None:
        """One `share-poll` op: the messages acquired (error events left out); None when it ended in info."""
        self.history.invoke(process, "share-poll", {"group": self.group})
        try:
            messages = [m for m in consumer.poll(timeout) if m.error() is None]
        except KafkaException as error:
            self.history.record(process, "info", "share-poll", {"group": self.group}, error_name(error))
            return None
        records = [{"topic": m.topic(), "partition": m.partition(), "offset": m.offset(), "value": decode(m.value()),
                    "delivery_count": m.delivery_count()} for m in messages]
        self.history.record(process, "ok", "share-poll", {"group": self.group, "records": records})
        return messages

    def _answer(self) -> str:
        kinds, weights = self.share.answers()
        with self._rng_lock:
            return self._rng.choices(kinds, weights)[0]

    def _stalls(self) -> bool:
        if self.share.stall <= 0:
            return False
        with self._rng_lock:
            return self._rng.random() < self.share.stall_probability

    def _stall(self, process: int) -> None:
        value = {"nemesis": "stall-member", "fault": f"stall-member-{process}", "targets": [process],
                 "group": self.group, "seconds": self.share.stall}
        self.history.invoke(NEMESIS, "start-stall-member", value)
        self.history.record(NEMESIS, "info", "start-stall-member", value)
        self._stop.wait(self.share.stall)
        self.history.invoke(NEMESIS, "stop-stall-member", value)
        self.history.record(NEMESIS, "info", "stop-stall-member", value)

    def _ack(self, consumer: Any, process: int, messages: list[Any], answer: Any) -> bool:
        """One `share-ack` op answering every message of the last poll; False when it ended in info."""
        acks = []
        explicit = self.share.ack_mode == "explicit"
        for m in messages:
            kind = answer() if explicit else "accept"  # implicit: commit_sync accepts what the last poll returned
            if explicit:
                consumer.acknowledge(m, ACK_TYPES[kind])
            acks.append({"topic": m.topic(), "partition": m.partition(), "offset": m.offset(), "type": kind})
        self.history.invoke(process, "share-ack", {"group": self.group, "acks": acks})
        try:
            results = consumer.commit_sync(15)
        except KafkaException as error:
            self.history.record(process, "info", "share-ack", {"group": self.group, "acks": acks}, error_name(error))
            return False
        refused = {(tp.topic, tp.partition): error_name(e) for tp, e in (results or {}).items() if e is not None}
        done = [{**a, "error": refused[(a["topic"], a["partition"])]} if (a["topic"], a["partition"]) in refused
                else a for a in acks]
        self.history.record(process, "ok", "share-ack", {"group": self.group, "acks": done})
        return True

    # ---- final read --------------------------------------------------------------------------------------

    def drain(self, timeout: float, healed: bool = True) -> bool:
        shared = self._share_drain(min(timeout, self.share.final_read_timeout), healed)
        return self.queue.drain(timeout, healed) and shared

    def _share_drain(self, timeout: float, healed: bool) -> bool:
        """A last member accepts all the group still delivers, until nothing came for `idle` seconds: then a
        `share-drain` ok says the group had nothing left to deliver (every lock of the test's members expired)."""
        deadline = time.monotonic() + timeout
        value = {"group": self.group, "topic": self.share.topic, "idle_ms": int(self.share.idle * 1000)}
        process = self.history.new_process()
        consumer = self._consumer()
        try:
            self._subscribe(consumer, process)
            quiet_since = time.monotonic()
            while time.monotonic() < deadline and time.monotonic() - quiet_since < self.share.idle:
                got = self._poll(consumer, process, timeout=1.0)
                if got is None:
                    process = self.history.new_process()
                    close_quietly(consumer)
                    consumer = self._consumer()
                    self._subscribe(consumer, process)
                    continue
                if got:
                    quiet_since = time.monotonic()
                    if not self._ack(consumer, process, got, lambda: "accept"):
                        process = self.history.new_process()
                        close_quietly(consumer)
                        consumer = self._consumer()
                        self._subscribe(consumer, process)
            idle = time.monotonic() - quiet_since >= self.share.idle
            self.history.invoke(process, "share-drain", value)
            if idle and healed:
                self.history.record(process, "ok", "share-drain", value)
                return True
            self.history.record(process, "info", "share-drain", value,
                                "the ISR was not full again" if idle else "the group kept delivering until the timeout")
            return False
        finally:
            close_quietly(consumer)

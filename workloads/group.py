"""The group workload: queue-style producers fill a topic while consumers in one consumer group read it,
join, leave and crash, so that partitions really move between members.

Each member is one process: `subscribe`, then `poll` ops, `commit` ops and the `rebalance` ops its callbacks
report (on_assign, on_revoke, on_lost). A rebalance callback runs inside the client's poll, while a `poll` op is
under way; the member then completes that poll with the records it has so far, records the rebalance (and, in
manual mode, the commit of what it processed in the revoked partitions), and begins a new poll. The client
returns one message per poll() call, so a record returned after a callback came after it.

Commits: by default auto-commit is off and a member commits what it has processed (recorded) every
`commit_interval` seconds and when partitions are revoked: at-least-once. With `auto_commit` the client commits
in the background and the member records each commit its on_commit callback reports.

Processing: a `poll` op lists the records the application processed during it. By default that is every record
the client returned, at once. With `process_delay` the application finishes each record that many seconds after
the client returned it (a worker pool, a batch written elsewhere): the record waits in the member's memory, and
auto-commit, which commits what the client returned, can commit it before it is processed. A member that leaves,
or whose partitions are revoked, first finishes what it holds for them; one that crashes loses it.

Churn (seeded): every `churn_interval` seconds one member either leaves (commits, closes, leaves the group at
once) or crashes, and a new member with a new process id joins in its place. A crash records nothing more: the
process stops without finishing its work and closes its consumer without a final manual commit (its processed but
uncommitted records go to the next owner again; with auto-commit, close() commits what poll() returned, as an
application that exits without draining its processing does), or, when abandoned (opt-in, see
`abandon_on_crash`), it just stops polling and the group notices when its max.poll.interval.ms runs out.
A crash is a fault the harness injects, so it is recorded as one: `start-crash-member` / `stop-crash-member`
nemesis events (until the close, or until the group gave up on an abandoned member), which the checker's
evidence and the report show like any other fault.

Protocols (`group_protocol`): `classic` (JoinGroup/SyncGroup, client-side session timeout and assignor), `consumer`
(KIP-848: the coordinator assigns and owns the session timeout, `group.consumer.session.timeout.ms` on the
broker), or `mixed` (even member slots on the consumer protocol, odd ones on the classic one, in one group). Each
member records its protocol on `subscribe`, and its member id and generation on every `rebalance` and `commit`:
the generation is the one librdkafka keeps in the consumer's group metadata, which on the consumer protocol is the
member epoch (librdkafka has no call for the epoch itself; `consumer_group_metadata()` is its serialised form).

Stalls (`stall`, seeded, on churn turns): a member stops polling for `stall` seconds while holding its partitions
(an application stuck in processing), then, before polling again, commits what it had processed: the commit of a
member the group may have given up on. librdkafka heartbeats from a thread of its own, so a stall does not stop
heartbeats: what runs out is `max.poll.interval.ms` (the client then leaves the group itself), not the session
timeout; a stall is recorded as a `start-stall-member` / `stop-stall-member` fault. Pausing the broker that is the
group coordinator (`--nemesis pause`, `kill`, `partition-node`) is what stops a member's heartbeats from reaching it.

A member whose poll or commit ended in `info` records nothing more (a process acts no more after an info): it is
closed and a new member, a new process, joins in its place.

At the end a last member joins the group and reads every partition to its high watermark from the group's
committed offsets; then a plain consumer drains the topic from the beginning and records `drain` ops.
"""

from __future__ import annotations

import random
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from core.errors import HarnessError
from infra.recorder import HistoryRecorder
from workloads.options import ClientOptions
from workloads.queue import QueueWorkload
from workloads.records import await_coordinator, close_quietly, error_name, high_watermarks, kafka_error, records_of

NEMESIS = "nemesis"  # the history's process for faults: a member crash is one

# Commit errors the client raises before anything reaches the coordinator; every other error is `info` (the
# client may have retried an attempt that did land).
_LOCAL_COMMIT_ERRORS = {KafkaError._NO_OFFSET, KafkaError._ASSIGNMENT_LOST, KafkaError._STATE,
                        KafkaError._INVALID_ARG}
# A fencing error (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_MEMBER_EPOCH, STALE_MEMBER_EPOCH) stays `info`
# too: the coordinator refused this attempt, but an earlier attempt the client retried may have landed. The checker
# reads the error as a sign that the member had been fenced.
PROTOCOLS = ("classic", "consumer", "mixed")


@dataclass(frozen=True)
class GroupOptions:
    topic: str = "jepsen-group"
    members: int | None = None  # members at a time; None: the queue's --consumers, at least 2
    auto_commit: bool = False
    commit_interval: float = 1.0  # manual mode: commit what was processed this often, and on revoke
    auto_commit_interval_ms: int = 1_000
    churn_interval: float = 5.0  # one member leaves or crashes, and a new one joins, this often
    crash_probability: float = 0.5
    # Abandoning (no close) is opt-in: closing a consumer the group already gave up on later can deadlock the whole
    # process inside confluent-kafka (its rebalance callback calls rd_kafka_assign from within close(), holding
    # the GIL; seen with confluent-kafka 2.x). None: close at once.
    abandon_on_crash: bool | None = None
    session_timeout_ms: int = 6_000  # the broker's group.min.session.timeout.ms
    max_poll_interval_ms: int = 8_000  # how long a crashed (silent) member holds its partitions
    final_read_timeout: float = 45.0
    ready_timeout: float = 90.0  # start() waits this long at most for the group coordinator
    process_delay: float = 0.0  # seconds from the client returning a record to the application finishing it
    # Java driver: seconds the application spends on each batch poll() returned before it records the batch and
    # polls again (a plain poll loop, processing blocks polling); a crash meanwhile loses the batch unprocessed
    process_time: float = 0.0
    group_protocol: str = "classic"  # classic | consumer (KIP-848) | mixed (even slots consumer, odd classic)
    stall: float = 0.0  # seconds a member stops polling on a churn turn (0: never), then commits what it processed
    stall_probability: float = 0.5  # with stall > 0: the share of churn turns that stall a member
    seed: int = 0

    def __post_init__(self) -> None:
        if self.members is not None and self.members < 1:
            raise HarnessError("the group workload needs at least one member")
        if not 0.0 <= self.crash_probability <= 1.0 or self.churn_interval <= 0 or self.commit_interval <= 0:
            raise HarnessError("group: crash_probability in [0, 1], churn and commit intervals positive")
        if not 0 <= self.process_delay < 3600 or not 0 <= self.process_time < 3600:
            raise HarnessError("group: process_delay and process_time must be 0 to 3600 seconds")
        if self.max_poll_interval_ms < self.session_timeout_ms:
            raise HarnessError("group: max_poll_interval_ms must be at least session_timeout_ms")
        if self.group_protocol not in PROTOCOLS:
            raise HarnessError(f"--group-protocol {self.group_protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if not 0 <= self.stall < 3600 or not 0.0 <= self.stall_probability <= 1.0:
            raise HarnessError("group: stall must be 0 to 3600 seconds, stall_probability in [0, 1]")

    def protocol_of(self, slot: int) -> str:
        """The protocol of member slot `slot`: mixed groups alternate, starting with the consumer protocol."""
        if self.group_protocol != "mixed":
            return self.group_protocol
        return "consumer" if slot % 2 == 0 else "classic"

    def broker_config(self) -> dict[str, int]:
        """What the brokers need for this group: on the consumer protocol the session timeout is the broker's
        (`group.consumer.session.timeout.ms`, default 45 s and at least `group.consumer.min.session.timeout.ms`,
        also 45 s): set both to the classic members' client-side session timeout, and the heartbeat interval to
        theirs, so both protocols notice a silent member equally fast."""
        if self.group_protocol == "classic":
            return {}
        return {"group.consumer.min.session.timeout.ms": self.session_timeout_ms,
                "group.consumer.session.timeout.ms": self.session_timeout_ms,
                "group.consumer.min.heartbeat.interval.ms": 1_000, "group.consumer.heartbeat.interval.ms": 1_000}


def commit_value(group: str, topic: str, offsets: dict[int, int]) -> dict[str, Any]:
    return {"group": group, "offsets": [{"topic": topic, "partition": p, "offset": o}
                                        for p, o in sorted(offsets.items())]}


def rebalance_value(assigned: list[TopicPartition], revoked: list[TopicPartition],
                    lost: bool = False) -> dict[str, Any]:
    value: dict[str, Any] = {"assigned": sorted([tp.topic, tp.partition] for tp in assigned),
                             "revoked": sorted([tp.topic, tp.partition] for tp in revoked)}
    if lost:
        value["lost"] = True  # taken away by the coordinator (session or poll interval ran out), not handed over
    return value


def commit_outcome(error: KafkaError | None) -> str:
    if error is None:
        return "ok"
    return "fail" if error.code() in _LOCAL_COMMIT_ERRORS else "info"


def churn_plan(rng: random.Random, members: int, crash_probability: float,
               stall_probability: float = 0.0) -> tuple[int, str]:
    """Which member goes next, and how: ("leave" | "crash" | "stall")."""
    slot = rng.randrange(members)
    if stall_probability and rng.random() < stall_probability:
        return slot, "stall"
    return slot, "crash" if rng.random() < crash_probability else "leave"


_CGMD_MAGIC = b"CGMDv2:"


def membership(consumer: Any) -> dict[str, Any]:
    """The member id and generation librdkafka reports now (on the consumer protocol the generation is the
    member epoch), from its serialised group metadata: "CGMDv2:", the generation (int32, host order), then the
    group id and the member id, NUL-terminated. {} when the client does not say (a fake, an older format)."""
    try:
        raw = consumer.consumer_group_metadata()
    except (AttributeError, KafkaException, RuntimeError):
        return {}
    if not isinstance(raw, bytes) or not raw.startswith(_CGMD_MAGIC) or len(raw) < len(_CGMD_MAGIC) + 4:
        return {}
    (generation,) = struct.unpack_from("=i", raw, len(_CGMD_MAGIC))
    fields = raw[len(_CGMD_MAGIC) + 4:].split(b"\0")
    if len(fields) < 2:
        return {}
    return {"member_id": fields[1].decode(errors="replace"), "generation": generation}


class Member:
    """One consumer in the group, one process; its callbacks record what the coordinator did to it."""

    def __init__(self, workload: GroupWorkload, protocol: str = "classic") -> None:
        self.w = workload
        self.protocol = protocol
        self.history = workload.history
        self.process = self.history.new_process()
        self.processed: dict[int, int] = {}  # partition -> next offset, after the last record recorded
        self.committed: dict[int, int] = {}
        self.records: list[dict[str, Any]] | None = None  # the poll op under way
        self.held: list[tuple[float, dict[str, Any]]] = []  # (processed at, record): returned, not yet processed
        self.alive = True  # False once crashed or after an info: its client may call back; it records nothing
        self.last_commit = time.monotonic()
        config = workload.consumer_config(protocol)
        if workload.group_options.auto_commit:
            config["on_commit"] = self._auto_committed
        self.consumer = workload.consumer_factory(config)

    # ---- ops ---------------------------------------------------------------------------------------------

    def subscribe(self) -> None:
        value = {"topics": [self.w.topic], "group": self.w.group, "offset_reset": "earliest", "protocol": self.protocol}
        self.history.invoke(self.process, "subscribe", value)
        self.consumer.subscribe([self.w.topic], on_assign=self._assigned, on_revoke=self._revoked,
                                on_lost=self._lost)
        self.history.record(self.process, "ok", "subscribe", value)

    def poll(self, duration: float = 0.5, most: int = 200) -> bool:
        """One `poll` op (split by any rebalance during it); False once this member may act no more (the poll,
        or a commit in a callback during it, ended in info): the caller replaces it."""
        self.records = []
        self.history.invoke(self.process, "poll", None)
        deadline = time.monotonic() + duration
        delay = self.w.group_options.process_delay
        try:
            while self.alive and len(self.records) < most and (left := deadline - time.monotonic()) > 0:
                message = self.consumer.poll(left)
                if message is not None and self.records is not None:
                    if delay:
                        ready = time.monotonic() + delay
                        self.held.extend((ready, r) for r in records_of([message]))
                    else:
                        self.records.extend(records_of([message]))
        except KafkaException as error:
            if self.alive:
                self.history.record(self.process, "info", "poll", None, error_name(error))
            self.alive = False
        if not self.alive:
            self.records = None
            return False
        self._end_poll()
        return True

    def _end_poll(self, finish: Callable[[int], bool] = lambda partition: False) -> None:
        """Complete the poll op with what was processed: the records returned during it, or (with a process
        delay) the held records that are due, and those of partitions `finish` says to finish now."""
        records, self.records = self.records or [], None
        if self.held:
            now = time.monotonic()
            records += [r for ready, r in self.held if ready <= now or finish(r["partition"])]
            self.held = [(ready, r) for ready, r in self.held if not (ready <= now or finish(r["partition"]))]
        self.history.record(self.process, "ok", "poll", {"records": records})
        for r in records:
            self.processed[r["partition"]] = r["offset"] + 1

    def finish_held(self) -> None:
        """Process everything held, in a poll op of its own (before leaving the group)."""
        if self.alive and self.held:
            self.records = []
            self.history.invoke(self.process, "poll", None)
            self._end_poll(lambda partition: True)

    def commit(self, partitions: list[int] | None = None) -> None:
        """Commit what was processed and not yet committed (manual mode)."""
        offsets = {p: o for p, o in self.processed.items()
                   if (partitions is None or p in partitions) and self.committed.get(p) != o}
        if not offsets:
            return
        value = {**commit_value(self.w.group, self.w.topic, offsets), **membership(self.consumer)}
        self.history.invoke(self.process, "commit", value)
        self.last_commit = time.monotonic()
        try:
            result = self.consumer.commit(offsets=[TopicPartition(self.w.topic, p, o) for p, o in offsets.items()],
                                          asynchronous=False)
            error = next((tp.error for tp in result or () if tp.error is not None), None)
        except KafkaException as failure:
            error = kafka_error(failure) or KafkaError(KafkaError._FAIL)
        type_ = commit_outcome(error)
        self.history.record(self.process, type_, "commit", value, None if error is None else error_name(error))
        if type_ == "ok":
            self.committed.update(offsets)
        elif type_ == "info":
            self.alive = False  # a process acts no more after an info; a new member takes over

    def leave(self) -> None:
        """Finish what it holds, commit and close: the member leaves the group at once (its revoke is recorded by
        the callback)."""
        self.finish_held()
        if self.alive and not self.w.group_options.auto_commit:
            self.commit()
        close_quietly(self.consumer)
        self.alive = False

    def crash(self, abandon: bool) -> None:
        """Stop here and record nothing more (held records are never processed); close without a commit, or
        abandon the consumer to be closed once the group gave up on it."""
        self.alive = False
        if not abandon:
            close_quietly(self.consumer)

    # ---- callbacks (inside poll() or close()) -------------------------------------------------------------

    def _interrupt(self, record: Callable[[], None], finish: Callable[[int], bool] = lambda partition: False) -> None:
        if not self.alive:
            return
        polling = self.records is not None
        if polling:
            self._end_poll(finish)
        elif any(finish(r["partition"]) for _, r in self.held):
            self.records = []
            self.history.invoke(self.process, "poll", None)
            self._end_poll(finish)
        record()
        if polling and self.alive:
            self.records = []
            self.history.invoke(self.process, "poll", None)

    def _rebalanced(self, value: dict[str, Any]) -> None:
        value.update(membership(self.consumer))
        self.history.invoke(self.process, "rebalance", value)
        self.history.record(self.process, "ok", "rebalance", value)

    def _assigned(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        self._interrupt(lambda: self._rebalanced(rebalance_value(partitions, [])))

    def _revoked(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        def record() -> None:
            if not self.w.group_options.auto_commit:
                self.commit([tp.partition for tp in partitions])
                if not self.alive:
                    return
            self._rebalanced(rebalance_value([], partitions))
            self._forget(partitions)
        revoked = {tp.partition for tp in partitions}
        self._interrupt(record, finish=revoked.__contains__)  # handed over: finish its records first

    def _lost(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        def record() -> None:
            self._rebalanced(rebalance_value([], partitions, lost=True))
            self._forget(partitions)
        self._interrupt(record)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        gone = {tp.partition for tp in partitions}
        for partition in gone:
            self.processed.pop(partition, None)
            self.committed.pop(partition, None)
        self.held = [(ready, r) for ready, r in self.held if r["partition"] not in gone]  # lost: another owns them

    def _auto_committed(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        offsets = {tp.partition: tp.offset for tp in partitions if tp.topic == self.w.topic and tp.offset >= 0}
        if not offsets:
            return
        failed = error or next((tp.error for tp in partitions if tp.error is not None), None)

        def record() -> None:
            value = {**commit_value(self.w.group, self.w.topic, offsets), **membership(self.consumer), "auto": True}
            outcome = commit_outcome(failed)
            self.history.invoke(self.process, "commit", value)
            self.history.record(self.process, outcome, "commit", value, None if failed is None else error_name(failed))
            self.alive = outcome != "info"
        self._interrupt(record)


class GroupWorkload:
    name = "group"
    checker = "group"

    def __init__(self, options: ClientOptions, bootstrap_servers: str, history: HistoryRecorder, run_id: str,
                 logger: Any, group: GroupOptions | None = None) -> None:
        self.options = options
        self.group_options = group or GroupOptions()
        self.topic = self.group_options.topic
        self.group = f"harness-{run_id}-group"
        self.bootstrap = bootstrap_servers
        self.history = history
        self.run_id = run_id
        self.logger = logger
        self.producers = QueueWorkload(replace(options, topic=self.topic, consumers=0), bootstrap_servers, history,
                                       run_id, logger)
        self.consumer_factory: Callable[[dict[str, Any]], Any] = Consumer  # tests put fakes here
        self.members = self.group_options.members or max(2, options.consumers)
        g = self.group_options
        self._abandon = bool(g.abandon_on_crash)
        self._stop = threading.Event()
        self._requests: dict[int, str] = {}  # member slot -> "leave" | "crash", set by the churn thread
        self._lock = threading.Lock()
        self._zombies: list[tuple[float, Any, dict[str, Any]]] = []  # (close after, consumer, fault) of crashes
        self._threads: list[threading.Thread] = []
        self.churned: dict[str, int] = {"leave": 0, "crash": 0, "stall": 0}

    def topic_spec(self) -> tuple[str, int, int, dict[str, str]]:
        o = self.options
        return self.topic, o.partitions, o.replication, o.topic_config()

    def to_json(self) -> dict[str, Any]:
        g = self.group_options
        return {"name": self.name, **self.options.to_json(), "topic": self.topic, "group": {
            "name": self.group, "members": self.members, "auto_commit": g.auto_commit,
            "commit_interval": g.commit_interval, "churn_interval": g.churn_interval,
            "crash_probability": g.crash_probability, "abandon_on_crash": self._abandon,
            "session_timeout_ms": g.session_timeout_ms, "max_poll_interval_ms": g.max_poll_interval_ms,
            "process_delay": g.process_delay, "process_time": g.process_time, "group_protocol": g.group_protocol,
            "stall": g.stall,
            "stall_probability": g.stall_probability, "seed": g.seed}}

    def consumer_config(self, protocol: str = "classic") -> dict[str, Any]:
        """On the consumer protocol the session timeout and heartbeat interval are the broker's
        (GroupOptions.broker_config); librdkafka refuses them client-side there."""
        g = self.group_options
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap, "group.id": self.group, "auto.offset.reset": "earliest",
            "enable.auto.commit": g.auto_commit, "auto.commit.interval.ms": g.auto_commit_interval_ms,
            "max.poll.interval.ms": g.max_poll_interval_ms, "socket.timeout.ms": 10_000,
            "enable.partition.eof": False, "logger": self.logger}
        if protocol == "consumer":
            config["group.protocol"] = "consumer"
        else:
            config.update({"session.timeout.ms": g.session_timeout_ms, "heartbeat.interval.ms": 1_000})
        return config

    # ---- run ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Once the group coordinator answers (see await_coordinator): producers, members, and the churn."""
        probe = self.consumer_factory(self.consumer_config())
        try:
            if not await_coordinator(probe, self.topic, self.group_options.ready_timeout):
                self.logger.warning("group coordinator of %s not ready after %.0f s; starting anyway", self.group,
                                    self.group_options.ready_timeout)
        finally:
            close_quietly(probe)
        self.producers.start()
        for k in range(self.members):
            self._spawn(f"member-{k}", self._slot, k)
        self._spawn("churn", self._churn, 0)

    def _spawn(self, name: str, target: Callable[[int], None], k: int) -> None:
        thread = threading.Thread(target=target, args=(k,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        limit = timeout if timeout is not None else 30.0
        deadline = time.monotonic() + limit
        self.producers.stop(limit)
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self._reap(everything=True)

    def _slot(self, k: int) -> None:
        manual, interval = not self.group_options.auto_commit, self.group_options.commit_interval
        while not self._stop.is_set():
            member = Member(self, self.group_options.protocol_of(k))
            member.subscribe()
            action = "leave"
            while member.alive and not self._stop.is_set():
                with self._lock:
                    action = self._requests.pop(k, "")
                if action == "stall":
                    self._stall(member)
                    continue
                if action:
                    break
                member.poll()
                if member.alive and manual and time.monotonic() - member.last_commit >= interval:
                    member.commit()
            healthy = member.alive
            if action == "crash" and healthy:
                fault = self._record_fault("start", "crash-member", member.process)
                member.crash(self._abandon)
                if self._abandon:
                    with self._lock:
                        self._zombies.append((time.monotonic() + self.group_options.max_poll_interval_ms / 1000 + 2,
                                              member.consumer, fault))
                else:
                    self._record_fault("stop", "crash-member", member.process)
            else:
                member.leave()

    def _stall(self, member: Member) -> None:
        """Stop polling (the partitions stay with the member as far as it knows), then commit what it processed
        before polling again: if the group gave up on it meanwhile, that is a fenced member's commit."""
        self._record_fault("start", "stall-member", member.process)
        self._stop.wait(self.group_options.stall)
        self._record_fault("stop", "stall-member", member.process)
        if not self.group_options.auto_commit:
            member.commit()

    def _churn(self, _: int) -> None:
        rng = random.Random(f"{self.group_options.seed}-churn")
        while not self._stop.wait(self.group_options.churn_interval):
            g = self.group_options
            slot, action = churn_plan(rng, self.members, g.crash_probability, g.stall_probability if g.stall else 0.0)
            with self._lock:
                if slot not in self._requests:  # a member stuck in a slow commit keeps its first request
                    self._requests[slot] = action
                    self.churned[action] += 1
            self._reap()

    def _reap(self, everything: bool = False) -> None:
        """Close crashed members' consumers once the group has given up on them (or all of them, at the end)."""
        now = time.monotonic()
        with self._lock:
            due = [(c, fault) for t, c, fault in self._zombies if everything or t <= now]
            self._zombies = [z for z in self._zombies if not (everything or z[0] <= now)]
        for consumer, fault in due:
            close_quietly(consumer)
            self._record_fault("stop", "crash-member", fault["targets"][0])

    def _record_fault(self, phase: str, nemesis: str, process: int) -> dict[str, Any]:
        f = f"{phase}-{nemesis}"
        value: dict[str, Any] = {"nemesis": nemesis, "fault": f"{nemesis}-{process}", "targets": [process],
                                 "group": self.group}
        if nemesis == "crash-member":
            value["abandoned"] = self._abandon
        else:
            value["seconds"] = self.group_options.stall
        self.history.invoke(NEMESIS, f, value)
        self.history.record(NEMESIS, "info", f, value)
        return value

    # ---- final reads -------------------------------------------------------------------------------------

    def drain(self, timeout: float, healed: bool = True) -> bool:
        """A last member reads the group's backlog to the end from its committed offsets; then a plain consumer
        reads everything from the beginning and records the `drain` ops (the queue workload's drain)."""
        deadline = time.monotonic() + timeout
        self._final_member(min(self.group_options.final_read_timeout, timeout / 2))
        return self.producers.drain(max(10.0, deadline - time.monotonic()), healed)

    def _final_member(self, timeout: float) -> bool:
        member = Member(self, self.group_options.protocol_of(0))
        try:
            high = high_watermarks(member.consumer, self.topic, self.options.partitions,
                                   time.monotonic() + timeout / 2)
            member.subscribe()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not member.poll(1.0):
                    return False
                assigned = {tp.partition for tp in member.consumer.assignment()}
                if assigned == set(high) and all(member.processed.get(p, self._position(member, p)) >= hw
                                                 for p, hw in high.items()):
                    return True
            return False
        finally:
            member.leave()

    def _position(self, member: Member, partition: int) -> int:
        [tp] = member.consumer.position([TopicPartition(self.topic, partition)])
        return int(tp.offset)

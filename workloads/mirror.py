"""The mirror workload: active-active clusters, one per DC, joined by MirrorMaker 2.

In every cluster, queue-style producers write the local topic `jepsen-aa` and consumers read it (the queue
workload, its ops marked with the cluster). MirrorMaker 2 copies each cluster's topic into every other cluster as
the remote topic `<source>.jepsen-aa` (the default replication policy). In every cluster a mirror reader follows
each remote topic from the beginning and records `mirror-poll` ops, so the checker can tell which acknowledged
records reached which cluster, in which order, how often and how late.

A DR drill adds a FailoverPlan: when a health check finds the home cluster gone, the failed DC's producers stop
and the same number start in the target cluster (named `<home>-failover-p<k>`), and its application consumer
group (`app`, which commits what it processed every second) moves to the target cluster and reads the mirrored
topic from the offsets MirrorMaker 2 translated (checkpoints, synced group offsets); once home answers again for
a while both return, the group resuming from its own committed offsets there. The moves are recorded as
`failover-clients` and `failback-clients` events of the nemesis process, so reports and the drill's figures can
place them.

The final read, after every fault healed: each cluster's local drain, then each remote topic is read until
every record acknowledged in its source has arrived, or MIRROR_SETTLE_S seconds pass without its high watermark
moving; each partition is then recorded as a `mirror-drain` (ok only if the run healed and it settled).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from infra.recorder import HistoryRecorder
from workloads.options import ClientOptions
from workloads.queue import QueueWorkload
from workloads.records import close_quietly, high_watermarks, records_of

TOPIC = "jepsen-aa"  # matches MirrorMaker 2's `topics = jepsen-.*` (infra/kafka_config.py)
# After a partition heals, MirrorMaker 2's clients notice dead connections only after their request timeouts
# (30 s), so the final read waits for every acknowledged source record, or for the remote high watermark to
# stand still this long, whichever comes first.
MIRROR_SETTLE_S = 45.0
COMMIT_TIMEOUT_S = 5.0  # an application's commit that takes longer counts as failed (unknown)


def remote_topic(source: str, topic: str = TOPIC) -> str:
    """The name MirrorMaker 2's default replication policy gives `topic` of cluster `source` elsewhere."""
    return f"{source}.{topic}"


@dataclass(frozen=True)
class FailoverPlan:
    """The failed DC's clients watch their home cluster as a health check would: from `watch_from` seconds
    after the start they ask it for metadata every `probe_interval`; after `failures` answers missed in a row
    they fail over, and once home has answered for `failback_after` seconds straight they fail back."""

    home: str  # the DC that fails: its clients move away and come back
    to: str  # the cluster they move to
    watch_from: float  # seconds after the workload started
    failures: int = 2
    failback_after: float = 10.0
    probe_interval: float = 1.0


class AppConsumer:
    """The home DC's application: one consumer of group `app-<home>`, processing (recording) each record as it
    arrives and committing what it processed every second. It follows the plan's moves: home topic, then the
    mirrored topic in the target cluster from MirrorMaker 2's translated offsets (read, not committed), then
    home again from the group's own committed offsets there."""

    def __init__(self, workload: MirrorWorkload, plan: FailoverPlan) -> None:
        self.w, self.plan = workload, plan
        self.group = f"harness-{workload.run_id}-app-{plan.home}"
        self.where = plan.home  # the cluster it reads now
        self.closing: list[threading.Thread] = []  # closes of consumers left behind, joined at the end

    def run(self, stop: threading.Event, phase: Callable[[], str]) -> None:
        current = ""
        consumer: Any = None
        process = 0
        processed: dict[int, int] = {}
        last_commit = time.monotonic()
        while not stop.is_set():
            wanted = phase()
            if wanted != current:
                if consumer is not None:
                    self._leave(consumer)
                current, processed = wanted, {}
                consumer, process = self._open(current)
            mirrored = current == "failover"
            records = self._poll(consumer, process, mirrored)
            if records is None:
                self._leave(consumer)
                consumer, process = self._open(current)
                continue
            for r in records:
                processed[r["partition"]] = r["offset"] + 1
            if not mirrored and processed and time.monotonic() - last_commit >= 1.0:
                last_commit = time.monotonic()
                if not self._commit(consumer, process, processed):
                    consumer, process = self._open(current)
        self._leave(consumer)

    def _leave(self, consumer: Any) -> None:
        """Close in the background: the group must lose this member now (an unclosed one keeps its partitions
        until max.poll.interval.ms), but its cluster may be unreachable, and close() would wait for it."""
        if consumer is not None:
            closing = threading.Thread(target=close_quietly, args=(consumer,), daemon=True)
            closing.start()
            self.closing.append(closing)

    def _cluster_and_topic(self, phase: str) -> tuple[str, str]:
        return (self.plan.to, remote_topic(self.plan.home)) if phase == "failover" else (self.plan.home, TOPIC)

    def _open(self, phase: str) -> tuple[Any, int]:
        cluster, topic = self._cluster_and_topic(phase)
        consumer = self.w.consumer_factory({
            "bootstrap.servers": self.w.bootstraps[cluster], "group.id": self.group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "enable.partition.eof": False, "session.timeout.ms": 6000,
            "topic.metadata.refresh.interval.ms": 2000, "logger": self.w.logger})
        process = self.w.history.new_process()
        if phase != "failover":
            value = {"topics": [topic], "group": self.group, "cluster": cluster}
            self.w.history.invoke(process, "subscribe", value)
            consumer.subscribe([topic])
            self.w.history.record(process, "ok", "subscribe", value)
        else:
            consumer.subscribe([topic])
        return consumer, process

    def _poll(self, consumer: Any, process: int, mirrored: bool) -> list[dict[str, Any]] | None:
        cluster, topic = self._cluster_and_topic("failover" if mirrored else "home")
        f = "mirror-poll" if mirrored else "poll"
        where: dict[str, Any] = ({"cluster": cluster, "topic": topic, "source_cluster": self.plan.home,
                                  "source_topic": TOPIC, "group": self.group} if mirrored
                                 else {"cluster": cluster, "group": self.group})
        history = self.w.history
        history.invoke(process, f, where if mirrored else None)
        try:
            messages = consumer.consume(200, 0.5)
        except KafkaException as error:
            history.record(process, "info", f, where if mirrored else None, error.args[0].name().lower())
            return None
        records = records_of(messages)
        history.record(process, "ok", f, {**where, "records": records})
        return records

    def _commit(self, consumer: Any, process: int, processed: dict[int, int]) -> bool:
        """A synchronous commit, given COMMIT_TIMEOUT_S: librdkafka's waits for an unreachable coordinator for as
        long as it takes, which would keep the application from noticing anything. On timeout the op is info and
        the consumer is left to its commit thread, which closes it once the commit returns; False then, or on an
        error: the caller continues with a new consumer (a new process)."""
        value = {"group": self.group, "cluster": self.plan.home,
                 "offsets": [{"topic": TOPIC, "partition": p, "offset": o} for p, o in sorted(processed.items())]}
        history = self.w.history
        history.invoke(process, "commit", value)
        outcome: dict[str, Any] = {}
        timed_out = threading.Event()

        def commit() -> None:
            try:
                consumer.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in processed.items()],
                                asynchronous=False)
                outcome["ok"] = True
            except KafkaException as error:
                outcome["error"] = error.args[0].name().lower()
            if timed_out.is_set():
                close_quietly(consumer)

        thread = threading.Thread(target=commit, daemon=True)
        thread.start()
        thread.join(COMMIT_TIMEOUT_S)
        if thread.is_alive():
            timed_out.set()
            self.closing.append(thread)
            history.record(process, "info", "commit", value, "commit-timeout")
            return False
        if "error" in outcome:
            history.record(process, "info", "commit", value, outcome["error"])
            self._leave(consumer)
            return False
        history.record(process, "ok", "commit", value)
        return True


class MirrorReader:
    """Follows one remote topic (`<source>.jepsen-aa` in cluster `target`) and records `mirror-poll` ops."""

    def __init__(self, workload: MirrorWorkload, target: str, source: str) -> None:
        self.w = workload
        self.target, self.source = target, source
        self.topic = remote_topic(source)
        self.where = {"cluster": target, "topic": self.topic, "source_cluster": source, "source_topic": TOPIC}
        self.read_up_to: dict[int, int] = {}  # partition -> next offset after the last record read
        self.seen: set[Any] = set()  # values read so far
        self.lock = threading.Lock()
        self.consumer: Any = None
        self.process = workload.history.new_process()

    def open(self) -> None:
        self.consumer = self.w.consumer_factory({
            "bootstrap.servers": self.w.bootstraps[self.target], "group.id": f"harness-{self.w.run_id}-mirror",
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "enable.partition.eof": False,
            "topic.metadata.refresh.interval.ms": 2000, "logger": self.w.logger})
        # The remote topic appears once MirrorMaker 2 has seen the source topic; until then the client keeps
        # asking for its metadata and returns nothing.
        self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING)
                              for p in range(self.w.options.partitions)])

    def poll_once(self, timeout: float = 0.5) -> bool:
        """One `mirror-poll` op; False if it ended in info (the reader then continues as a new process)."""
        history = self.w.history
        history.invoke(self.process, "mirror-poll", self.where)
        try:
            messages = self.consumer.consume(500, timeout)
        except KafkaException as error:
            history.record(self.process, "info", "mirror-poll", self.where, error.args[0].name().lower())
            self.process = history.new_process()
            return False
        records = records_of(messages)
        history.record(self.process, "ok", "mirror-poll", {**self.where, "records": records})
        with self.lock:
            for r in records:
                self.read_up_to[r["partition"]] = max(self.read_up_to.get(r["partition"], 0), r["offset"] + 1)
                self.seen.add(r["value"])
        return True

    def high_watermarks(self) -> dict[int, int]:
        return high_watermarks(self.consumer, self.topic, self.w.options.partitions, time.monotonic() + 5)

    def close(self) -> None:
        if self.consumer is not None:
            close_quietly(self.consumer)


class MirrorWorkload:
    name = "mirror"
    checker = "mirror"

    def __init__(self, options: ClientOptions, bootstraps: dict[str, str], history: HistoryRecorder, run_id: str,
                 logger: Any, plan: FailoverPlan | None = None) -> None:
        self.options = replace(options, topic=TOPIC)
        self.bootstraps = bootstraps
        self.history = history
        self.run_id = run_id
        self.logger = logger
        values = itertools.count()  # one counter for every cluster: a value names one send in the whole run
        self.values = values
        self.local = {c: QueueWorkload(self.options, b, history, run_id, logger, cluster=c, values=values)
                      for c, b in bootstraps.items()}
        self.plan = plan
        self.moved: list[QueueWorkload] = []  # producers started by the plan's failover and failback
        self.phase = "home"  # home -> failover -> failback
        self.app = AppConsumer(self, plan) if plan else None
        self.consumer_factory: Callable[[dict[str, Any]], Any] = Consumer
        # A fresh client per health check: one whose connection hung in the outage (packets dropped, not refused)
        # would keep failing until its socket timed out, long after the DC answers again.
        self.probe_factory: Callable[[str], Any] = lambda bootstrap: AdminClient({
            "bootstrap.servers": bootstrap, "socket.timeout.ms": 2000, "logger": logger})
        self.readers = [MirrorReader(self, target, source) for target in bootstraps for source in bootstraps
                        if source != target]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def topic_spec(self) -> tuple[str, int, int, dict[str, str]]:
        o = self.options
        return o.topic, o.partitions, o.replication, o.topic_config()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.options.to_json(), "clusters": sorted(self.bootstraps),
                "remote_topics": {r.target: sorted(x.topic for x in self.readers if x.target == r.target)
                                  for r in self.readers}}

    def start(self) -> None:
        for workload in self.local.values():
            workload.start()
        for reader in self.readers:
            reader.open()
            thread = threading.Thread(target=self._follow, args=(reader,), daemon=True,
                                      name=f"mirror-{reader.source}-to-{reader.target}")
            self._threads.append(thread)
            thread.start()
        if self.app is not None:
            for target in (self._drill, lambda: self.app and self.app.run(self._stop, lambda: self.phase)):
                thread = threading.Thread(target=target, daemon=True, name="drill")
                self._threads.append(thread)
                thread.start()

    def _drill(self) -> None:
        """Move the failed DC's clients when their health check says so (see FailoverPlan)."""
        assert self.plan is not None
        plan = self.plan
        if self._stop.wait(plan.watch_from):
            return
        missed = 0
        while missed < plan.failures:
            if self._stop.wait(plan.probe_interval):
                return
            missed = 0 if self._home_answers() else missed + 1
        self._move("failover", plan.home, plan.to, f"{plan.home}-failover")
        healthy_since: float | None = None
        while healthy_since is None or time.monotonic() - healthy_since < plan.failback_after:
            if self._stop.wait(plan.probe_interval):
                return
            if not self._home_answers():
                healthy_since = None
            elif healthy_since is None:
                healthy_since = time.monotonic()
        self._move("failback", plan.to, plan.home, f"{plan.home}-failback")

    def _home_answers(self) -> bool:
        assert self.plan is not None
        try:
            self.probe_factory(self.bootstraps[self.plan.home]).list_topics(topic=TOPIC, timeout=1.0)
            return True
        except KafkaException:
            return False

    def _move(self, phase: str, away: str, to: str, prefix: str) -> None:
        value = {"from": away, "to": to, "clients": self.plan.home if self.plan else away}
        self.history.invoke("nemesis", f"{phase}-clients", value)
        leaving = self.moved[-1] if self.moved else self.local[away]
        threading.Thread(target=leaving.stop, args=(self.options.delivery_timeout_ms / 1000 + 5,),
                         daemon=True).start()  # its sends to an unreachable cluster time out on their own
        arrived = QueueWorkload(replace(self.options, consumers=0), self.bootstraps[to], self.history, self.run_id,
                                self.logger, cluster=to, values=self.values, producer_prefix=prefix)
        self.moved.append(arrived)
        arrived.start()
        self.phase = phase
        self.history.record("nemesis", "info", f"{phase}-clients", value)

    def _follow(self, reader: MirrorReader) -> None:
        while not self._stop.is_set():
            reader.poll_once()

    def stop(self, timeout: float | None = None) -> None:
        limit = timeout if timeout is not None else self.options.delivery_timeout_ms / 1000 + 10
        producers = [*self.local.values(), *self.moved]
        with ThreadPoolExecutor(max_workers=len(producers)) as pool:
            list(pool.map(lambda w: w.stop(limit), producers))
        self._stop.set()
        for thread in self._threads:
            thread.join(limit)
        for closing in self.app.closing if self.app else ():
            closing.join(limit)

    def drain(self, timeout: float, healed: bool = True) -> bool:
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max_workers=len(self.local)) as pool:
            complete = all(pool.map(lambda w: w.drain(max(10.0, (deadline - time.monotonic()) / 2), healed),
                                    self.local.values()))
        deadline = max(deadline, time.monotonic() + 2 * MIRROR_SETTLE_S)  # the mirrors get their own time
        for reader in self.readers:
            complete = self._drain_mirror(reader, deadline, healed) and complete
        for reader in self.readers:
            reader.close()
        return complete

    def _drain_mirror(self, reader: MirrorReader, deadline: float, healed: bool) -> bool:
        """Read the remote topic until its high watermark has stood still for MIRROR_SETTLE_S and the reader is
        at it; then one `mirror-drain` op per partition."""
        expected = set().union(*(w.acknowledged for w in [self.local[reader.source], *self.moved]
                                 if w.cluster == reader.source))
        last_marks: dict[int, int] = {}
        still_since = time.monotonic()
        settled = False
        while time.monotonic() < deadline:
            reader.poll_once(timeout=1.0)
            marks = reader.high_watermarks()
            if marks != last_marks or len(marks) < self.options.partitions:
                last_marks, still_since = marks, time.monotonic()
                continue
            caught_up = all(reader.read_up_to.get(p, 0) >= hw for p, hw in marks.items())
            if caught_up and (expected <= reader.seen or time.monotonic() - still_since >= MIRROR_SETTLE_S):
                settled = True
                break
        complete = True
        for p in range(self.options.partitions):
            hw = last_marks.get(p)
            value = {**reader.where, "partition": p, "high_watermark": hw}
            self.history.invoke(reader.process, "mirror-drain", value)
            if settled and healed and hw is not None:
                self.history.record(reader.process, "ok", "mirror-drain", value)
            else:
                complete = False
                why = ("the ISR was not full again" if not healed else "the remote high watermark kept moving or "
                       "could not be read before the drain timed out")
                self.history.record(reader.process, "info", "mirror-drain", value, why)
        return complete

"""The group workload through the Java client (`harness run --client java --workload group`).

The same ops as workloads/group.py, made by the driver: queue-style producers (ProducerLane) fill the group's
topic while GroupRun's members (GroupMember.java) subscribe, poll, commit what they processed (manual commits,
every commit interval and on revoke) and record what their ConsumerRebalanceListener is told; every churn
interval one member leaves or crashes (recorded as a `crash-member` fault) and a new one joins. The final reads
are GroupWorkload's through confluent-kafka: a last member of the same group reads the backlog from its
committed offsets, then a plain consumer drains the topic.

Protocols as GroupOptions.protocol_of: `classic`, `consumer` (KIP-848; the member leaves its session timeout and
heartbeat interval to the coordinator, whose broker config GroupOptions.broker_config sets) or `mixed` (even
slots consumer). Each member records its protocol on `subscribe`, and the member id and generation the Java
client's groupMetadata() reports (on the consumer protocol the member epoch) on every rebalance and commit.

Auto-commit (`auto_commit`): the client commits on its own, and the driver records each commit the client
reports to its ConsumerInterceptor (CommitRecorder.java) as an ok `commit` with "auto": true. Processing
(`process_time`): each batch poll() returned is processed that long before it is recorded and the member polls
again, a plain poll loop; a crash requested meanwhile stops the member there, the batch unprocessed. A crash
closes the consumer, or with `abandon_on_crash` leaves it as it is, never closed, as a process that died would
(close() auto-commits what poll() returned). librdkafka's `process_delay` (records held while polling goes on)
and stalls are librdkafka's only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import HarnessError
from infra.recorder import ClientHistory, HistoryRecorder
from workloads.group import GroupOptions, GroupWorkload
from workloads.java_base import ClientMachine, JavaDriverWorkload, prefixed, properties_text
from workloads.java_queue import producer_settings
from workloads.options import ClientOptions
from workloads.outcome import JAVA_COMMIT_DEFINITE


def check_group_options(group: GroupOptions) -> None:
    """The group settings the Java driver does not implement, refused before anything starts."""
    if group.process_delay:
        raise HarnessError("--client java: the group workload's process_delay is librdkafka's only (records held "
                           "while polling goes on)",
                           hint="the Java driver processes each batch before it polls again: process_time")
    if group.stall:
        raise HarnessError("--client java: --stall-member is librdkafka's only (the driver's members do not stall)",
                           hint="omit --stall-member, or omit --client java")


def group_properties(options: ClientOptions, group: GroupOptions, group_id: str, members: int, bootstrap: str,
                     run_id: str) -> str:
    o = options
    member = {"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest", "enable.auto.commit": group.auto_commit,
              "auto.commit.interval.ms": group.auto_commit_interval_ms,
              "session.timeout.ms": group.session_timeout_ms, "heartbeat.interval.ms": 1_000,
              "max.poll.interval.ms": group.max_poll_interval_ms, "max.poll.records": 200,
              "request.timeout.ms": 10_000, "default.api.timeout.ms": 10_000}
    return properties_text({
        "workload": "group", "topic": group.topic, "partitions": o.partitions, "rate": o.rate,
        "concurrency": o.concurrency, "pipeline": o.pipeline, "consumers": 0, "poll.ms": 500,
        "delivery.report.timeout.ms": o.delivery_timeout_ms + 5000,
        "stop.timeout.ms": max(o.delivery_timeout_ms + 2000, 25_000),
        "group.prefix": f"harness-{run_id}-java", "ready.timeout.ms": int(group.ready_timeout * 1000),
        "group.id": group_id, "group.members": members, "group.protocol": group.group_protocol,
        "group.commit.interval.ms": int(group.commit_interval * 1000),
        "group.churn.interval.ms": int(group.churn_interval * 1000),
        "group.crash.probability": group.crash_probability, "group.seed": group.seed,
        "group.process.ms": int(group.process_time * 1000),
        "group.abandon": bool(group.abandon_on_crash),
        "group.commit.definite": ",".join(sorted(JAVA_COMMIT_DEFINITE)),
        **prefixed("producer", producer_settings(o, bootstrap)), **prefixed("member", member),
    })


class JavaGroupWorkload(JavaDriverWorkload):
    name = "group"
    checker = "group"

    def __init__(self, options: ClientOptions, bootstrap_servers: str, history: HistoryRecorder, run_id: str,
                 logger: Any, machine: ClientMachine, libs: Path, client_version: str, drain_client: str,
                 group: GroupOptions | None = None) -> None:
        super().__init__(options, bootstrap_servers, history, run_id, machine, libs, client_version)
        self._drainer = GroupWorkload(options, bootstrap_servers, ClientHistory(history, drain_client), run_id,
                                      logger, group=group)
        self.group_options = self._drainer.group_options
        check_group_options(self.group_options)
        self.ready_timeout = self.group_options.ready_timeout + 60

    def properties(self) -> str:
        d = self._drainer
        return group_properties(self.options, self.group_options, d.group, d.members, self.bootstrap, self.run_id)

    def stop_limit(self) -> float:
        return max(self.options.delivery_timeout_ms / 1000 + 2, 25) + 10

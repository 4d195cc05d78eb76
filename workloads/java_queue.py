"""The queue workload through the Java client (`harness run --client java`).

The same ops as workloads/queue.py — producers with one send outstanding each, producer k pinned to partition
k mod P, consumers assigned every partition from the beginning — made by a small Java program of ours
(infra/compose/driver/) on the Java kafka-clients producer and consumer (workloads/java_base.py runs it).
The final drain is QueueWorkload's, through confluent-kafka.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.recorder import ClientHistory, HistoryRecorder
from workloads.java_base import ClientMachine, JavaDriverWorkload, prefixed, properties_text
from workloads.options import ClientOptions
from workloads.queue import QueueWorkload


def producer_settings(options: ClientOptions, bootstrap: str) -> dict[str, Any]:
    """Producer keys are ClientOptions' own: librdkafka and the Java client share these names (acks,
    enable.idempotence, max.in.flight.requests.per.connection, delivery.timeout.ms, ...)."""
    return {**options.producer_config(bootstrap), "max.block.ms": options.delivery_timeout_ms}  # send() never
    # blocks longer


def driver_properties(options: ClientOptions, bootstrap: str, run_id: str, recording: bool = True) -> str:
    """The driver's settings file for the queue workload."""
    o = options
    consumer = {"bootstrap.servers": bootstrap, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                "session.timeout.ms": 10_000, "max.poll.records": 500}
    return properties_text({
        "workload": "queue", "topic": o.topic, "partitions": o.partitions, "rate": o.rate,
        "concurrency": o.concurrency, "pipeline": o.pipeline, "consumers": o.consumers, "poll.ms": 500,
        "delivery.report.timeout.ms": o.delivery_timeout_ms + 5000, "stop.timeout.ms": o.delivery_timeout_ms + 2000,
        "group.prefix": f"harness-{run_id}-java", "recording": recording,
        **prefixed("producer", producer_settings(o, bootstrap)), **prefixed("consumer", consumer),
    })


class JavaQueueWorkload(JavaDriverWorkload):
    name = "queue"
    checker = "queue"

    def __init__(self, options: ClientOptions, bootstrap_servers: str, history: HistoryRecorder, run_id: str,
                 logger: Any, machine: ClientMachine, libs: Path, client_version: str, drain_client: str,
                 recording: bool = True) -> None:
        """The driver's ops carry `java/<client_version>`, the drain's `drain_client` (librdkafka's tag).
        `recording` False: the bare client loop (benchmarks/clients.py), which writes only its counters."""
        super().__init__(options, bootstrap_servers, history, run_id, machine, libs, client_version)
        self.recording = recording
        self._drainer = QueueWorkload(options, bootstrap_servers, ClientHistory(history, drain_client), run_id,
                                      logger)

    def properties(self) -> str:
        return driver_properties(self.options, self.bootstrap, self.run_id, self.recording)

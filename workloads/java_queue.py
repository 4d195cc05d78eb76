"""The queue workload through the Java client (`harness run --client java`).

The same ops as workloads/queue.py — producers with one send outstanding each, producer k pinned to partition
k mod P, consumers assigned every partition from the beginning — made by a small Java program of ours
(infra/compose/driver/) on the Java kafka-clients producer and consumer. It runs in a client container on the
cluster's network, and its event stream is recorded line by line (workloads/driver_stream.py).

The final drain stays the harness's own read: a fresh confluent-kafka consumer after healing (QueueWorkload's
drain). It is not the client under test; it is how the harness learns what the log holds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from core.errors import HarnessError
from infra import java_driver
from infra.recorder import ClientHistory, HistoryRecorder, client_tag
from workloads.driver_stream import DriverStream
from workloads.options import ClientOptions
from workloads.queue import QueueWorkload

READY_TIMEOUT = 120.0  # a JVM and its clients starting on a busy 2-core machine


class ClientMachine(Protocol):
    """Where the driver runs: a Remote with the optional `stream` capability (DockerRemote has it)."""

    name: str

    def exec(self, command: str, *, check: bool = True, timeout: float = 60.0) -> Any: ...

    def upload(self, path: str, content: bytes, mode: int = 0o644) -> None: ...

    def stream(self, command: str) -> Any: ...


def driver_properties(options: ClientOptions, bootstrap: str, run_id: str, recording: bool = True) -> str:
    """The driver's settings file. Producer keys are ClientOptions' own: librdkafka and the Java client share
    these names (acks, enable.idempotence, max.in.flight.requests.per.connection, delivery.timeout.ms, ...)."""
    o = options
    producer = {**o.producer_config(bootstrap), "max.block.ms": o.delivery_timeout_ms}  # send() never blocks longer
    consumer = {"bootstrap.servers": bootstrap, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                "session.timeout.ms": 10_000, "max.poll.records": 500}
    settings: dict[str, Any] = {
        "workload": "queue", "topic": o.topic, "partitions": o.partitions, "rate": o.rate,
        "concurrency": o.concurrency, "pipeline": o.pipeline, "consumers": o.consumers, "poll.ms": 500,
        "delivery.report.timeout.ms": o.delivery_timeout_ms + 5000, "stop.timeout.ms": o.delivery_timeout_ms + 2000,
        "group.prefix": f"harness-{run_id}-java", "recording": recording,
        **{f"producer.{k}": v for k, v in producer.items()}, **{f"consumer.{k}": v for k, v in consumer.items()},
    }
    return "".join(f"{key}={_property(value)}\n" for key, value in settings.items())


def _property(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n")


class JavaQueueWorkload:
    name = "queue"
    checker = "queue"

    def __init__(self, options: ClientOptions, bootstrap_servers: str, history: HistoryRecorder, run_id: str,
                 logger: Any, machine: ClientMachine, libs: Path, client_version: str, drain_client: str,
                 recording: bool = True) -> None:
        """`history`: the run's recorder; the driver's ops carry `java/<client_version>`, the drain's
        `drain_client` (librdkafka's tag). `machine`: the client container, `libs`: the driver's jars.
        `recording` False: the bare client loop (benchmarks/clients.py), which writes only its counters."""
        self.options = options
        self.bootstrap = bootstrap_servers
        self.run_id = run_id
        self.machine = machine
        self.libs = libs
        self.client_version = client_version
        self.recording = recording
        self.stream = DriverStream(ClientHistory(history, client_tag("java", client_version)),
                                   single_attempt=options.retries == 0)
        self._drainer = QueueWorkload(options, bootstrap_servers, ClientHistory(history, drain_client), run_id,
                                      logger)
        self._pump: threading.Thread | None = None
        self._stopped = False

    def topic_spec(self) -> tuple[str, int, int, dict[str, str]]:
        return self._drainer.topic_spec()

    def to_json(self) -> dict[str, Any]:
        return {**self._drainer.to_json(), "client": "java"}

    def client_info(self) -> dict[str, Any]:
        """test.json's `client`: the version the driver reported once it ran (the one it was built against)."""
        hello = self.stream.hello or {}
        return {"name": "java", "version": hello.get("version", self.client_version), "jvm": hello.get("jvm")}

    # ---- run -------------------------------------------------------------------------------------------

    def start(self) -> None:
        for jar in java_driver.jars(self.libs):
            self.machine.upload(f"{java_driver.CLIENT_DIR}/libs/{jar.name}", jar.read_bytes())
        properties = f"{java_driver.CLIENT_DIR}/driver.properties"
        self.machine.upload(properties, driver_properties(self.options, self.bootstrap, self.run_id,
                                                             self.recording).encode())
        chunks = self.machine.stream(java_driver.command(properties))
        self._pump = threading.Thread(target=self.stream.feed, args=(chunks,), name="java-driver", daemon=True)
        self._pump.start()
        if not self.stream.ready.wait(READY_TIMEOUT):
            raise HarnessError(f"the Java driver did not start within {READY_TIMEOUT:g} s ({self._log_tail()})")
        if self.stream.fatal is not None:
            raise HarnessError(f"the Java driver did not start: {self.stream.fatal}",
                               hint="the Java client checks its settings more strictly than librdkafka")
        if self.stream.ended.is_set():
            raise HarnessError(f"the Java driver exited at start ({self._log_tail()})")

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM: the driver stops issuing ops and waits up to delivery timeout + 2 s for outstanding ones;
        then SIGKILL. What never completed stays an invoke without completion."""
        if self._pump is None or self._stopped:
            return
        self._stopped = True
        limit = timeout if timeout is not None else self.options.delivery_timeout_ms / 1000 + 10
        self.machine.exec(java_driver.stop_command(), check=False, timeout=10)
        if not self.stream.ended.wait(limit):
            self.machine.exec(java_driver.kill_command(), check=False, timeout=10)
            self.stream.ended.wait(5)
        self._pump.join(1)

    def drain(self, timeout: float, healed: bool = True) -> bool:
        return self._drainer.drain(timeout, healed)

    def _log_tail(self) -> str:
        result = self.machine.exec(f"tail -n 3 {java_driver.LOG_FILE}", check=False, timeout=10)
        tail = " | ".join(line.strip() for line in str(getattr(result, "stdout", "")).splitlines() if line.strip())
        return f"its log ends: {tail[-400:]}" if tail else "no log"

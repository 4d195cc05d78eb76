"""What every workload through the Java client (`harness run --client java`) shares: the driver in a client
container on the cluster's network (infra/compose/driver/), its settings file, its event stream recorded line by
line (workloads/driver_stream.py), and the stop that lets it settle what is outstanding.

A subclass says which workload the driver runs (its settings) and which Python workload does the final read:
the drain stays the harness's own read through confluent-kafka after healing. It is not the client under test;
it is how the harness learns what the log holds.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from core.errors import HarnessError
from infra import java_driver
from infra.event_pipe import TRANSPORT_EXEC, TRANSPORT_FIFO, EventPipe
from infra.recorder import ClientHistory, HistoryRecorder, client_tag
from workloads.driver_stream import DriverStream
from workloads.options import ClientOptions

READY_TIMEOUT = 120.0  # a JVM and its clients starting on a busy 2-core machine


class ClientMachine(Protocol):
    """Where the driver runs: a Remote with the optional `stream` capability (DockerRemote has it)."""

    name: str

    def exec(self, command: str, *, check: bool = True, timeout: float = 60.0) -> Any: ...

    def upload(self, path: str, content: bytes, mode: int = 0o644) -> None: ...

    def stream(self, command: str) -> Any: ...


def properties_text(settings: dict[str, Any]) -> str:
    """The driver's settings file (java.util.Properties): one `key=value` line each."""
    return "".join(f"{key}={_property(value)}\n" for key, value in settings.items())


def _property(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def prefixed(prefix: str, config: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}.{k}": v for k, v in config.items()}


class JavaDriverWorkload:
    """The driver's lifecycle; subclasses set `name`, `checker`, `_drainer` and `properties()`."""

    name = ""
    checker = ""
    ready_timeout = READY_TIMEOUT
    _drainer: Any

    def __init__(self, options: ClientOptions, bootstrap_servers: str, history: HistoryRecorder, run_id: str,
                 machine: ClientMachine, libs: Path, client_version: str) -> None:
        """`history`: the run's recorder; the driver's ops carry `java/<client_version>`. `machine`: the client
        container, `libs`: the driver's jars."""
        self.options = options
        self.bootstrap = bootstrap_servers
        self.run_id = run_id
        self.machine = machine
        self.libs = libs
        self.client_version = client_version
        self.stream = DriverStream(ClientHistory(history, client_tag("java", client_version)),
                                   single_attempt=options.retries == 0)
        self._pump: threading.Thread | None = None
        self._stopped = False
        self._fifo: str | None = None  # the events FIFO in the client container, when the host reads it
        self.transport = TRANSPORT_EXEC

    def properties(self) -> str:
        raise NotImplementedError

    def stop_limit(self) -> float:
        """Seconds stop() waits for the driver to settle before SIGKILL."""
        return self.options.delivery_timeout_ms / 1000 + 10

    def topic_spec(self) -> tuple[str, int, int, dict[str, str]]:
        spec: tuple[str, int, int, dict[str, str]] = self._drainer.topic_spec()
        return spec

    def to_json(self) -> dict[str, Any]:
        return {**self._drainer.to_json(), "client": "java"}

    def client_info(self) -> dict[str, Any]:
        """test.json's `client`: the version the driver reported once it ran (the one it was built against)."""
        hello = self.stream.hello or {}
        return {"name": "java", "version": hello.get("version", self.client_version), "jvm": hello.get("jvm"),
                "events": self.transport}

    # ---- run -------------------------------------------------------------------------------------------

    def start(self) -> None:
        for jar in java_driver.jars(self.libs):
            self.machine.upload(f"{java_driver.CLIENT_DIR}/libs/{jar.name}", jar.read_bytes())
        properties = f"{java_driver.CLIENT_DIR}/driver.properties"
        pipe = self._event_pipe()
        text = self.properties() + (properties_text({"events.path": self._fifo}) if pipe else "")
        self.machine.upload(properties, text.encode())
        chunks: Iterable[bytes] = self.machine.stream(java_driver.command(properties))
        if pipe is not None:
            chunks = pipe.chunks(chunks)
        self._pump = threading.Thread(target=self.stream.feed, args=(chunks,), name="java-driver", daemon=True)
        self._pump.start()
        if not self.stream.ready.wait(self.ready_timeout):
            raise HarnessError(f"the Java driver did not start within {self.ready_timeout:g} s ({self._log_tail()})")
        if self.stream.fatal is not None:
            raise HarnessError(f"the Java driver did not start: {self.stream.fatal}",
                               hint="the Java client checks its settings more strictly than librdkafka")
        if self.stream.ended.is_set():
            raise HarnessError(f"the Java driver exited at start ({self._log_tail()})")

    def _event_pipe(self) -> EventPipe | None:
        """The events FIFO, when this host can read the client container's filesystem (the engine is local
        and we are root; infra/event_pipe.py); else None and the events come on the exec stream's stdout. The
        name is new each start, so finding it under /proc proves it is this container's."""
        host_path = getattr(self.machine, "host_path", None)
        if host_path is None:
            return None
        fifo = f"{java_driver.CLIENT_DIR}/events-{secrets.token_hex(6)}.fifo"
        self.machine.exec(f"mkdir -p {java_driver.CLIENT_DIR} && mkfifo -m 600 {fifo}")
        try:
            pipe = EventPipe(host_path(fifo))
        except OSError:
            self.machine.exec(f"rm -f {fifo}", check=False, timeout=10)
            return None
        self._fifo, self.transport = fifo, TRANSPORT_FIFO
        return pipe

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM: the driver stops issuing ops and waits (bounded) for outstanding ones; then SIGKILL. What
        never completed stays an invoke without completion."""
        if self._pump is None or self._stopped:
            return
        self._stopped = True
        limit = timeout if timeout is not None else self.stop_limit()
        self.machine.exec(java_driver.stop_command(), check=False, timeout=10)
        if not self.stream.ended.wait(limit):
            self.machine.exec(java_driver.kill_command(), check=False, timeout=10)
            self.stream.ended.wait(5)
        self._pump.join(1)
        if self._fifo is not None:
            self.machine.exec(f"rm -f {self._fifo}", check=False, timeout=10)

    def drain(self, timeout: float, healed: bool = True) -> bool:
        drained: bool = self._drainer.drain(timeout, healed)
        return drained

    def _log_tail(self) -> str:
        result = self.machine.exec(f"tail -n 3 {java_driver.LOG_FILE}", check=False, timeout=10)
        tail = " | ".join(line.strip() for line in str(getattr(result, "stdout", "")).splitlines() if line.strip())
        return f"its log ends: {tail[-400:]}" if tail else "no log"

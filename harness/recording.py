"""Record a history from your own producer and consumer code, in the documented format (docs/history-format.md).

    with Recorder("history.jsonl", bootstrap_servers=servers) as history:
        with history.op("producer-0", "send", {"topic": "t", "value": 17}) as op:
            producer.produce("t", b"17", on_delivery=op.delivery_report)
            producer.flush(10)
        with history.op("consumer-0", "poll") as op:
            op.polled(consumer.consume(100, timeout=1.0))
        history.drain("t")                      # read every partition to its high watermark, once healed
    assert check(history).valid

Every op is one invoke and one completion: `op.ok(...)`, `op.fail(error)` (it certainly did not happen) or
`op.info(error)` (unknown). An exception escaping the block, or a block that names no outcome, records `info`:
the honest default, since nobody knows whether it took effect. The events go through the harness's own
HistoryRecorder (infra/recorder.py), one flushed line each.

`process` names a client. The format lets a process act only while its previous op is done and never after an
`info`; the recorder keeps both rules for you: a second op of a client with one open is refused, and after an
`info` the client's later ops carry a fresh process id (`op.process` says which).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from core.errors import HarnessError
from core.waiting import wait_until
from infra.recorder import HistoryRecorder, Process

# confluent-kafka is imported only where a Kafka message, error or consumer is handled: `harness check` and the
# rest of harness.api work without it.


class Recorder:
    def __init__(self, path: str | Path, bootstrap_servers: str | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.history = HistoryRecorder(self.path)
        self.bootstrap_servers = bootstrap_servers
        self._lock = threading.Lock()
        self._current: dict[Any, Process] = {}  # client -> the process id its next op uses
        self._used: set[Process] = set()
        self._open: set[Process] = set()
        self._closed = False

    # ---- ops -------------------------------------------------------------------------------------------

    def op(self, client: Process, f: str, value: Any = None) -> Op:
        """One operation of `client` (an int or a string): use it as `with recorder.op(...) as op:`."""
        if not isinstance(client, int | str) or isinstance(client, bool):
            raise HarnessError(f"a client is named by an int or a string, not {client!r}")
        if client == "nemesis":
            raise HarnessError("'nemesis' is the nemesis's process", hint="name your clients otherwise")
        with self._lock:
            process = self._current.setdefault(client, client)
            if process in self._open:
                raise HarnessError(f"client {client!r} already has an op outstanding (one at a time per process)",
                                   hint="give each concurrent send its own client name")
            self._open.add(process)
            self._used.add(process)
        return Op(self, client, process, f, value)

    def new_process(self) -> int:
        """A process id no op has used yet."""
        with self._lock:
            return self._fresh()

    def _fresh(self) -> int:
        while True:
            process = self.history.new_process()
            if process not in self._used:
                self._used.add(process)
                return process

    def _completed(self, client: Process, process: Process, type_: str) -> None:
        with self._lock:
            self._open.discard(process)
            if type_ == "info":  # it may still take effect later: this process id never acts again
                self._current[client] = self._fresh()

    # ---- the final read --------------------------------------------------------------------------------

    def drain(self, topic: str, bootstrap_servers: str | None = None, partitions: int | None = None,
              timeout: float = 60.0, healed: bool = True) -> bool:
        """After the faults healed: a fresh consumer reads every partition of `topic` to its high watermark,
        recorded as `assign`, `poll` and one `drain` op per partition (workloads/records.py's, as the built-in
        workloads record them). Without it the checker can call an unread acknowledged write only `unseen`.
        `healed=False` (the ISR never became full again) records every drain as info. True if all were ok."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

        from workloads.records import close_quietly, high_watermarks, record_drain

        servers = bootstrap_servers or self.bootstrap_servers
        if not servers:
            raise HarnessError("drain needs the bootstrap servers", hint="Recorder(path, bootstrap_servers=...)")
        deadline = time.monotonic() + timeout
        consumer = Consumer({"bootstrap.servers": servers, "group.id": f"harness-drain-{uuid.uuid4().hex[:8]}",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "enable.partition.eof": False})
        client = self.new_process()  # the drain's reader: a process of its own, like the workloads' final read
        try:
            count = partitions if partitions is not None else _partition_count(consumer, topic, deadline)
            high = high_watermarks(consumer, topic, count, deadline)
            with self.op(client, "assign", {"topic": topic, "partitions": list(range(count))}) as op:
                consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(count)])
                op.ok()
            read_up_to = dict.fromkeys(range(count), 0)  # the next offset to read; the log starts at 0 or later
            while any(read_up_to[p] < hw for p, hw in high.items()) and time.monotonic() < deadline:
                with self.op(client, "poll") as op:
                    try:
                        records = op.polled(consumer.consume(500, timeout=1.0))
                    except KafkaException as error:
                        op.info(error)  # the drain ops that follow say what was not reached
                        break
                for r in records:
                    read_up_to[r["partition"]] = max(read_up_to[r["partition"]], r["offset"] + 1)
            with self._lock:
                process = int(self._current[client])
            return all([record_drain(self.history, process, {"topic": topic, "partition": p,
                                                             "high_watermark": high.get(p)}, read_up_to[p], healed)
                        for p in range(count)])
        finally:
            close_quietly(consumer)

    # ---- lifecycle -------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self.history.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Op:
    """One open operation: its invoke is recorded on entering the block, its completion by ok/fail/info."""

    def __init__(self, recorder: Recorder, client: Process, process: Process, f: str, value: Any) -> None:
        self.recorder, self.client, self.process, self.f, self.value = recorder, client, process, f, value
        self.outcome: str | None = None  # "ok", "fail" or "info" once completed
        self.index: int | None = None  # the invoke's op index

    def __enter__(self) -> Op:
        self.index = self.recorder.history.invoke(self.process, self.f, self.value)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if self.outcome is None:
            self.info(exc if exc is not None else "no-outcome-recorded")
        # the exception, if any, goes on: recording it is not handling it

    def ok(self, value: Any = None) -> None:
        """It happened. `value` fills in the invoke's (a dict is merged into it: `{"partition": 0, "offset": 5}`
        completes a send); None repeats the invoke's value."""
        if isinstance(value, Mapping) and isinstance(self.value, Mapping):
            value = {**self.value, **value}
        self._complete("ok", value if value is not None else self.value, None)

    def fail(self, error: str | BaseException) -> None:
        """It certainly did not happen (e.g. rejected before any append). When in doubt, `info`."""
        self._complete("fail", self.value, _error_name(error))

    def info(self, error: str | BaseException) -> None:
        """Nobody knows whether it happened (a timeout, a lost connection)."""
        self._complete("info", self.value, _error_name(error))

    # ---- Kafka helpers ---------------------------------------------------------------------------------

    def delivery_report(self, err: Any, msg: Any) -> None:
        """confluent-kafka's `on_delivery` callback: ok with the partition and offset, else the error classified
        as the built-in workloads do (workloads/outcome.py: `fail` only where Kafka certainly did not append)."""
        if self.outcome is not None:
            return
        if err is None and msg.offset() is not None and msg.offset() >= 0:
            self.ok({"partition": msg.partition(), "offset": msg.offset()})
        elif err is None:
            self.info("acknowledged-without-offset")  # the checker cannot place it
        else:
            from workloads.outcome import classify_send_error

            outcome = classify_send_error(err, single_attempt=False)
            self._complete(outcome.type, self.value, outcome.error)

    def polled(self, messages: Iterable[Any]) -> list[dict[str, Any]]:
        """ok with the records a consumer returned (error events left out); returns them as recorded."""
        from workloads.records import records_of

        records = records_of(messages)
        self.ok({"records": records})
        return records

    def _complete(self, type_: str, value: Any, error: str | None) -> None:
        if self.index is None:
            raise HarnessError(f"op {self.f} of {self.client!r} completed before it began",
                               hint="use it as `with recorder.op(...) as op:`")
        if self.outcome is not None:
            raise HarnessError(f"op {self.index} ({self.f} of {self.client!r}) already completed {self.outcome}")
        self.outcome = type_
        self.recorder.history.record(self.process, type_, self.f, value, error)
        self.recorder._completed(self.client, self.process, type_)


def _error_name(error: str | BaseException) -> str:
    if isinstance(error, str):
        return error
    from workloads.records import error_name  # Kafka errors by their names: `request-timed-out`

    return error_name(error)


def _partition_count(consumer: Any, topic: str, deadline: float) -> int:
    def count() -> int:
        info = consumer.list_topics(topic, timeout=5).topics.get(topic)
        return len(info.partitions) if info is not None and info.error is None else 0

    return wait_until(count, max(1.0, deadline - time.monotonic()), f"the partitions of topic {topic}")

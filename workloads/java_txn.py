"""The txn workload through the Java client (`harness run --client java --workload txn`).

The same ops as workloads/txn.py, made by the driver's TxnWorker (infra/compose/driver/TxnWorker.java): one
transactional.id per worker, one `txn` op per transaction of sends and read_committed polls, their positions
sent with sendOffsetsToTransaction, committed or aborted on purpose. A transaction that did not commit is
`fail` only when abortTransaction returned (workloads/outcome.py's Java transaction table, which the driver
also reads to know after which commit errors it may abort). Plain read_committed readers poll meanwhile; the
final read is TxnWorkload's (confluent-kafka, read_committed, to the high watermark).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.recorder import ClientHistory, HistoryRecorder
from workloads.java_base import ClientMachine, JavaDriverWorkload, prefixed, properties_text
from workloads.java_queue import producer_settings
from workloads.options import ClientOptions
from workloads.outcome import JAVA_ABORTABLE_ON_COMMIT
from workloads.txn import TxnOptions, TxnWorkload


def txn_properties(options: ClientOptions, txn: TxnOptions, txn_rate: float, bootstrap: str, run_id: str) -> str:
    o = options
    commit_ms = int(txn.commit_timeout * 1000)
    producer = {**producer_settings(o, bootstrap), "enable.idempotence": True, "acks": "all",
                "transaction.timeout.ms": txn.transaction_timeout_ms, "max.block.ms": commit_ms}
    consumer = {"bootstrap.servers": bootstrap, "isolation.level": "read_committed", "enable.auto.commit": False,
                "auto.offset.reset": "earliest", "session.timeout.ms": 10_000, "max.poll.records": 500,
                "default.api.timeout.ms": commit_ms}
    return properties_text({
        "workload": "txn", "topic": txn.topic, "partitions": o.partitions, "rate": o.rate,
        "concurrency": o.concurrency, "consumers": o.consumers, "poll.ms": 500,
        "delivery.report.timeout.ms": o.delivery_timeout_ms + 5000,
        "stop.timeout.ms": o.delivery_timeout_ms + 2 * commit_ms + 5000,
        "group.prefix": f"harness-{run_id}-java-txn-reader", "ready.timeout.ms": int(txn.ready_timeout * 1000),
        "txn.id.prefix": f"harness-{run_id}-txn", "txn.rate": txn_rate, "txn.max.sends": txn.max_sends,
        "txn.poll.probability": txn.poll_probability, "txn.late.poll.probability": txn.late_poll_probability,
        "txn.abort.probability": txn.abort_probability, "txn.poll.records": txn.poll_records,
        "txn.commit.timeout.ms": commit_ms, "txn.seed": txn.seed,
        "txn.abortable.on.commit": ",".join(sorted(JAVA_ABORTABLE_ON_COMMIT)),
        **prefixed("producer", producer), **prefixed("consumer", consumer),
    })


class JavaTxnWorkload(JavaDriverWorkload):
    name = "txn"
    checker = "txn"

    def __init__(self, options: ClientOptions, bootstrap_servers: str, history: HistoryRecorder, run_id: str,
                 logger: Any, machine: ClientMachine, libs: Path, client_version: str, drain_client: str,
                 txn: TxnOptions | None = None) -> None:
        super().__init__(options, bootstrap_servers, history, run_id, machine, libs, client_version)
        # TxnWorkload refuses what a transactional producer cannot be (acks other than all, no idempotence)
        self._drainer = TxnWorkload(options, bootstrap_servers, ClientHistory(history, drain_client), run_id,
                                    logger, txn=txn)
        self.txn = self._drainer.txn
        self.ready_timeout = self.txn.ready_timeout + 60  # the coordinators, then the JVM's own start

    def properties(self) -> str:
        return txn_properties(self.options, self.txn, self._drainer._txn_rate(), self.bootstrap, self.run_id)

    def stop_limit(self) -> float:
        return self.options.delivery_timeout_ms / 1000 + 2 * self.txn.commit_timeout + 15

"""Workloads by name (`harness run --workload NAME`). Each takes the shared client options (QueueOptions),
the bootstrap servers, the history recorder, the run id and a logger for librdkafka."""

from __future__ import annotations

from collections.abc import Callable

from workloads.base import Workload
from workloads.group import GroupWorkload
from workloads.queue import QueueWorkload
from workloads.txn import TxnWorkload

FACTORIES: dict[str, Callable[..., Workload]] = {
    "queue": QueueWorkload,
    "txn": TxnWorkload,
    "group": GroupWorkload,
}

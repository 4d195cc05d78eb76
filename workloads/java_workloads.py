"""Which workloads run through the Java client (`harness run --client java`), and building one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import HarnessError
from infra.recorder import HistoryRecorder
from workloads.base import Workload
from workloads.group import GroupOptions
from workloads.java_group import JavaGroupWorkload, check_group_options
from workloads.java_queue import JavaQueueWorkload
from workloads.java_txn import JavaTxnWorkload
from workloads.options import ClientOptions

NAMES = ("queue", "txn", "group")


def check(name: str, options: Any) -> None:
    """Refuse, in one line, a workload or a setting the Java driver does not run."""
    if name not in NAMES:
        raise HarnessError(f"--client java runs the {', '.join(NAMES[:-1])} and {NAMES[-1]} workloads, not {name!r}",
                           hint=f"{name} runs on librdkafka (omit --client)")
    if name == "group" and isinstance(options, GroupOptions):
        check_group_options(options)


def build(name: str, client: ClientOptions, bootstrap: str, history: HistoryRecorder, run_id: str, logger: Any,
          machine: Any, libs: Path, client_version: str, drain_client: str, options: Any) -> Workload:
    check(name, options)
    workload: Workload
    if name == "txn":
        workload = JavaTxnWorkload(client, bootstrap, history, run_id, logger, machine, libs, client_version,
                                   drain_client, txn=options)
    elif name == "group":
        workload = JavaGroupWorkload(client, bootstrap, history, run_id, logger, machine, libs, client_version,
                                     drain_client, group=options)
    else:
        workload = JavaQueueWorkload(client, bootstrap, history, run_id, logger, machine, libs, client_version,
                                     drain_client)
    return workload

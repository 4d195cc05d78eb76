"""Workloads by name (`harness run --workload NAME`), each with its own options type and the clusters it runs on.

Every workload takes the shared client settings (ClientOptions), the bootstrap servers of the clusters it
drives, the history recorder, the run id, a logger for librdkafka and its own options (or None for defaults).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.errors import HarnessError, unknown_name
from infra.recorder import HistoryRecorder
from workloads.base import Workload
from workloads.options import ClientOptions

Clusters = Literal["one", "each"]  # one (stretched) cluster, or one cluster per DC joined by MirrorMaker 2
Factory = Callable[[ClientOptions, Mapping[str, str], HistoryRecorder, str, Any, Any], Workload]


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    description: str
    clusters: Clusters
    options_type: type | None  # its own options (RunOptions.workload_options); None: client settings only
    build: Factory


def _only(bootstraps: Mapping[str, str]) -> str:
    (bootstrap,) = bootstraps.values()
    return bootstrap


def _queue(client: ClientOptions, bootstraps: Mapping[str, str], history: HistoryRecorder, run_id: str,
           logger: Any, options: Any) -> Workload:
    from workloads.queue import QueueWorkload

    return QueueWorkload(client, _only(bootstraps), history, run_id, logger)


def _txn(client: ClientOptions, bootstraps: Mapping[str, str], history: HistoryRecorder, run_id: str, logger: Any,
         options: Any) -> Workload:
    from workloads.txn import TxnWorkload

    return TxnWorkload(client, _only(bootstraps), history, run_id, logger, txn=options)


def _group(client: ClientOptions, bootstraps: Mapping[str, str], history: HistoryRecorder, run_id: str,
           logger: Any, options: Any) -> Workload:
    from workloads.group import GroupWorkload

    return GroupWorkload(client, _only(bootstraps), history, run_id, logger, group=options)


def _share(client: ClientOptions, bootstraps: Mapping[str, str], history: HistoryRecorder, run_id: str,
           logger: Any, options: Any) -> Workload:
    from workloads.share import ShareWorkload

    return ShareWorkload(client, _only(bootstraps), history, run_id, logger, share=options)


def _mirror(client: ClientOptions, bootstraps: Mapping[str, str], history: HistoryRecorder, run_id: str,
            logger: Any, options: Any) -> Workload:
    from workloads.mirror import MirrorWorkload

    return MirrorWorkload(client, dict(bootstraps), history, run_id, logger, plan=options)


def _specs() -> dict[str, WorkloadSpec]:
    # The options types are imported here, not the workloads: those import confluent-kafka.
    from workloads.group import GroupOptions
    from workloads.mirror import FailoverPlan
    from workloads.share import ShareOptions
    from workloads.txn import TxnOptions

    specs = (
        WorkloadSpec("queue", "producers send unique integers, consumers read them back", "one", None, _queue),
        WorkloadSpec("txn", "transactions of sends and reads (read committed)", "one", TxnOptions, _txn),
        WorkloadSpec("group", "a consumer group with commits, crashes and rebalances", "one", GroupOptions, _group),
        WorkloadSpec("share", "a share group (KIP-932) whose members accept, release and reject records", "one",
                     ShareOptions, _share),
        WorkloadSpec("mirror", "queue clients in every cluster, MirrorMaker 2 between them", "each", FailoverPlan,
                     _mirror),
    )
    return {spec.name: spec for spec in specs}


def names() -> list[str]:
    return list(_specs())


def spec(name: str) -> WorkloadSpec:
    specs = _specs()
    if name not in specs:
        raise unknown_name("workload", name, list(specs))
    return specs[name]


def for_topology(name: str, model: str) -> WorkloadSpec:
    """The workload a run uses: an active-active topology (one cluster per DC) runs the mirror workload when
    none other was asked for; a one-cluster workload is refused there, and the mirror workload on one cluster."""
    chosen = spec("mirror" if model == "active-active" and name == "queue" else name)
    if model == "active-active" and chosen.clusters == "one":
        raise HarnessError(f"the {name} workload runs on one cluster; an active-active topology runs the mirror "
                           "workload (queue clients in every cluster, MirrorMaker 2 between them)",
                           hint="omit --workload")
    if model != "active-active" and chosen.clusters == "each":
        raise HarnessError(f"the {name} workload needs one cluster per DC", hint="--topology active-active")
    return chosen


def check_options(chosen: WorkloadSpec, options: Any) -> None:
    """A workload's own options must be of its own type (a group table on a txn run is a mistake)."""
    if options is None:
        return
    if chosen.options_type is None or not isinstance(options, chosen.options_type):
        owner = next((s.name for s in _specs().values() if s.options_type and isinstance(options, s.options_type)),
                     "another")
        raise HarnessError(f"{owner}-workload options need the {owner} workload, not {chosen.name!r}",
                           hint=f"--workload {owner}")

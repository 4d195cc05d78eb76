"""The options of one run (RunOptions), and their exact JSON form in test.json's `run_options`.

`from_json(to_json(options)) == options`: the topology is written in its --topology TOML-file form, every client
and workload option by field. `harness replay` and `harness shrink` read it back (harness/replay.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from core import kafka_versions
from core import topology as topology_module
from core.errors import HarnessError
from core.topology import Topology
from workloads.group import GroupOptions
from workloads.mirror import FailoverPlan
from workloads.options import ClientOptions
from workloads.share import ShareOptions
from workloads.txn import TxnOptions

FORMAT = 1
_WORKLOAD_OPTIONS = {cls.__name__: cls for cls in (TxnOptions, GroupOptions, FailoverPlan, ShareOptions)}


@dataclass(frozen=True)
class RunOptions:
    topology: Topology
    workload: ClientOptions = field(default_factory=ClientOptions)
    workload_name: str = "queue"
    # The workload's own options (TxnOptions, GroupOptions, FailoverPlan: workloads/registry.py), None: defaults.
    workload_options: TxnOptions | GroupOptions | FailoverPlan | ShareOptions | None = None
    nemesis: str = "partition-dc"
    nemesis_interval: float = 10.0
    time_limit: float = 60.0
    seed: int | None = None
    kafka_version: str = kafka_versions.DEFAULT
    image: str | None = None
    results_root: Path = Path("results")
    test_name: str | None = None
    heal_timeout: float = 120.0
    drain_timeout: float = 120.0
    wan_latency_ms: float = 0.0  # one way, on each direction of every link between two DCs
    wan_jitter_ms: float = 0.0
    wan_loss_pct: float = 0.0
    wan_pairs: tuple[tuple[tuple[str, str], float], ...] = ()  # per-DC-pair one-way latency overrides
    timeline: tuple[tuple[float, str, float], ...] = ()  # exact (at s, nemesis, hold s) steps of a scenario
    scenario: dict[str, Any] | None = None  # the scenario this run reproduces, for test.json and the summary
    ssh: Path | None = None  # hosts.toml: Kafka on real machines over SSH; topology must be the file's
    client: str = "librdkafka"  # or "java": the Java kafka-clients driver in a container of its own
    client_version: str | None = None  # kafka-clients version of the Java driver (default: the cluster's)
    durable_fs: bool = False  # every broker's data dir on the durable filesystem, even with no power-loss nemesis

    def name(self) -> str:
        client = "-java" if self.client == "java" else ""
        return self.test_name or f"{self.workload_name}{client}-{self.nemesis.replace(',', '+')}"


def to_json(options: RunOptions) -> dict[str, Any]:
    data = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    data["topology"] = topology_json(options.topology)
    data["workload"] = dataclasses.asdict(options.workload)
    extra = options.workload_options
    data["workload_options"] = None if extra is None else {"type": type(extra).__name__,
                                                             **dataclasses.asdict(extra)}
    data["results_root"] = str(options.results_root)
    data["ssh"] = None if options.ssh is None else str(options.ssh)
    return {"format": FORMAT, **orjson.loads(orjson.dumps(data))}  # tuples as lists: plain JSON data


def topology_json(topology: Topology) -> dict[str, Any]:
    """The topology as a --topology TOML file would hold it (core.topology.from_dict reads it back)."""
    return {"name": topology.name, "mode": topology.mode, "model": topology.model,
            **({"kraft_voters": topology.kraft_voters} if topology.dynamic_quorum else {}),
            "broker_config": dict(topology.broker_config), "controller_config": dict(topology.controller_config),
            "dc": [{"name": d.name, "brokers": d.brokers, "controllers": d.controllers, "mirrors": d.mirrors,
                    **({"spare_controllers": d.spare_controllers} if d.spare_controllers else {}),
                    "broker_config": dict(d.broker_config)} for d in topology.dcs],
            "wan": [{"between": list(w.between), "latency": f"{w.latency_ms!r}ms", "jitter": f"{w.jitter_ms!r}ms"}
                    for w in topology.wan]}


def from_json(data: dict[str, Any], source: str = "test.json") -> RunOptions:
    if data.get("format") != FORMAT:
        raise HarnessError(f"{source}: run_options format {data.get('format')!r}; this harness reads {FORMAT}")
    try:
        fields = {k: v for k, v in data.items() if k != "format"}
        fields["topology"] = topology_module.validate(topology_module.from_dict(fields["topology"], source))
        fields["workload"] = ClientOptions(**{k: _frozen(v) for k, v in fields["workload"].items()})
        extra = fields["workload_options"]
        if extra is not None:
            kind = _WORKLOAD_OPTIONS[extra.pop("type")]
            fields["workload_options"] = kind(**{k: _frozen(v) for k, v in extra.items()})
        fields["results_root"] = Path(fields["results_root"])
        fields["ssh"] = None if fields["ssh"] is None else Path(fields["ssh"])
        for name in ("timeline", "wan_pairs"):
            fields[name] = _frozen(fields[name])
        if name := next((k for k in fields if k not in _RUN_FIELDS), None):
            raise HarnessError(f"{source}: run_options has an unknown field {name!r}")
        return RunOptions(**fields)
    except (KeyError, TypeError) as error:
        raise HarnessError(f"{source}: run_options is not what this harness writes ({type(error).__name__}: "
                           f"{error})") from None


_RUN_FIELDS = {f.name for f in dataclasses.fields(RunOptions)}


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value

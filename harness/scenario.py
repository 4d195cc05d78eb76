"""Incident scenarios as data: one TOML file each in harness/scenarios/ (or any path a user gives).

A scenario names a real-world failure (with references), the topology and Kafka/client config that make it
possible, an exact fault timeline, the anomalies the unsafe config must produce, and a `control`: the smallest
config change under which the same timeline must produce none. File format: docs/scenarios.md.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from core import kafka_versions
from core import topology as topology_module
from core.errors import HarnessError, unknown_name
from core.topology import ConfigValue, Topology
from workloads.group import GroupOptions
from workloads.options import ClientOptions
from workloads.share import ShareOptions
from workloads.txn import TxnOptions

LIBRARY = Path(str(files("harness").joinpath("scenarios")))  # package data: found in a wheel install too
_WORKLOAD_KEYS = {f.name for f in dataclasses.fields(ClientOptions)} - {"extra_producer_config", "topic"}
_GROUP_KEYS = {f.name for f in dataclasses.fields(GroupOptions)} - {"topic", "ready_timeout", "final_read_timeout"}
_TXN_KEYS = {f.name for f in dataclasses.fields(TxnOptions)} - {"topic", "ready_timeout"}
_SHARE_KEYS = {f.name for f in dataclasses.fields(ShareOptions)} - {"topic", "setup_timeout", "final_read_timeout"}
_TOP_KEYS = {"name", "summary", "references", "expect", "time_limit", "topology", "broker_config", "workload",
             "group", "txn", "share", "wan", "timeline", "control", "kafka_version", "client", "client_version"}
CLIENTS = ("librdkafka", "java")


@dataclass(frozen=True)
class TimelineStep:
    at: float
    nemesis: str
    hold: float


@dataclass(frozen=True)
class Variant:
    """What one run of the scenario uses: the unsafe config, or the control's."""

    topology: Topology
    workload: ClientOptions
    wan: tuple[tuple[str, str], ...] = ()
    group: GroupOptions | None = None  # a [group] table: the run uses the consumer-group workload
    txn: TxnOptions | None = None  # a [txn] table: the run uses the transactional workload
    kafka_version: str | None = None  # the control's own release (a bug's fixed version); None: the scenario's
    share: ShareOptions | None = None  # a [share] table: the run uses the share-group workload (KIP-932)
    # A client bug's scenario pins the library under test: `client`, and for the Java driver its kafka-clients
    # release (the affected one, the control's the fixed one). None: the user's --client, the cluster's release.
    client: str | None = None
    client_version: str | None = None

    @property
    def workload_name(self) -> str:
        return ("group" if self.group is not None else "txn" if self.txn is not None
                else "share" if self.share is not None else "queue")

    @property
    def workload_options(self) -> GroupOptions | TxnOptions | ShareOptions | None:
        return self.group if self.group is not None else self.txn if self.txn is not None else self.share


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    references: tuple[str, ...]
    expect: tuple[str, ...]
    time_limit: float
    timeline: tuple[TimelineStep, ...]
    unsafe: Variant
    control: Variant
    control_explains: str
    source: str = field(default="", compare=False)
    kafka_version: str | None = None  # a release the scenario needs (ZooKeeper mode: a 3.x); None: the default

    def variant(self, control: bool) -> Variant:
        return self.control if control else self.unsafe

    def to_json(self, control: bool) -> dict[str, Any]:
        return {"name": self.name, "variant": "control" if control else "unsafe", "summary": self.summary,
                "references": list(self.references), "expect": list(self.expect),
                "control_explains": self.control_explains,
                "timeline": [dataclasses.asdict(s) for s in self.timeline], "source": self.source}


def library() -> list[Scenario]:
    return [load(p) for p in sorted(LIBRARY.glob("*.toml"))]


def find(name_or_path: str) -> Scenario:
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        return load(path)
    candidate = LIBRARY / f"{name_or_path}.toml"
    if candidate.exists():
        return load(candidate)
    known = [p.stem for p in sorted(LIBRARY.glob("*.toml"))]
    if path.suffix == ".toml":
        raise HarnessError(f"scenario file {path} does not exist", hint="known scenarios: " + ", ".join(known))
    raise unknown_name("scenario", name_or_path, known, "`harness scenarios` lists them; or give a .toml path")


def load(path: Path) -> Scenario:
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise HarnessError(f"scenario {path} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise HarnessError(f"scenario {path} is not text (not UTF-8)", hint="docs/scenarios.md") from None
    except OSError as error:
        raise HarnessError(f"cannot read scenario {path}: {error.strerror or error}") from None
    return parse(raw, str(path))


def parse(raw: dict[str, Any], source: str) -> Scenario:
    _no_unknown(raw, _TOP_KEYS, source)
    for key in ("name", "summary", "expect", "control"):
        if key not in raw:
            raise HarnessError(f"{source}: missing `{key}`")
    if "timeline" not in raw and "group" not in raw:
        raise HarnessError(f"{source}: missing `timeline`",
                           hint="only a [group] scenario, whose consumers crash on their own, may have none")
    topo = _topology(raw.get("topology", "stretch-3dc"), raw.get("broker_config", {}), source)
    workload = _workload(ClientOptions(), raw.get("workload", {}), f"{source} [workload]")
    wan = _wan(raw.get("wan", {}), source)
    control_raw = raw["control"]
    _no_unknown(control_raw, {"explains", "workload", "group", "txn", "share", "broker_config", "topology",
                              "kafka_version", "client_version"}, f"{source} [control]")
    if "explains" not in control_raw:
        raise HarnessError(f"{source} [control]: missing `explains` (which config difference prevents the anomaly)")
    control_topo = _topology(control_raw.get("topology", raw.get("topology", "stretch-3dc")),
                             {**raw.get("broker_config", {}), **control_raw.get("broker_config", {})}, source)
    control_workload = _workload(workload, control_raw.get("workload", {}), f"{source} [control.workload]")
    group, control_group = _workload_table(raw, control_raw, "group", GroupOptions(), _GROUP_KEYS, source)
    tables = [t for t in ("group", "txn", "share") if t in raw]
    if len(tables) > 1:
        raise HarnessError(f"{source}: a scenario runs one workload: [{tables[0]}] or [{tables[1]}], not both")
    txn, control_txn = _workload_table(raw, control_raw, "txn", TxnOptions(), _TXN_KEYS, source)
    share, control_share = _workload_table(raw, control_raw, "share", ShareOptions(), _SHARE_KEYS, source)
    version = _kafka_version(raw.get("kafka_version"), (topo,) if "kafka_version" in control_raw else
                             (topo, control_topo), source)
    control_version = (_kafka_version(control_raw["kafka_version"], (control_topo,), f"{source} [control]")
                       if "kafka_version" in control_raw else None)
    client, client_version, control_client_version = _client(raw, control_raw, source)
    return Scenario(
        name=str(raw["name"]), summary=str(raw["summary"]),
        references=tuple(str(r) for r in raw.get("references", [])),
        expect=tuple(str(e) for e in raw["expect"]), time_limit=float(raw.get("time_limit", 60)),
        timeline=_timeline(raw["timeline"], source) if "timeline" in raw else (),
        unsafe=Variant(topo, workload, wan, group, txn, share=share, client=client, client_version=client_version),
        control=Variant(control_topo, control_workload, wan, control_group, control_txn, control_version,
                        share=control_share, client=client, client_version=control_client_version),
        control_explains=str(control_raw["explains"]), source=source, kafka_version=version)


def _client(raw: dict[str, Any], control_raw: dict[str, Any], source: str) -> tuple[str | None, str | None,
                                                                                    str | None]:
    """(client, unsafe client_version, control client_version): a kafka-clients release needs client "java"."""
    client = raw.get("client")
    if client is not None and client not in CLIENTS:
        raise HarnessError(f"{source}: client must be one of {', '.join(CLIENTS)}, not {client!r}")
    versions = []
    for where, table in ((source, raw), (f"{source} [control]", control_raw)):
        version = table.get("client_version")
        if version is not None and (client != "java" or not isinstance(version, str)):
            raise HarnessError(f"{where}: client_version is the Java driver's kafka-clients release, a string",
                               hint='set client = "java" at the top, and e.g. client_version = "3.9.1"')
        versions.append(version)
    return client, versions[0], versions[1] if versions[1] is not None else versions[0]


def _kafka_version(value: Any, topologies: tuple[Topology, ...], source: str) -> str | None:
    """A pinned release, checked now; a ZooKeeper scenario must pin one that still has ZooKeeper mode."""
    if value is not None and not isinstance(value, str):
        raise HarnessError(f"{source}: kafka_version must be a string like \"{kafka_versions.ZOOKEEPER_RELEASE}\"")
    version = kafka_versions.check(value, f"{source}: kafka_version") if value is not None else None
    for topo in topologies:
        try:
            kafka_versions.check_mode(version or kafka_versions.DEFAULT, topo.mode, topo.kraft_voters)
        except HarnessError as error:
            raise HarnessError(f"{source}: {error.message}",
                               hint=f'pin kafka_version = "{kafka_versions.ZOOKEEPER_RELEASE}" at the top') from None
    return version


def _no_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise HarnessError(f"{where}: unknown key {unknown[0]!r}", hint="known: " + ", ".join(sorted(known)))


def _topology(spec: Any, broker_config: dict[str, ConfigValue], source: str) -> Topology:
    if spec == "stretch-3dc":
        base = topology_module.default_topology()
    elif isinstance(spec, dict):
        base = topology_module.from_dict({"name": Path(source).stem, **spec}, source=f"{source} [topology]")
    else:
        raise HarnessError(f"{source}: topology must be \"stretch-3dc\" or a table like a --topology file")
    merged = {**dict(base.broker_config), **broker_config}
    return topology_module.validate(dataclasses.replace(base, broker_config=tuple(sorted(merged.items()))))


def _workload(base: ClientOptions, table: dict[str, Any], where: str) -> ClientOptions:
    _no_unknown(table, _WORKLOAD_KEYS, where)
    try:
        return dataclasses.replace(base, **{key: _frozen(value) for key, value in table.items()})
    except TypeError as error:
        raise HarnessError(f"{where}: {error}") from None
    except HarnessError as error:  # a value ClientOptions refuses: say which file and table it came from
        raise HarnessError(f"{where}: {error.args[0]}", hint=error.hint) from None


def _workload_table(raw: dict[str, Any], control_raw: dict[str, Any], name: str, default: Any, keys: set[str],
                    source: str) -> tuple[Any, Any]:
    """A workload's `[name]` table and its `[control.name]` on top: (unsafe options, control options), or
    (None, None) without the table; a control table without the unsafe one is refused."""
    if name not in raw:
        if name in control_raw:
            raise HarnessError(f"{source} [control.{name}]: the unsafe variant has no [{name}] table")
        return None, None
    unsafe = _options(default, raw[name], keys, f"{source} [{name}]")
    return unsafe, _options(unsafe, control_raw.get(name, {}), keys, f"{source} [control.{name}]")


def _options(base: Any, table: Any, keys: set[str], where: str) -> Any:
    """A workload's own options (GroupOptions, TxnOptions): `base` with the table's keys replaced."""
    if not isinstance(table, dict):
        raise HarnessError(f"{where}: must be a table of the workload's options")
    _no_unknown(table, keys, where)
    try:
        return dataclasses.replace(base, **table)
    except TypeError as error:
        raise HarnessError(f"{where}: {error}") from None
    except HarnessError as error:
        raise HarnessError(f"{where}: {error.args[0]}", hint=error.hint) from None


def _frozen(value: Any) -> Any:
    """TOML arrays as tuples: the options are frozen and hashable."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _wan(table: dict[str, Any], source: str) -> tuple[tuple[str, str], ...]:
    _no_unknown(table, {"latency", "jitter", "loss"}, f"{source} [wan]")
    return tuple(sorted((k, str(v)) for k, v in table.items()))


def _timeline(steps: Any, source: str) -> tuple[TimelineStep, ...]:
    if not isinstance(steps, list) or not steps:
        raise HarnessError(f"{source}: `timeline` needs at least one [[timeline]] step")
    parsed = []
    for i, step in enumerate(steps):
        where = f"{source} timeline step {i + 1}"
        _no_unknown(step, {"at", "nemesis", "hold"}, where)
        try:
            parsed.append(TimelineStep(float(step["at"]), str(step["nemesis"]), float(step["hold"])))
        except KeyError as missing:
            raise HarnessError(f"{where}: missing {missing}") from None
    return tuple(parsed)

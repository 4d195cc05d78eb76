"""Where the nodes are: datacenters, brokers and controllers, as immutable data parsed from TOML or flags.

Node ids: brokers are numbered 1..B across DCs in order, KRaft controllers 101..100+C, so a broker id in a
Kafka log reads the same as in our names (`dc2-broker1` has node.id 2 in the default 3-DC topology).

`mode = "zookeeper"` (Kafka < 4.0) makes the controller-side nodes ZooKeeper servers instead (role `zookeeper`,
names `<dc>-zookeeper<i>`, myid 101..); the brokers then elect their controller through ZooKeeper.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

CONTROLLER_ID_BASE = 100
MODES = ("kraft", "zookeeper")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
ConfigValue = str | int | float | bool


@dataclass(frozen=True)
class DataCenter:
    name: str
    brokers: int = 1
    controllers: int = 1
    broker_config: tuple[tuple[str, ConfigValue], ...] = ()


@dataclass(frozen=True)
class Node:
    node_id: int
    name: str  # e.g. "dc1-broker1"; the container is "<run-id>-<name>"
    role: str  # "broker", "controller" (KRaft) or "zookeeper" (a ZooKeeper server, in ZooKeeper mode)
    dc: str

    @property
    def is_broker(self) -> bool:
        return self.role == "broker"


@dataclass(frozen=True)
class Topology:
    name: str
    dcs: tuple[DataCenter, ...]
    broker_config: tuple[tuple[str, ConfigValue], ...] = ()
    controller_config: tuple[tuple[str, ConfigValue], ...] = ()
    mode: str = "kraft"  # or "zookeeper": ZooKeeper servers instead of KRaft controllers
    nodes: tuple[Node, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", _number_nodes(self.dcs, self.mode))

    @property
    def brokers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "broker")

    @property
    def controllers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "controller")

    @property
    def zookeepers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "zookeeper")

    @property
    def quorum(self) -> tuple[Node, ...]:
        """The nodes that hold the cluster's metadata: KRaft controllers, or ZooKeeper servers."""
        return tuple(n for n in self.nodes if n.role != "broker")

    def dc_names(self) -> tuple[str, ...]:
        return tuple(dc.name for dc in self.dcs)

    def in_dc(self, dc: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.dc == dc)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise HarnessError(f"no node named {name!r} in topology {self.name!r}",
                           hint="nodes are " + ", ".join(n.name for n in self.nodes))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "dcs": [{"name": d.name, "brokers": d.brokers, "controllers": d.controllers,
                     "broker_config": dict(d.broker_config)} for d in self.dcs],
            "broker_config": dict(self.broker_config),
            "controller_config": dict(self.controller_config),
            "nodes": [{"id": n.node_id, "name": n.name, "role": n.role, "dc": n.dc} for n in self.nodes],
        }


def _number_nodes(dcs: tuple[DataCenter, ...], mode: str = "kraft") -> tuple[Node, ...]:
    nodes: list[Node] = []
    broker_id, controller_id = 0, CONTROLLER_ID_BASE
    role = "zookeeper" if mode == "zookeeper" else "controller"
    for dc in dcs:
        for i in range(1, dc.controllers + 1):
            controller_id += 1
            nodes.append(Node(controller_id, f"{dc.name}-{role}{i}", role, dc.name))
        for i in range(1, dc.brokers + 1):
            broker_id += 1
            nodes.append(Node(broker_id, f"{dc.name}-broker{i}", "broker", dc.name))
    return tuple(nodes)


def uniform(dcs: int = 3, brokers_per_dc: int = 1, controllers: int = 3, name: str | None = None,
            mode: str = "kraft") -> Topology:
    """N DCs with M brokers each; controllers (or ZooKeeper servers) spread round-robin over the DCs."""
    if not 1 <= dcs <= 9:
        raise HarnessError(f"--dcs must be between 1 and 9, got {dcs}")
    if not 1 <= brokers_per_dc <= 9:
        raise HarnessError(f"--brokers-per-dc must be between 1 and 9, got {brokers_per_dc}")
    if controllers not in (1, 3, 5):
        raise HarnessError(f"a quorum of {controllers} controllers is not supported", hint="use 1, 3 or 5")
    _mode(mode, "--mode")
    per_dc = [controllers // dcs + (1 if i < controllers % dcs else 0) for i in range(dcs)]
    datacenters = tuple(DataCenter(f"dc{i + 1}", brokers_per_dc, per_dc[i]) for i in range(dcs))
    suffix = "-zk" if mode == "zookeeper" else ""
    return validate(Topology(name or f"stretch-{dcs}dc{suffix}", datacenters, mode=mode))


def default_topology() -> Topology:
    """The embedded default: 3 DCs, one broker and one KRaft controller in each."""
    return uniform(3, 1, 3, name="stretch-3dc")


def load(path: str | Path) -> Topology:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"topology file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise HarnessError(f"topology file {path} is not valid TOML: {error}") from None
    return from_dict(raw, source=str(path))


def from_dict(raw: dict[str, Any], source: str = "topology") -> Topology:
    known = {"name", "mode", "dc", "broker_config", "controller_config"}
    _reject_unknown(raw, known, source)
    dcs_raw = raw.get("dc")
    if not isinstance(dcs_raw, list) or not dcs_raw:
        raise HarnessError(f"{source}: needs at least one [[dc]] table", hint='e.g. [[dc]] name = "dc1" brokers = 1')
    dcs = []
    for i, dc in enumerate(dcs_raw):
        where = f"{source}: dc #{i + 1}"
        if not isinstance(dc, dict):
            raise HarnessError(f"{where} must be a table")
        _reject_unknown(dc, {"name", "brokers", "controllers", "broker_config"}, where)
        dcs.append(DataCenter(
            name=_string(dc.get("name", f"dc{i + 1}"), f"{where} name"),
            brokers=_count(dc.get("brokers", 1), f"{where} brokers", 0),
            controllers=_count(dc.get("controllers", 1), f"{where} controllers", 0),
            broker_config=_config(dc.get("broker_config", {}), f"{where} broker_config"),
        ))
    topology = Topology(
        name=_string(raw.get("name", Path(source).stem), f"{source}: name"),
        dcs=tuple(dcs),
        broker_config=_config(raw.get("broker_config", {}), f"{source}: broker_config"),
        controller_config=_config(raw.get("controller_config", {}), f"{source}: controller_config"),
        mode=_mode(raw.get("mode", "kraft"), f"{source}: mode"),
    )
    return validate(topology, source)


def validate(topology: Topology, source: str = "topology") -> Topology:
    names = [dc.name for dc in topology.dcs]
    for name in names:
        if not _NAME.match(name):
            raise HarnessError(f"{source}: DC name {name!r} is not allowed",
                               hint="lowercase letters, digits and '-', starting with a letter, at most 20")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise HarnessError(f"{source}: DC name {duplicates[0]!r} is used twice")
    if not topology.brokers:
        raise HarnessError(f"{source}: has no brokers")
    if len(topology.quorum) not in (1, 3, 5):
        what = "ZooKeeper servers" if topology.mode == "zookeeper" else "controllers"
        raise HarnessError(f"{source}: has {len(topology.quorum)} {what}",
                           hint=f"a {'ZooKeeper ensemble' if topology.mode == 'zookeeper' else 'KRaft quorum'} "
                                "needs 1, 3 or 5 in total (`controllers` per DC)")
    if len(topology.nodes) > 40:
        raise HarnessError(f"{source}: {len(topology.nodes)} nodes is more than this harness runs on one machine (40)")
    return topology


def _reject_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise HarnessError(f"{where}: unknown key {unknown[0]!r}", hint="known keys: " + ", ".join(sorted(known)))


def _mode(value: Any, where: str) -> str:
    if value not in MODES:
        raise HarnessError(f"{where} must be one of {', '.join(MODES)}, got {value!r}",
                           hint="zookeeper needs Kafka < 4.0 (the default 3.9.1 has it)")
    return str(value)


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise HarnessError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _count(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 9:
        raise HarnessError(f"{where} must be a whole number from {minimum} to 9, got {value!r}")
    return value


def _config(value: Any, where: str) -> tuple[tuple[str, ConfigValue], ...]:
    if not isinstance(value, dict):
        raise HarnessError(f"{where} must be a table of Kafka settings")
    for key, setting in value.items():
        if not isinstance(setting, str | int | float | bool):
            raise HarnessError(f"{where}: {key} must be a string, number or boolean")
    return tuple(sorted(value.items()))

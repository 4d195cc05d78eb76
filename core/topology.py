"""Where the nodes are: datacenters, brokers and controllers, as immutable data parsed from TOML or flags.

Node ids: brokers are numbered 1..B across DCs in order, KRaft controllers 101..100+C, MirrorMaker 2 nodes
201..200+M, so a broker id in a Kafka log reads the same as in our names (`dc2-broker1` has node.id 2 in the
default 3-DC topology).

`mode = "zookeeper"` (Kafka < 4.0) makes the controller-side nodes ZooKeeper servers instead (role `zookeeper`,
names `<dc>-zookeeper<i>`, myid 101..); the brokers then elect their controller through ZooKeeper.

Two multi-DC models (`model`, docs/topologies.md):
- "stretch" (the default): one Kafka cluster, named "main", whose brokers and quorum are spread over the DCs.
- "active-active": one cluster per DC, named after the DC, each with its own brokers and KRaft quorum, joined by
  MirrorMaker 2 nodes (role `mirror`, names `<dc>-mirror<i>`); a DC's mirror nodes copy the other clusters'
  test topics into their own DC's cluster.

`kraft_voters = "dynamic"` (KIP-853, Kafka 3.9+) formats the controllers with `--initial-controllers` and has every
node find the quorum through `controller.quorum.bootstrap.servers`, so voters can be added and removed while the
cluster runs (nemesis/quorum.py). A DC's `spare_controllers` are controllers formatted with
`--no-initial-controllers`: they start as observers, for the add-controller nemesis to promote. The default,
"static", lists the voters in `controller.quorum.voters`, which no one can change without a restart.

`wan`: the standing WAN a topology file asks for, one `WanLink` per DC pair (a one-way latency added to each
direction, as nemesis/wan_plan.py applies it); pairs it does not name are not shaped. The runner applies it when
no --wan-* flag is given.

Presets: the TOML files in core/topologies/ are topologies by name (`resolve("stretch-2dc")`).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from core import kafka_versions
from core.errors import HarnessError
from core.units import parse_duration_ms

CONTROLLER_ID_BASE = 100
MIRROR_ID_BASE = 200
MODES = ("kraft", "zookeeper")
MODELS = ("stretch", "active-active")
KRAFT_VOTERS = ("static", "dynamic")
STRETCH_CLUSTER = "main"  # the name of the one cluster of a stretch topology
PRESETS = Path(str(files("core").joinpath("topologies")))  # package data: found in a wheel install too
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
ConfigValue = str | int | float | bool


@dataclass(frozen=True)
class DataCenter:
    name: str
    brokers: int = 1
    controllers: int = 1
    broker_config: tuple[tuple[str, ConfigValue], ...] = ()
    mirrors: int = 0  # MirrorMaker 2 nodes (active-active only): they copy the other DCs' topics into this DC
    spare_controllers: int = 0  # controllers started as observers, not voters (kraft_voters = "dynamic" only)


@dataclass(frozen=True)
class WanLink:
    """One [[wan]] table: what every link between two DCs adds, one way, in each direction."""

    between: tuple[str, str]  # the two DC names, sorted
    latency_ms: float
    jitter_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"between": list(self.between), "latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms}


@dataclass(frozen=True)
class Node:
    node_id: int
    name: str  # e.g. "dc1-broker1"; the container is "<run-id>-<name>"
    role: str  # "broker", "controller" (KRaft), "zookeeper" (ZooKeeper mode) or "mirror" (MirrorMaker 2)
    dc: str
    spare: bool = False  # a controller that starts as an observer, outside the initial voter set

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
    model: str = "stretch"  # or "active-active": one cluster per DC, joined by MirrorMaker 2
    wan: tuple[WanLink, ...] = ()
    kraft_voters: str = "static"  # or "dynamic": a KIP-853 quorum whose voters can change while it runs
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
    def initial_voters(self) -> tuple[Node, ...]:
        """The controllers the quorum is formatted with (every controller but the spares)."""
        return tuple(n for n in self.controllers if not n.spare)

    @property
    def dynamic_quorum(self) -> bool:
        return self.mode == "kraft" and self.kraft_voters == "dynamic"

    @property
    def zookeepers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "zookeeper")

    @property
    def mirrors(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "mirror")

    @property
    def quorum(self) -> tuple[Node, ...]:
        """The nodes that hold the metadata of every cluster: KRaft controllers, or ZooKeeper servers."""
        return tuple(n for n in self.nodes if n.role in ("controller", "zookeeper"))

    @property
    def clusters(self) -> tuple[str, ...]:
        """The Kafka clusters: ("main",) when stretched, else one per DC, named after it."""
        return self.dc_names() if self.model == "active-active" else (STRETCH_CLUSTER,)

    def cluster_of(self, node: Node | str) -> str:
        """The cluster a node belongs to (a mirror node: the cluster it writes into, its own DC's)."""
        found = self.node(node) if isinstance(node, str) else node
        return found.dc if self.model == "active-active" else STRETCH_CLUSTER

    def cluster_nodes(self, cluster: str) -> tuple[Node, ...]:
        if cluster not in self.clusters:
            raise HarnessError(f"no cluster named {cluster!r} in topology {self.name!r}",
                               hint="clusters are " + ", ".join(self.clusters))
        return tuple(n for n in self.nodes if self.cluster_of(n) == cluster)

    def brokers_in(self, cluster: str) -> tuple[Node, ...]:
        return tuple(n for n in self.cluster_nodes(cluster) if n.role == "broker")

    def quorum_in(self, cluster: str) -> tuple[Node, ...]:
        return tuple(n for n in self.cluster_nodes(cluster) if n.role in ("controller", "zookeeper"))

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
            "model": self.model,
            "clusters": list(self.clusters),
            **({"kraft_voters": self.kraft_voters} if self.dynamic_quorum else {}),
            "dcs": [{"name": d.name, "brokers": d.brokers, "controllers": d.controllers, "mirrors": d.mirrors,
                     **({"spare_controllers": d.spare_controllers} if d.spare_controllers else {}),
                     "broker_config": dict(d.broker_config)} for d in self.dcs],
            "wan": [link.to_json() for link in self.wan],
            "broker_config": dict(self.broker_config),
            "controller_config": dict(self.controller_config),
            "nodes": [{"id": n.node_id, "name": n.name, "role": n.role, "dc": n.dc,
                       **({"spare": True} if n.spare else {})} for n in self.nodes],
        }


def _number_nodes(dcs: tuple[DataCenter, ...], mode: str = "kraft") -> tuple[Node, ...]:
    nodes: list[Node] = []
    broker_id, controller_id, mirror_id = 0, CONTROLLER_ID_BASE, MIRROR_ID_BASE
    role = "zookeeper" if mode == "zookeeper" else "controller"
    for dc in dcs:
        for i in range(1, dc.controllers + dc.spare_controllers + 1):
            controller_id += 1
            nodes.append(Node(controller_id, f"{dc.name}-{role}{i}", role, dc.name, spare=i > dc.controllers))
        for i in range(1, dc.brokers + 1):
            broker_id += 1
            nodes.append(Node(broker_id, f"{dc.name}-broker{i}", "broker", dc.name))
        for i in range(1, dc.mirrors + 1):
            mirror_id += 1
            nodes.append(Node(mirror_id, f"{dc.name}-mirror{i}", "mirror", dc.name))
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
    """The embedded default: 3 DCs, one broker and one KRaft controller in each (the stretch-3dc preset)."""
    return uniform(3, 1, 3, name="stretch-3dc")


def presets() -> tuple[str, ...]:
    """The names of the topologies in core/topologies/, for `--topology <name>`."""
    return tuple(sorted(path.stem for path in PRESETS.glob("*.toml")))


def resolve(name_or_path: str | Path) -> Topology:
    """`--topology`: a path to an existing file is loaded; otherwise the name of a preset."""
    path = Path(name_or_path)
    if path.is_file():
        return load(path)
    if str(name_or_path) in presets():
        return load(PRESETS / f"{name_or_path}.toml")
    hint = "presets: " + ", ".join(presets()) + "; or a path to a TOML file"
    close = difflib.get_close_matches(str(name_or_path), presets(), n=1)
    if close:
        hint = f"did you mean {close[0]}? " + hint
    if path.exists():
        raise HarnessError(f"topology {path} is not a file", hint=hint)
    if path.suffix == ".toml" or len(path.parts) > 1:
        raise HarnessError(f"topology file {path} does not exist", hint=hint)
    raise HarnessError(f"no topology preset named {str(name_or_path)!r}", hint=hint)


def wan_pairs_ms(topology: Topology) -> dict[tuple[str, str], float]:
    """The topology's standing WAN as one-way latency per DC pair (sorted names), the shape WanSpec takes."""
    return {link.between: link.latency_ms for link in topology.wan}


def wan_jitters_ms(topology: Topology) -> dict[tuple[str, str], float]:
    """The jitter of each DC pair whose [[wan]] table sets one."""
    return {link.between: link.jitter_ms for link in topology.wan if link.jitter_ms}


def load(path: str | Path) -> Topology:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"topology file {path} does not exist",
                           hint="presets: " + ", ".join(presets())) from None
    except tomllib.TOMLDecodeError as error:
        raise HarnessError(f"topology file {path} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise HarnessError(f"topology file {path} is not text (not UTF-8): is it the right file?",
                           hint="a topology is a TOML file, docs/topologies.md") from None
    except OSError as error:
        raise HarnessError(f"cannot read topology file {path}: {error.strerror or error}") from None
    return from_dict(raw, source=str(path))


def from_dict(raw: dict[str, Any], source: str = "topology") -> Topology:
    known = {"name", "mode", "model", "dc", "wan", "broker_config", "controller_config", "kraft_voters"}
    _reject_unknown(raw, known, source)
    dcs_raw = raw.get("dc")
    if not isinstance(dcs_raw, list) or not dcs_raw:
        raise HarnessError(f"{source}: needs at least one [[dc]] table", hint='e.g. [[dc]] name = "dc1" brokers = 1')
    dcs = []
    for i, dc in enumerate(dcs_raw):
        where = f"{source}: dc #{i + 1}"
        if not isinstance(dc, dict):
            raise HarnessError(f"{where} must be a table")
        _reject_unknown(dc, {"name", "brokers", "controllers", "mirrors", "broker_config", "spare_controllers"}, where)
        dcs.append(DataCenter(
            name=_string(dc.get("name", f"dc{i + 1}"), f"{where} name"),
            brokers=_count(dc.get("brokers", 1), f"{where} brokers", 0),
            controllers=_count(dc.get("controllers", 1), f"{where} controllers", 0),
            broker_config=_config(dc.get("broker_config", {}), f"{where} broker_config"),
            mirrors=_count(dc.get("mirrors", 0), f"{where} mirrors", 0),
            spare_controllers=_count(dc.get("spare_controllers", 0), f"{where} spare_controllers", 0),
        ))
    wan_raw = raw.get("wan", [])
    if not isinstance(wan_raw, list):
        raise HarnessError(f"{source}: wan must be [[wan]] tables", hint='e.g. [[wan]] between = ["dc1", "dc2"]')
    topology = Topology(
        name=_string(raw.get("name", Path(source).stem), f"{source}: name"),
        dcs=tuple(dcs),
        broker_config=_config(raw.get("broker_config", {}), f"{source}: broker_config"),
        controller_config=_config(raw.get("controller_config", {}), f"{source}: controller_config"),
        mode=_mode(raw.get("mode", "kraft"), f"{source}: mode"),
        model=_model(raw.get("model", "stretch"), f"{source}: model"),
        wan=tuple(_wan_link(link, f"{source}: wan #{i + 1}") for i, link in enumerate(wan_raw)),
        kraft_voters=_kraft_voters(raw.get("kraft_voters", "static"), f"{source}: kraft_voters"),
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
    _model(topology.model, f"{source}: model")
    _validate_voters(topology, source)
    if not topology.brokers:
        raise HarnessError(f"{source}: has no brokers")
    if topology.model == "active-active":
        _validate_active_active(topology, source)
    else:
        if topology.mirrors:
            raise HarnessError(f"{source}: mirrors (MirrorMaker 2 nodes) need model = \"active-active\"",
                               hint="a stretch topology is one cluster; there is nothing to mirror")
        _check_quorum(_voters(topology.quorum), topology.mode, f"{source}:", "in total (`controllers` per DC)")
    _validate_wan(topology, source)
    if len(topology.nodes) > 40:
        raise HarnessError(f"{source}: {len(topology.nodes)} nodes is more than this harness runs on one machine (40)")
    return topology


def _validate_active_active(topology: Topology, source: str) -> None:
    if topology.mode != "kraft":
        raise HarnessError(f"{source}: model = \"active-active\" needs mode = \"kraft\"",
                           hint="one KRaft cluster per DC")
    if len(topology.dcs) < 2:
        raise HarnessError(f"{source}: model = \"active-active\" needs at least 2 DCs, got {len(topology.dcs)}")
    for dc in topology.dcs:
        if not dc.brokers:
            raise HarnessError(f"{source}: DC {dc.name!r} has no brokers", hint="every DC of an active-active "
                               "topology is a cluster of its own and needs at least one broker")
        _check_quorum(_voters(topology.quorum_in(dc.name)), topology.mode, f"{source}: DC {dc.name!r}",
                      "in each DC (each DC is a cluster with its own quorum)")
    if not topology.mirrors:
        raise HarnessError(f"{source}: an active-active topology without mirrors copies nothing between its clusters",
                           hint="set `mirrors = 1` in the DCs that receive the others' topics")


def _voters(quorum: tuple[Node, ...]) -> tuple[Node, ...]:
    return tuple(n for n in quorum if not n.spare)


def _validate_voters(topology: Topology, source: str) -> None:
    _kraft_voters(topology.kraft_voters, f"{source}: kraft_voters")
    if topology.kraft_voters == "dynamic" and topology.mode != "kraft":
        raise HarnessError(f"{source}: kraft_voters = \"dynamic\" needs mode = \"kraft\"",
                           hint="a dynamic quorum is KRaft's (KIP-853); ZooKeeper mode has none")
    spares = [dc.name for dc in topology.dcs if dc.spare_controllers]
    if spares and topology.kraft_voters != "dynamic":
        raise HarnessError(f"{source}: DC {spares[0]!r} has spare_controllers, which need kraft_voters = \"dynamic\"",
                           hint="a static quorum (controller.quorum.voters) cannot take a new voter")


def _kraft_voters(value: Any, where: str) -> str:
    if value not in KRAFT_VOTERS:
        raise HarnessError(f"{where} must be one of {', '.join(KRAFT_VOTERS)}, got {value!r}",
                           hint="dynamic: a KIP-853 quorum whose voters can be added and removed (Kafka 3.9+)")
    return str(value)


def _check_quorum(quorum: tuple[Node, ...], mode: str, where: str, scope: str) -> None:
    if len(quorum) not in (1, 3, 5):
        what = "ZooKeeper servers" if mode == "zookeeper" else "controllers"
        raise HarnessError(f"{where} has {len(quorum)} {what}",
                           hint=f"a {'ZooKeeper ensemble' if mode == 'zookeeper' else 'KRaft quorum'} "
                                f"needs 1, 3 or 5 {scope}")


def _validate_wan(topology: Topology, source: str) -> None:
    seen: set[tuple[str, str]] = set()
    for link in topology.wan:
        a, b = link.between
        for dc in (a, b):
            if dc not in topology.dc_names():
                raise HarnessError(f"{source}: wan between {a} and {b} names DC {dc!r}, which is not in the topology",
                                   hint="DCs are " + ", ".join(topology.dc_names()))
        if a == b:
            raise HarnessError(f"{source}: wan between {a} and {b} names one DC twice",
                               hint="nothing is added inside a DC")
        if link.between in seen:
            raise HarnessError(f"{source}: wan between {a} and {b} is given twice")
        seen.add(link.between)


def _wan_link(table: Any, where: str) -> WanLink:

    if not isinstance(table, dict):
        raise HarnessError(f"{where} must be a table")
    _reject_unknown(table, {"between", "latency", "jitter"}, where)
    between = table.get("between")
    if not (isinstance(between, list) and len(between) == 2 and all(isinstance(dc, str) for dc in between)):
        raise HarnessError(f"{where}: between must name two DCs, got {between!r}", hint='e.g. between = ["dc1", "dc2"]')
    if "latency" not in table:
        raise HarnessError(f"{where}: needs a latency", hint='the one-way delay, e.g. latency = "15ms"')
    durations = []
    for key in ("latency", "jitter"):
        value = table.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise HarnessError(f"{where}: {key} must be a duration, got {value!r}", hint='e.g. "0.5ms" or "15ms"')
        try:
            durations.append(parse_duration_ms(str(value)))
        except HarnessError as error:
            raise HarnessError(f"{where}: {key} {error.message}", hint=error.hint) from None
    first, second = sorted(between)
    return WanLink((first, second), durations[0], durations[1])


def _reject_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise HarnessError(f"{where}: unknown key {unknown[0]!r}", hint="known keys: " + ", ".join(sorted(known)))


def _mode(value: Any, where: str) -> str:
    if value not in MODES:
        raise HarnessError(f"{where} must be one of {', '.join(MODES)}, got {value!r}",
                           hint=f"zookeeper needs Kafka < 4.0 (--kafka-version {kafka_versions.ZOOKEEPER_RELEASE})")
    return str(value)


def _model(value: Any, where: str) -> str:
    if value not in MODELS:
        raise HarnessError(f"{where} must be one of {', '.join(MODELS)}, got {value!r}",
                           hint="stretch: one cluster over all DCs; active-active: one per DC, joined by MirrorMaker 2")
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

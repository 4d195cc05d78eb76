"""`--ssh hosts.toml`: Kafka nodes on real machines, reached over SSH instead of containers of ours.

The file lists every node (name, host, DC, role, Kafka node id) and says how its Kafka process is run:
`managed = true` lets the harness upload and drive its own node script, exactly as in a container; otherwise
the operator's commands (`start = "systemctl start kafka"`, ...) are used, with pid-pattern defaults for
kill, pause, resume and status. Parsing is strict: an unknown key or a missing field is one line naming the
file, the node and the key. `preflight` then checks every host answers and has the tools the nemeses use.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import HarnessError
from core.topology import DataCenter, Node, Topology
from infra.control.base import ExecResult, Remote, RemoteCommandError
from infra.control.ssh import SSHRemote, SSHUnreachable
from infra.kafka_config import BROKER_PORT, DATA_DIR, LOG_DIR

STATES = ("running", "paused", "stopped")
NEEDED_TOOLS = ("iptables", "tc")  # partitions and WAN shaping act with these on every node
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_DC = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_ACTIONS = ("start", "stop", "kill", "pause", "resume", "status")
_TOP_KEYS = {"name", "bootstrap_servers", "cluster_id", "known_hosts", "strict_host_keys", "connect_timeout",
             "defaults", "node"}
_IDENTITY_KEYS = {"name", "host", "address", "dc", "role", "node_id"}
_SHARED_KEYS = {"port", "user", "key", "managed", "kafka_home", "properties", "data_dir", "log_dir",
                "process_pattern", *_ACTIONS}
_MANAGED_ONLY = ("kafka_home", "properties", "data_dir")
# After SIGKILL a JVM's main thread turns zombie (and pgrep stops matching) while its other threads may
# still be exiting with the listening sockets open; wait, at most 10 s, until no thread of $pids is left but
# zombies. Thread names may hold spaces, so the state is the field after the last ")".
_WAIT_THREADS_GONE = (
    "i=0; while [ $i -lt 100 ]; do left=; for p in $pids; do for t in /proc/$p/task/*/stat; do "
    "[ -r \"$t\" ] && [ \"$(sed 's/.*) //' \"$t\" 2>/dev/null | cut -d' ' -f1)\" != Z ] && left=1; done; done; "
    "[ -z \"$left\" ] && exit 0; sleep 0.1; i=$((i+1)); done; echo \"still exiting: $pids\" >&2; exit 1")
# What operators' service managers print for "is it up", mapped onto the node script's three states.
_STATUS_WORDS = {"running": "running", "active": "running", "paused": "paused", "stopped": "stopped",
                 "inactive": "stopped", "failed": "stopped", "dead": "stopped"}


@dataclass(frozen=True)
class ServiceCommands:
    """How the operator runs Kafka on a machine the harness does not manage: one shell command per action.

    `kill`, `pause`, `resume` and `status` default to signalling / inspecting the process whose command line
    matches `process_pattern` (pkill/pgrep -f), so only `start` and `stop` are required. `status` prints
    running, paused or stopped (systemd's active/inactive/failed are understood too).
    """

    start: str
    stop: str
    kill: str
    pause: str
    resume: str
    status: str

    @classmethod
    def with_defaults(cls, start: str, stop: str, process_pattern: str = "kafka.Kafka",
                      **overrides: str) -> ServiceCommands:
        # "[k]afka.Kafka" still matches the JVM but not a command line that contains the pattern itself.
        bracketed = f"[{process_pattern[0]}]{process_pattern[1:]}" if process_pattern[:1].isalnum() \
            else process_pattern
        p = shlex.quote(bracketed)
        defaults = {
            "kill": f"pids=$(pgrep -f {p}) || exit 0; kill -KILL $pids; {_WAIT_THREADS_GONE}",
            "pause": f"pkill -STOP -f {p}",
            "resume": f"pkill -CONT -f {p}",
            "status": f"p=$(pgrep -o -f {p}) || {{ echo stopped; exit 0; }}; "
                      f"if [ \"$(awk '{{print $3}}' /proc/$p/stat)\" = T ]; then echo paused; else echo running; fi",
        }
        defaults.update(overrides)
        return cls(start=start, stop=stop, **defaults)

    def run(self, remote: Remote, action: str, timeout: float = 60.0) -> str:
        """Do what KafkaNode._call(action) does with the node script, with the operator's commands.

        `format` and `wipe` do nothing: the operator installed and formatted this Kafka, and the harness
        never deletes data it did not create. Anything else the node script can do (clocks) needs managed.
        """
        verb = action.split()[0] if action.strip() else action
        if verb in ("format", "wipe"):
            return ""
        if verb not in _ACTIONS:
            raise HarnessError(f"{remote.name}: `{verb}` needs the harness's node script",
                               hint="set managed = true for this node in the --ssh file")
        command: str = getattr(self, verb)
        if verb != "status":
            return remote.exec(command, timeout=timeout).stdout.strip()
        # `systemctl is-active` exits 3 for "inactive": the word counts, not the exit code.
        result = remote.exec(command, check=False, timeout=timeout)
        return _state(remote.name, command, result)


@dataclass(frozen=True)
class ManagedKafka:
    """Where the harness's node script finds Kafka on a machine it manages."""

    kafka_home: str = "/opt/kafka"
    properties: str | None = None  # an existing server.properties there; None: rendered from the topology
    data_dir: str = DATA_DIR
    log_dir: str = LOG_DIR


@dataclass(frozen=True)
class SSHTarget:
    node: Node
    host: str
    port: int
    user: str
    key_file: str | None
    address: str  # what the other nodes (and partition rules) call this machine
    managed: ManagedKafka | None
    service: ServiceCommands | None  # exactly one of managed / service is set
    log_dir: str

    def remote(self, connect_timeout: float = 10.0, known_hosts: str | None = None,
               strict_host_keys: bool = False) -> SSHRemote:
        return SSHRemote(self.node.name, self.host, self.port, self.user, self.key_file,
                         connect_timeout=connect_timeout, known_hosts=known_hosts, strict_host_keys=strict_host_keys)


@dataclass(frozen=True)
class SSHTargets:
    source: str
    topology: Topology
    targets: tuple[SSHTarget, ...]
    bootstrap_servers: str
    cluster_id: str | None = None
    known_hosts: str | None = None
    strict_host_keys: bool = False
    connect_timeout: float = 10.0

    @property
    def addresses(self) -> dict[str, str]:
        return {t.node.name: t.address for t in self.targets}

    def target(self, name: str) -> SSHTarget:
        for t in self.targets:
            if t.node.name == name:
                return t
        raise KeyError(name)

    def remotes(self) -> dict[str, SSHRemote]:
        """One (not yet connected) SSHRemote per node; close them when done."""
        return {t.node.name: t.remote(self.connect_timeout, self.known_hosts, self.strict_host_keys)
                for t in self.targets}


# ---- preflight -----------------------------------------------------------------------------------------------

def preflight(targets: SSHTargets, remotes: Mapping[str, SSHRemote], tools: tuple[str, ...] = NEEDED_TOOLS) -> None:
    """Every host answers, can act as root, and has `tools`; else one HarnessError naming host and problem."""
    names = [t.node.name for t in targets.targets]
    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        found = list(pool.map(lambda t: _check_host(t, remotes[t.node.name], tools), targets.targets))
    problems = [(name, problem) for name, problem in zip(names, found, strict=True) if problem]
    if problems:
        message, hint = problems[0][1]
        if len(problems) > 1:
            others = ", ".join(name for name, _ in problems[1:])
            hint = f"{hint}; also failing: {others}" if hint else f"also failing: {others}"
        raise HarnessError(message, hint=hint)


def _check_host(target: SSHTarget, remote: SSHRemote, tools: tuple[str, ...]) -> tuple[str, str | None] | None:
    try:
        remote.connect()
        root = remote.exec("id -u", check=False, timeout=20)
        if root.stdout.strip() != "0":
            lines = root.stderr.strip().splitlines()
            why = lines[-1] if lines and not root.ok else f"commands run as uid {root.stdout.strip() or '?'}"
            return f"{remote.where}: cannot act as root ({why})", "log in as root, or allow `sudo -n` for this user"
        wanted = list(tools)
        if target.managed is not None:
            wanted.append("java")
        elif target.service is not None and "pgrep" in target.service.status:
            wanted += ["pgrep", "pkill"]
        checks = " ".join(shlex.quote(t) for t in wanted)
        missing = remote.exec(f"for t in {checks}; do command -v \"$t\" >/dev/null 2>&1 || echo \"$t\"; done",
                              timeout=20).stdout.split()
        if missing:
            listed = ", ".join(f"`{t}`" for t in missing)
            return f"{remote.where}: {listed} not found", "the nemeses need iptables and tc (iproute2) on every node"
        if target.managed is not None:
            libs = f"{target.managed.kafka_home}/libs"
            if not remote.exec(f"test -d {shlex.quote(libs)}", check=False, timeout=20).ok:
                return f"{remote.where}: no Kafka at {target.managed.kafka_home} ({libs} is missing)", \
                    "set kafka_home to where Kafka is unpacked"
    except SSHUnreachable as error:
        return error.message, error.hint
    return None


# ---- parsing -------------------------------------------------------------------------------------------------

def load(path: str | Path) -> SSHTargets:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"--ssh file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise HarnessError(f"--ssh file {path} is not valid TOML: {error}") from None
    return from_dict(raw, source=str(path), base=path.parent)


def from_dict(raw: dict[str, Any], source: str = "hosts.toml", base: Path | None = None) -> SSHTargets:
    _reject_unknown(raw, _TOP_KEYS, source)
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise HarnessError(f"{source}: [defaults] must be a table")
    _reject_unknown(defaults, _SHARED_KEYS, f"{source}: [defaults]")
    tables = raw.get("node")
    if not isinstance(tables, list) or not tables:
        raise HarnessError(f"{source}: needs at least one [[node]] table",
                           hint='e.g. [[node]] name = "dc1-broker1" host = "10.0.0.5" dc = "dc1" role = "broker"')
    targets = tuple(_target({**defaults, **t} if isinstance(t, dict) else t, f"{source}: node #{i + 1}", base)
                    for i, t in enumerate(tables))
    nodes = tuple(t.node for t in targets)
    _check_unique(nodes, source)
    if not any(n.is_broker for n in nodes):
        raise HarnessError(f"{source}: lists no broker", hint='give at least one node role = "broker"')
    controllers = sum(1 for n in nodes if not n.is_broker)
    if any(t.managed and t.managed.properties is None for t in targets) and controllers not in (1, 3, 5):
        raise HarnessError(f"{source}: {controllers} controllers listed, but managed nodes without `properties` "
                           "get a configuration rendered from this file",
                           hint="list the 1, 3 or 5 KRaft controllers, or point `properties` at each node's own")
    timeout = raw.get("connect_timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise HarnessError(f"{source}: connect_timeout must be a positive number of seconds, got {timeout!r}")
    strict = raw.get("strict_host_keys", False)
    if not isinstance(strict, bool):
        raise HarnessError(f"{source}: strict_host_keys must be true or false, got {strict!r}")
    brokers = [t for t in targets if t.node.is_broker]
    bootstrap = raw.get("bootstrap_servers", ",".join(f"{t.address}:{BROKER_PORT}" for t in brokers))
    if not isinstance(bootstrap, str) or not all(re.fullmatch(r"[^\s:,]+:\d{1,5}", s) for s in bootstrap.split(",")):
        raise HarnessError(f"{source}: bootstrap_servers must be host:port[,host:port...], got {bootstrap!r}")
    return SSHTargets(
        source=source,
        topology=_topology(_optional_string(raw, "name", source) or Path(source).stem, nodes),
        targets=targets,
        bootstrap_servers=bootstrap,
        cluster_id=_optional_string(raw, "cluster_id", source),
        known_hosts=_path(_optional_string(raw, "known_hosts", source), base),
        strict_host_keys=strict,
        connect_timeout=float(timeout),
    )


def _target(table: Any, where: str, base: Path | None) -> SSHTarget:
    if not isinstance(table, dict):
        raise HarnessError(f"{where} must be a table")
    name = _string(table, "name", where)
    if not _NAME.match(name):
        raise HarnessError(f"{where}: name {name!r} is not allowed",
                           hint="lowercase letters, digits and '-', starting with a letter, at most 40")
    where = f"{where} ({name})"
    _reject_unknown(table, _IDENTITY_KEYS | _SHARED_KEYS, where)
    dc = _string(table, "dc", where)
    if not _DC.match(dc):
        raise HarnessError(f"{where}: dc {dc!r} is not allowed",
                           hint="lowercase letters, digits and '-', starting with a letter, at most 20")
    role = _string(table, "role", where)
    if role not in ("broker", "controller"):
        raise HarnessError(f"{where}: role must be \"broker\" or \"controller\", got {role!r}")
    node_id = table.get("node_id")
    if isinstance(node_id, bool) or not isinstance(node_id, int) or node_id < 0:
        raise HarnessError(f"{where}: node_id must be Kafka's node.id, a whole number >= 0, got {node_id!r}")
    host = _string(table, "host", where)
    port = table.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise HarnessError(f"{where}: port must be a TCP port number, got {port!r}")
    key = _path(_optional_string(table, "key", where), base)
    if key is not None and not Path(key).expanduser().is_file():
        raise HarnessError(f"{where}: key file {key} does not exist")
    managed = table.get("managed", False)
    if not isinstance(managed, bool):
        raise HarnessError(f"{where}: managed must be true or false, got {managed!r}")
    log_dir = _optional_string(table, "log_dir", where) or LOG_DIR
    return SSHTarget(
        node=Node(node_id, name, role, dc), host=host, port=port, user=_optional_string(table, "user", where) or "root",
        key_file=key, address=_optional_string(table, "address", where) or host,
        managed=_managed(table, where, log_dir) if managed else None,
        service=None if managed else _service(table, where), log_dir=log_dir)


def _managed(table: dict[str, Any], where: str, log_dir: str) -> ManagedKafka:
    commands = [a for a in (*_ACTIONS, "process_pattern") if a in table]
    if commands:
        raise HarnessError(f"{where}: `{commands[0]}` does not apply with managed = true",
                           hint="the harness drives managed nodes with its own node script; drop the commands")
    return ManagedKafka(
        kafka_home=_optional_string(table, "kafka_home", where) or "/opt/kafka",
        properties=_optional_string(table, "properties", where),
        data_dir=_optional_string(table, "data_dir", where) or DATA_DIR,
        log_dir=log_dir)


def _service(table: dict[str, Any], where: str) -> ServiceCommands:
    for key in _MANAGED_ONLY:
        if key in table:
            raise HarnessError(f"{where}: `{key}` only applies with managed = true",
                               hint="for a node the operator runs, give start/stop commands instead")
    for key in ("start", "stop"):
        if key not in table:
            raise HarnessError(f"{where}: missing `{key}`",
                               hint='say how Kafka is started and stopped there (e.g. start = "systemctl start '
                                    'kafka"), or set managed = true')
    given = {a: _string(table, a, where) for a in ("kill", "pause", "resume", "status") if a in table}
    pattern = _optional_string(table, "process_pattern", where) or "kafka.Kafka"
    return ServiceCommands.with_defaults(_string(table, "start", where), _string(table, "stop", where),
                                         pattern, **given)


def _topology(name: str, nodes: tuple[Node, ...]) -> Topology:
    """A Topology whose nodes are exactly the listed ones (names and ids as in the file, in file order)."""
    dcs: dict[str, list[Node]] = {}
    for n in nodes:
        dcs.setdefault(n.dc, []).append(n)
    topology = Topology(name, tuple(
        DataCenter(dc, sum(n.is_broker for n in members), sum(not n.is_broker for n in members))
        for dc, members in dcs.items()))
    # Topology numbers generated nodes itself; real machines already have their names and node.ids.
    object.__setattr__(topology, "nodes", nodes)
    return topology


def _check_unique(nodes: tuple[Node, ...], source: str) -> None:
    for attribute, label in (("name", "name"), ("node_id", "node_id")):
        seen: set[object] = set()
        for n in nodes:
            value = getattr(n, attribute)
            if value in seen:
                raise HarnessError(f"{source}: {label} {value!r} is used by two nodes",
                                   hint="brokers and controllers share one node.id space" if label == "node_id"
                                   else None)
            seen.add(value)


def _state(node: str, command: str, result: ExecResult) -> str:
    words = result.stdout.split()
    word = words[0].lower() if words else ""
    if word in _STATUS_WORDS:
        return _STATUS_WORDS[word]
    if not result.ok:
        raise RemoteCommandError(node, command, result)
    raise HarnessError(f"{node}: status command `{command}` printed {result.stdout.strip()[:60]!r}",
                       hint="it must print running, paused or stopped")


def _reject_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise HarnessError(f"{where}: unknown key {unknown[0]!r}", hint="known keys: " + ", ".join(sorted(known)))


def _string(table: dict[str, Any], key: str, where: str) -> str:
    if key not in table:
        raise HarnessError(f"{where}: missing `{key}`")
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise HarnessError(f"{where}: `{key}` must be a non-empty string, got {value!r}")
    return value


def _optional_string(table: dict[str, Any], key: str, where: str) -> str | None:
    return _string(table, key, where) if key in table else None


def _path(value: str | None, base: Path | None) -> str | None:
    """Relative paths in the file are relative to the file, as a reader of it would expect."""
    if value is None or base is None or value.startswith(("/", "~")):
        return value
    return str(base / value)

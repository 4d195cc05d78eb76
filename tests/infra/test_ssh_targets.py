"""The --ssh hosts file: what a valid file becomes, and the one line each mistake produces."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.errors import HarnessError
from infra.control.base import ExecResult, RemoteCommandError
from infra.control.fake import FakeRemote
from infra.ssh_targets import ServiceCommands, SSHTargets, from_dict, load, preflight

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ssh" / "hosts.toml"

MINIMAL = """
[defaults]
managed = true

[[node]]
name = "east-controller"
host = "10.0.1.10"
dc = "east"
role = "controller"
node_id = 101

[[node]]
name = "east-broker"
host = "10.0.1.11"
dc = "east"
role = "broker"
node_id = 1

[[node]]
name = "west-broker"
host = "10.0.2.11"
address = "192.168.2.11"
port = 2222
user = "ops"
dc = "west"
role = "broker"
node_id = 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hosts.toml"
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(HarnessError) as raised:
        load(write(tmp_path, text))
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_nodes_keep_the_names_ids_and_order_of_the_file(tmp_path: Path) -> None:
    targets = load(write(tmp_path, MINIMAL))
    topology = targets.topology
    assert [(n.name, n.node_id, n.role, n.dc) for n in topology.nodes] == [
        ("east-controller", 101, "controller", "east"),
        ("east-broker", 1, "broker", "east"),
        ("west-broker", 2, "broker", "west"),
    ]
    assert [(dc.name, dc.brokers, dc.controllers) for dc in topology.dcs] == [("east", 1, 1), ("west", 1, 0)]
    assert [b.name for b in topology.brokers] == ["east-broker", "west-broker"]
    assert topology.name == "hosts"


def test_address_defaults_to_host_and_feeds_the_default_bootstrap(tmp_path: Path) -> None:
    targets = load(write(tmp_path, MINIMAL))
    assert targets.addresses == {"east-controller": "10.0.1.10", "east-broker": "10.0.1.11",
                                 "west-broker": "192.168.2.11"}
    assert targets.bootstrap_servers == "10.0.1.11:9092,192.168.2.11:9092"


def test_defaults_apply_unless_a_node_overrides_them(tmp_path: Path) -> None:
    targets = load(write(tmp_path, MINIMAL))
    east, west = targets.target("east-broker"), targets.target("west-broker")
    assert (east.user, east.port, west.user, west.port) == ("root", 22, "ops", 2222)
    assert east.managed is not None and east.managed.kafka_home == "/opt/kafka" and east.service is None


def test_remotes_are_one_per_node_with_the_files_login(tmp_path: Path) -> None:
    remotes = load(write(tmp_path, MINIMAL)).remotes()
    west = remotes["west-broker"]
    assert (west.name, west.host, west.port, west.user) == ("west-broker", "10.0.2.11", 2222, "ops")
    assert west.where == "ssh ops@10.0.2.11:2222 (west-broker)"


def test_a_relative_key_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "lab").write_text("not read while parsing")
    targets = load(write(tmp_path, MINIMAL.replace("managed = true", 'managed = true\nkey = "keys/lab"')))
    assert {t.key_file for t in targets.targets} == {str(tmp_path / "keys" / "lab")}


def test_operator_commands_get_pattern_defaults_for_the_rest(tmp_path: Path) -> None:
    targets = load(write(tmp_path, """
        [[node]]
        name = "b1"
        host = "h1"
        dc = "dc1"
        role = "broker"
        node_id = 1
        start = "systemctl start kafka"
        stop = "systemctl stop kafka"
        status = "systemctl is-active kafka"
    """))
    service = targets.target("b1").service
    assert service is not None and targets.target("b1").managed is None
    assert (service.start, service.stop, service.status) == (
        "systemctl start kafka", "systemctl stop kafka", "systemctl is-active kafka")
    assert service.kill.startswith("pids=$(pgrep -f '[k]afka.Kafka') || exit 0; kill -KILL $pids; ")
    assert service.pause == "pkill -STOP -f '[k]afka.Kafka'"


def test_the_example_file_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "kafka_lab").write_text("key")
    targets = load(EXAMPLE)
    assert len(targets.topology.brokers) == 3 and len(targets.topology.controllers) == 3
    assert targets.target("dc2-broker1").user == "ops"


@pytest.mark.parametrize("text, expected", [
    ('colour = "red"\n' + MINIMAL, "hosts.toml: unknown key 'colour'"),
    (MINIMAL.replace('address = "192.168.2.11"', 'adress = "x"'),
     "hosts.toml: node #3 (west-broker): unknown key 'adress'"),
    (MINIMAL.replace("managed = true", "managed = true\nhost = 'x'"), "hosts.toml: [defaults]: unknown key 'host'"),
    (MINIMAL.replace('host = "10.0.1.11"\n', ""), "hosts.toml: node #2 (east-broker): missing `host`"),
    (MINIMAL.replace('name = "east-broker"\n', ""), "hosts.toml: node #2: missing `name`"),
    (MINIMAL.replace("node_id = 2", 'node_id = "2"'), "node #3 (west-broker): node_id must be Kafka's node.id"),
    (MINIMAL.replace('role = "broker"\nnode_id = 2', 'role = "leader"\nnode_id = 2'),
     "node #3 (west-broker): role must be \"broker\" or \"controller\", got 'leader'"),
    (MINIMAL.replace("port = 2222", "port = 70000"), "node #3 (west-broker): port must be a TCP port number"),
    (MINIMAL.replace('dc = "west"', 'dc = "West"'), "node #3 (west-broker): dc 'West' is not allowed"),
    (MINIMAL.replace('name = "west-broker"', 'name = "east-broker"'), "name 'east-broker' is used by two nodes"),
    (MINIMAL.replace("node_id = 2", "node_id = 101"), "node_id 101 is used by two nodes"),
    (MINIMAL.replace('role = "broker"', 'role = "controller"'), "hosts.toml: lists no broker"),
    (MINIMAL.replace("node_id = 101", "node_id = 101\nrole = 'broker'").replace('role = "controller"\n', ""),
     "0 controllers listed, but managed nodes without `properties`"),
    (MINIMAL.replace("managed = true", 'managed = true\nstart = "x"'),
     "node #1 (east-controller): `start` does not apply with managed = true"),
    (MINIMAL.replace("managed = true", 'managed = false\nstart = "x"\nstop = "y"\nkafka_home = "/k"'),
     "node #1 (east-controller): `kafka_home` only applies with managed = true"),
    (MINIMAL.replace("managed = true", 'start = "systemctl start kafka"'),
     "node #1 (east-controller): missing `stop`"),
    (MINIMAL.replace("managed = true", 'managed = "yes"'), "node #1 (east-controller): managed must be true or false"),
    (MINIMAL.replace("managed = true", 'managed = true\nkey = "nowhere/id_rsa"'),
     "node #1 (east-controller): key file "),
    ('bootstrap_servers = "10.0.0.1"\n' + MINIMAL, "bootstrap_servers must be host:port[,host:port...]"),
    ("connect_timeout = 0\n" + MINIMAL, "connect_timeout must be a positive number of seconds"),
    ("[defaults]\n", "hosts.toml: needs at least one [[node]] table"),
    ("[[node]\n", "is not valid TOML"),
])
def test_each_mistake_is_one_line_naming_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    message = error_for(tmp_path, text)
    assert str(tmp_path / "hosts.toml") in message
    assert expected in message


def test_a_missing_file_is_named() -> None:
    with pytest.raises(HarnessError, match="--ssh file /nonexistent/hosts.toml does not exist"):
        load("/nonexistent/hosts.toml")


# ---- operator commands, driven through a Remote -----------------------------------------------------------

SERVICE = ServiceCommands.with_defaults("systemctl start kafka", "systemctl stop kafka")


def test_the_default_pattern_never_matches_the_command_that_carries_it() -> None:
    import re

    pattern = SERVICE.pause.split("-f ", 1)[1].strip("'")
    assert re.search(pattern, "java -cp /opt/kafka/libs/* kafka.Kafka /etc/kafka/server.properties")
    assert not re.search(pattern, SERVICE.pause)


def test_actions_run_the_operators_command_and_format_and_wipe_do_nothing() -> None:
    remote = FakeRemote("b1")
    for action in ("format", "start", "stop 300", "wipe"):
        SERVICE.run(remote, action)
    assert remote.commands == ["systemctl start kafka", "systemctl stop kafka"]


@pytest.mark.parametrize("result, state", [
    (ExecResult(0, "running\n", ""), "running"),
    (ExecResult(0, "paused\n", ""), "paused"),
    (ExecResult(0, "active\n", ""), "running"),
    (ExecResult(3, "inactive\n", ""), "stopped"),
    (ExecResult(3, "failed\n", ""), "stopped"),
])
def test_status_understands_the_scripts_and_systemds_words(result: ExecResult, state: str) -> None:
    service = ServiceCommands.with_defaults("s", "t", status="systemctl is-active kafka")
    assert service.run(FakeRemote("b1", lambda _: result), "status") == state


def test_a_status_that_says_something_else_is_an_error() -> None:
    with pytest.raises(HarnessError, match="b1: status command `x` printed 'up and about'"):
        ServiceCommands.with_defaults("s", "t", status="x").run(
            FakeRemote("b1", lambda _: ExecResult(0, "up and about", "")), "status")
    with pytest.raises(RemoteCommandError, match="b1: `x` exited 127: x: not found"):
        ServiceCommands.with_defaults("s", "t", status="x").run(
            FakeRemote("b1", lambda _: ExecResult(127, "", "x: not found")), "status")


def test_clock_actions_need_a_managed_node() -> None:
    with pytest.raises(HarnessError, match="b1: `clock` needs the harness's node script"):
        SERVICE.run(FakeRemote("b1"), "clock set +30s")


# ---- preflight, against stand-in hosts ---------------------------------------------------------------------

class StubHost(FakeRemote):
    """Answers the preflight's questions like a host without some tools."""

    def __init__(self, name: str, missing: tuple[str, ...] = (), uid: str = "0") -> None:
        super().__init__(name, self._answer)
        self.where = f"ssh root@{name}:22"
        self.missing, self.uid = missing, uid

    def connect(self) -> None:
        pass

    def _answer(self, command: str) -> ExecResult:
        if command == "id -u":
            return ExecResult(0 if self.uid == "0" else 1, self.uid, "" if self.uid == "0" else
                              "sudo: a password is required")
        if command.startswith("for t in"):
            return ExecResult(0, "".join(f"{t}\n" for t in self.missing), "")
        return ExecResult(0, "", "")


def stub_targets(tmp_path: Path) -> SSHTargets:
    return load(write(tmp_path, MINIMAL))


def test_preflight_passes_when_every_host_has_the_tools(tmp_path: Path) -> None:
    targets = stub_targets(tmp_path)
    hosts = {t.node.name: StubHost(t.host) for t in targets.targets}
    preflight(targets, hosts)  # type: ignore[arg-type]
    assert any("iptables" in c and "tc" in c and "java" in c for c in hosts["east-broker"].commands)


def test_preflight_names_the_host_and_the_missing_tool(tmp_path: Path) -> None:
    targets = stub_targets(tmp_path)
    hosts = {t.node.name: StubHost(t.host) for t in targets.targets}
    hosts["east-broker"] = StubHost("10.0.1.11", missing=("tc",))
    hosts["west-broker"] = StubHost("10.0.2.11", missing=("iptables", "tc"))
    with pytest.raises(HarnessError) as raised:
        preflight(targets, hosts)  # type: ignore[arg-type]
    assert str(raised.value) == ("ssh root@10.0.1.11:22: `tc` not found (the nemeses need iptables and tc "
                                 "(iproute2) on every node; also failing: west-broker)")


def test_preflight_refuses_a_user_who_cannot_act_as_root(tmp_path: Path) -> None:
    targets = stub_targets(tmp_path)
    hosts = {t.node.name: StubHost(t.host) for t in targets.targets}
    hosts["west-broker"] = StubHost("10.0.2.11", uid="")
    with pytest.raises(HarnessError, match=r"ssh root@10.0.2.11:22: cannot act as root \(sudo: a password is "):
        preflight(targets, hosts)  # type: ignore[arg-type]


def test_from_dict_names_its_source() -> None:
    with pytest.raises(HarnessError, match="^lab.toml: needs at least one"):
        from_dict({}, source="lab.toml")

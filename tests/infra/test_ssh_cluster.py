"""SSHCluster with fake machines: what it does on the operator's machines at start, and what it never does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from core.errors import HarnessError
from infra.control.base import ExecResult, RemoteCommandError
from infra.control.fake import FakeRemote
from infra.kafka_config import parse, render
from infra.kafka_node import SCRIPT
from infra.ssh_cluster import SSHCluster
from infra.ssh_targets import SSHTargets, from_dict

CONTROLLER = {"name": "east-controller", "host": "10.0.1.10", "dc": "east", "role": "controller", "node_id": 101}
BROKERS = [{"name": "east-broker", "host": "10.0.1.11", "dc": "east", "role": "broker", "node_id": 1},
           {"name": "west-broker", "host": "10.0.2.11", "address": "192.168.2.11", "dc": "west", "role": "broker",
            "node_id": 2}]
OPERATOR = {"start": "systemctl start kafka", "stop": "systemctl stop kafka", "status": "systemctl is-active kafka"}


class Machine(FakeRemote):
    """A fake machine whose Kafka is in `state`; every command also goes to one log shared by all machines."""

    def __init__(self, name: str, log: list[tuple[str, str]], state: str = "stopped") -> None:
        super().__init__(name, self._answer)
        self.log = log
        self.state = state
        self.closed = False
        self.unreadable: set[str] = set()

    def _answer(self, command: str) -> ExecResult | None:
        self.log.append((self.name, command))
        if command.endswith(" status"):
            return ExecResult(0, self.state + "\n", "")
        if command == OPERATOR["status"]:  # systemctl is-active: exit 3 unless active
            return ExecResult(0 if self.state == "running" else 3, self.state + "\n", "")
        if command.endswith(" start") or command == OPERATOR["start"]:
            self.state = "running"
        return None

    def download(self, path: str) -> bytes:
        if path in self.unreadable or path not in self.files:
            raise RemoteCommandError(self.name, f"download {path}", ExecResult(1, "", f"{path}: No such file"))
        return self.files[path]

    def close(self) -> None:
        self.closed = True


class Lab:
    """Targets from a dict, one fake machine per node, and a cluster that reaches them instead of SSH."""

    def __init__(self, nodes: list[dict[str, Any]], running: tuple[str, ...] = (), **top: Any) -> None:
        self.targets = from_dict({**top, "node": nodes}, source="lab.toml")
        self.log: list[tuple[str, str]] = []
        self.machines = {t.node.name: Machine(t.node.name, self.log, "running" if t.node.name in running
                                              else "stopped") for t in self.targets.targets}
        self.said: list[str] = []
        self.checked: list[Mapping[str, Any]] = []
        self.cluster = SSHCluster(self.targets, "kj-test", self.said.append, open_remotes=lambda _: self.machines,
                                  check=self.check)

    def check(self, targets: SSHTargets, remotes: Mapping[str, Any]) -> None:
        assert not self.log, "preflight comes before any command"
        self.checked.append(remotes)

    def commands(self, name: str | None = None) -> list[str]:
        return [c for n, c in self.log if name is None or n == name]


def managed(node: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**node, "managed": True, **extra}


def test_controllers_start_before_brokers_whatever_the_file_order() -> None:
    lab = Lab([managed(BROKERS[0]), managed(CONTROLLER), managed(BROKERS[1])])
    lab.cluster.start()
    starts = [name for name, command in lab.log if command == f"{SCRIPT} start"]
    assert starts == ["east-controller", "east-broker", "west-broker"]
    formats = [i for i, (_, command) in enumerate(lab.log) if command == f"{SCRIPT} format"]
    first_start = next(i for i, (_, command) in enumerate(lab.log) if command == f"{SCRIPT} start")
    assert len(formats) == 3 and max(formats) < first_start, "every node is formatted before any starts"
    assert len(lab.checked) == 1


def test_managed_nodes_get_rendered_properties_with_their_own_dirs_and_the_files_cluster_id() -> None:
    lab = Lab([managed(CONTROLLER), managed(BROKERS[1], kafka_home="/srv/kafka", data_dir="/data/k",
                                            log_dir="/logs/k")], cluster_id="AAAAAAAAAAAAAAAAAAAAAA")
    lab.cluster.start()
    west = lab.machines["west-broker"]
    props = parse(west.files["/opt/harness/server.properties"].decode())
    assert props["advertised.listeners"] == "PLAINTEXT://192.168.2.11:9092", "the address, not the ssh host"
    assert props["controller.quorum.voters"] == "101@10.0.1.10:9093"
    assert props["log.dirs"] == "/data/k"
    env = west.files["/opt/harness/node.env"].decode()
    for line in ("CLUSTER_ID=AAAAAAAAAAAAAAAAAAAAAA", "KAFKA_HOME=/srv/kafka", "DATA_DIR=/data/k", "LOG_DIR=/logs/k",
                 "CLOCK=''"):
        assert line in env.splitlines()
    assert lab.cluster.cluster_id == "AAAAAAAAAAAAAAAAAAAAAA"


def test_clock_control_starts_managed_jvms_under_libfaketime() -> None:
    lab = Lab([managed(CONTROLLER), managed(BROKERS[0])])
    cluster = SSHCluster(lab.targets, "kj-test", clock_control=True, open_remotes=lambda _: lab.machines,
                         check=lambda *_: None)
    cluster.start()
    assert "CLOCK=faketime" in lab.machines["east-broker"].files["/opt/harness/node.env"].decode().splitlines()


def test_clock_faults_are_refused_on_a_managed_jvm_already_running_without_libfaketime() -> None:
    lab = Lab([managed(CONTROLLER), managed(BROKERS[0])], running=("east-controller", "east-broker"))
    lab.machines["east-controller"]._respond = lambda c: ExecResult(0, "", "") if "libfaketime" in c else None
    lab.machines["east-broker"]._respond = lambda c: ExecResult(1, "", "") if "libfaketime" in c else None
    cluster = SSHCluster(lab.targets, "kj-test", clock_control=True, open_remotes=lambda _: lab.machines,
                         check=lambda *_: None)
    with pytest.raises(HarnessError, match=r"^east-broker: Kafka already runs there, not under libfaketime"):
        cluster.start()
    sent = [c for m in lab.machines.values() for c in m.commands]
    assert any("libfaketime" in c for c in sent)
    assert not any(c.endswith((" start", " stop", " kill")) for c in sent), "and it is left running"


def test_a_start_command_that_fails_is_one_line_naming_the_node() -> None:
    lab = Lab([{**CONTROLLER, **OPERATOR}, {**BROKERS[0], **OPERATOR}], running=("east-controller",))
    lab.machines["east-broker"]._respond = lambda c: ExecResult(1, "", "Job for kafka.service failed.") \
        if c == OPERATOR["start"] else ExecResult(3, "inactive\n", "")
    with pytest.raises(HarnessError) as raised:
        lab.cluster.start()
    assert str(raised.value) == ("east-broker: could not bring Kafka up (east-broker: `systemctl start kafka` "
                                 "exited 1: Job for kafka.service failed.)")


def test_a_managed_node_with_a_properties_path_gets_that_file_as_it_is() -> None:
    own = "# the operator's\nnode.id=1\nlisteners = PLAINTEXT://:9092\nlog.dirs=/a,\\\n  /b\nsasl.jaas\\=x: y\n"
    lab = Lab([managed(CONTROLLER), managed(BROKERS[0], properties="/etc/kafka/server.properties")])
    lab.machines["east-broker"].files["/etc/kafka/server.properties"] = own.encode()
    lab.cluster.start()
    uploaded = lab.machines["east-broker"].files["/opt/harness/server.properties"].decode()
    assert uploaded == "node.id=1\nlisteners=PLAINTEXT://:9092\nlog.dirs=/a,/b\nsasl.jaas\\=x=y\n"


def test_an_unreadable_properties_file_is_one_line_naming_node_and_path() -> None:
    lab = Lab([managed(CONTROLLER), managed(BROKERS[0], properties="/etc/kafka/missing.properties")])
    with pytest.raises(HarnessError) as raised:
        lab.cluster.start()
    assert str(raised.value).startswith("east-broker: cannot read its properties file /etc/kafka/missing.properties")
    assert "\n" not in str(raised.value)


def test_operator_nodes_are_only_asked_their_status_and_started_when_stopped() -> None:
    lab = Lab([{**CONTROLLER, **OPERATOR}, {**BROKERS[0], **OPERATOR}, {**BROKERS[1], **OPERATOR}],
              running=("east-controller", "west-broker"))
    lab.cluster.start()
    assert lab.commands("east-controller") == [OPERATOR["status"]], "a running node is left alone"
    assert lab.commands("east-broker") == [OPERATOR["status"], OPERATOR["start"]]
    assert all(not m.files for m in lab.machines.values()), "nothing is uploaded to an operator's machine"
    assert lab.cluster.nodes["east-broker"].service is not None


def test_a_node_left_paused_is_resumed_not_started() -> None:
    lab = Lab([{**CONTROLLER, **OPERATOR}, {**BROKERS[0], **OPERATOR}], running=("east-controller",))
    lab.machines["east-broker"].state = "paused"
    lab.cluster.start()
    assert lab.commands("east-broker")[1:] == ["pkill -CONT -f '[k]afka.Kafka'"]


def test_teardown_closes_every_connection_and_never_stops_kafka() -> None:
    lab = Lab([managed(CONTROLLER), {**BROKERS[0], **OPERATOR}, managed(BROKERS[1])])
    with lab.cluster as cluster:
        assert cluster.bootstrap_servers == "10.0.1.11:9092,192.168.2.11:9092"
        before = len(lab.log)
    assert lab.log[before:] == [], "teardown runs no command at all"
    assert all(m.closed for m in lab.machines.values())
    assert not any(verb in c for c in lab.commands() for verb in ("stop", "kill", "wipe", "rm ", "-KILL"))
    assert any("never stops, wipes or uninstalls Kafka" in line for line in lab.said)
    assert lab.cluster.teardown() == [], "a second teardown is a no-op"


def test_a_failed_start_still_closes_every_connection() -> None:
    lab = Lab([managed(CONTROLLER), managed(BROKERS[0], properties="/nowhere")])
    with pytest.raises(HarnessError), lab.cluster:
        pass
    assert all(m.closed for m in lab.machines.values())


def test_collect_logs_copies_recent_files_per_node_and_one_failure_does_not_stop_the_others(tmp_path: Path) -> None:
    lab = Lab([{**CONTROLLER, **OPERATOR}, {**BROKERS[0], **OPERATOR, "log_dir": "/logs"}, {**BROKERS[1], **OPERATOR}])
    lab.cluster.start()
    broker = lab.machines["east-broker"]
    broker.files.update({"/logs/server.log": b"broker log", "/logs/controller.log": b"c"})
    broker._respond = lambda c: ExecResult(0, "/logs/server.log\n/logs/controller.log\n/logs/gone.log\n", "") \
        if c.startswith("find ") else None
    lab.machines["east-controller"]._respond = lambda c: ExecResult(1, "", "find: permission denied") \
        if c.startswith("find ") else None
    lab.cluster.collect_logs(tmp_path)
    assert (tmp_path / "east-broker" / "server.log").read_bytes() == b"broker log"
    assert (tmp_path / "east-broker" / "controller.log").read_bytes() == b"c"
    assert "gone.log" in (tmp_path / "east-broker" / "collect-error.txt").read_text()
    assert "permission denied" in (tmp_path / "east-controller" / "collect-error.txt").read_text()
    assert (tmp_path / "west-broker").is_dir()
    listing = [c for c in broker.commands if c.startswith("find ")]
    assert listing == ["find /logs -maxdepth 1 -type f -mmin -2"], "only files changed since the run began"


@pytest.mark.parametrize("text, expected", [
    ("a=1\nb = two\n", {"a": "1", "b": "two"}),
    ("# comment\n! also\n\n   c: 3\nd 4\n", {"c": "3", "d": "4"}),
    ("list=x,\\\n    y,\\\n    z\n", {"list": "x,y,z"}),
    ("path=C:\\\\kafka\n", {"path": "C:\\\\kafka"}),
    ("key\\ with\\ spaces = v\n", {"key\\ with\\ spaces": "v"}),
    ("empty=\nflag\n", {"empty": "", "flag": ""}),
])
def test_properties_files_parse_as_java_reads_them_and_render_back_unchanged(text: str,
                                                                            expected: dict[str, str]) -> None:
    assert parse(text) == expected
    assert parse(render(parse(text))) == expected


def test_both_backends_offer_what_the_runner_asks_of_a_cluster() -> None:
    # The runner holds a ClusterBackend and never asks which one: both must carry every member of the protocol.
    from infra.backend import ClusterBackend
    from infra.cluster import Cluster

    wanted = {name for name in vars(ClusterBackend) if not name.startswith("_")} | set(
        ClusterBackend.__annotations__)
    for backend in (Cluster, SSHCluster):
        instance_attributes = {"topology", "nodes", "addresses"}  # set in __init__
        missing = {name for name in wanted if not hasattr(backend, name)} - instance_attributes
        assert not missing, f"{backend.__name__} lacks {sorted(missing)}"

"""SSHRemote for real: sshd inside containers of the project's own image, reached only over SSH.

Two groups, each on its own labelled network, torn down in a finally: plain "machines" (exec, files,
timeouts, iptables, reconnects, login failures, preflight), and a real Kafka cluster whose node script,
operator-style commands and a partition nemesis are driven through SSH alone.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import pytest

from core.errors import HarnessError
from core.topology import uniform
from core.waiting import wait_until
from infra.admin import Admin
from infra.cluster import RUN_LABEL, Cluster, new_run_id
from infra.control.base import RemoteCommandError
from infra.control.ssh import SSHRemote, SSHUnreachable
from infra.kafka_config import BROKER_PORT, broker_properties
from infra.kafka_node import KafkaNode, NodeSetup
from infra.ssh_targets import ServiceCommands, SSHTargets, from_dict, preflight
from tests.cluster.conftest import labelled_leftovers
from tests.cluster.sshd import Key, docker_sh, new_key, start_sshd

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Key:
    return new_key(tmp_path_factory.mktemp("ssh"))


def ip_of(container: Any, network: str) -> str:
    container.reload()
    return str(container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"])


# ---- plain machines ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Machine:
    container: Any
    ip: str


@contextmanager
def machines(client: Any, image: str, count: int) -> Iterator[list[Machine]]:
    run_id = new_run_id()
    labels = {RUN_LABEL: run_id}
    network = client.networks.create(f"{run_id}-net", driver="bridge", labels=labels)
    made: list[Any] = []
    try:
        for i in range(count):
            made.append(client.containers.run(
                image, ["sleep", "infinity"], name=f"{run_id}-m{i}", hostname=f"m{i}", detach=True, init=True,
                cap_add=["NET_ADMIN"], network=network.name, labels=labels))
        yield [Machine(c, ip_of(c, network.name)) for c in made]
    finally:
        for container in made:
            container.remove(force=True, v=True)
        network.remove()
        assert not labelled_leftovers(client, run_id)


@pytest.fixture(scope="module")
def hosts(docker_client: Any, node_image: str, key: Key) -> Iterator[list[Machine]]:
    """Three machines: two with sshd, the third with none."""
    with machines(docker_client, node_image, 3) as made:
        for machine in made[:2]:
            start_sshd(machine.container, key)
        yield made


@pytest.fixture
def remote(hosts: list[Machine], key: Key) -> Iterator[SSHRemote]:
    with SSHRemote("m0", hosts[0].ip, key_file=key.path) as r:
        yield r


def test_exec_returns_exit_code_stdout_and_stderr(remote: SSHRemote) -> None:
    result = remote.exec("echo out; echo err >&2; exit 3", check=False)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert remote.exec("hostname").stdout == "m0\n"


def test_a_failing_command_raises_with_its_last_stderr_line(remote: SSHRemote) -> None:
    with pytest.raises(RemoteCommandError, match=r"^m0: `ls /nowhere` exited 2: ls: cannot access '/nowhere'"):
        remote.exec("ls /nowhere")


def test_a_command_past_its_timeout_is_killed_on_the_node(remote: SSHRemote) -> None:
    started = time.monotonic()
    result = remote.exec("sleep 4321", check=False, timeout=2)
    assert result.exit_code == 124 and result.stderr.endswith("(killed after 2 s)")
    assert time.monotonic() - started < 5
    assert remote.exec("pgrep -f 'sleep 4321'", check=False).exit_code == 1, "the command still runs on the node"


def test_pkill_by_pattern_does_not_kill_the_shell_that_runs_it(remote: SSHRemote) -> None:
    remote.exec("setsid sleep 4242 >/dev/null 2>&1 </dev/null &")
    wait_until(lambda: remote.exec("pgrep -f 'sleep 4242'", check=False).ok, 5, "the sleeper to run")
    assert remote.exec("pkill -f 'sleep 4242'; echo pkill=$?").stdout == "pkill=0\n"


def test_upload_then_download_round_trips_bytes_mode_and_new_parents(remote: SSHRemote) -> None:
    content = bytes(range(256)) * 4096  # 1 MiB of every byte value
    remote.upload("/opt/ssh-test/a/b/blob.bin", content, mode=0o750)
    assert remote.download("/opt/ssh-test/a/b/blob.bin") == content
    assert remote.exec("stat -c %a /opt/ssh-test/a/b/blob.bin").stdout == "750\n"
    remote.upload("/opt/ssh-test/a/b/blob.bin", b"replaced")  # over an existing file
    assert remote.download("/opt/ssh-test/a/b/blob.bin") == b"replaced"
    assert remote.exec("ls -A /opt/ssh-test/a/b").stdout == "blob.bin\n", "no staging file is left behind"


def test_download_of_a_missing_file_is_a_remote_command_error(remote: SSHRemote) -> None:
    with pytest.raises(RemoteCommandError, match="m0: `download /no/such/file` exited 1"):
        remote.download("/no/such/file")


def test_an_iptables_rule_added_over_ssh_really_blocks_and_removing_it_restores(
        remote: SSHRemote, hosts: list[Machine]) -> None:
    peer = hosts[1].ip
    probe = f"nc -z -w 2 {peer} 22"
    rule = f"OUTPUT -d {peer} -p tcp --dport 22 -j REJECT"
    assert remote.exec(probe, check=False).ok
    remote.exec(f"iptables -w -I {rule}")
    try:
        assert f"-d {peer}/32" in remote.exec("iptables -w -S OUTPUT").stdout
        assert not remote.exec(probe, check=False).ok
    finally:
        remote.exec(f"iptables -w -D {rule}")
    assert remote.exec(probe, check=False).ok


def test_a_dropped_connection_is_reopened_once(remote: SSHRemote, hosts: list[Machine]) -> None:
    remote.connect()
    before = remote._client
    # Kill our session's sshd process from outside; "[s]shd" keeps pkill from matching its own shell.
    docker_sh(hosts[0].container, "pkill -f '[s]shd: root@notty'")
    assert before is not None
    wait_until(lambda: not before.get_transport().is_active(), 10, "the transport to drop")
    assert remote.exec("echo again").stdout == "again\n"
    assert remote._client is not before


def test_threads_share_one_connection(remote: SSHRemote) -> None:
    results: dict[int, str] = {}

    def work(i: int) -> None:
        results[i] = remote.exec(f"sleep 0.2; echo {i}").stdout.strip()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {i: str(i) for i in range(8)}


def test_a_host_without_sshd_is_one_clean_line(hosts: list[Machine]) -> None:
    with pytest.raises(SSHUnreachable) as raised:
        SSHRemote("m2", hosts[2].ip, connect_timeout=5).connect()
    assert str(raised.value) == f"ssh root@{hosts[2].ip}:22 (m2): connection refused " \
                                "(is sshd running there, on this port?)"


def test_a_wrong_key_is_authentication_failed(hosts: list[Machine], tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    paramiko.RSAKey.generate(2048).write_private_key_file(str(stranger))
    with pytest.raises(SSHUnreachable, match=rf"^ssh root@{hosts[0].ip}:22 \(m0\): authentication failed \("):
        SSHRemote("m0", hosts[0].ip, key_file=str(stranger)).connect()


@contextmanager
def opened(targets: SSHTargets) -> Iterator[dict[str, SSHRemote]]:
    remotes = targets.remotes()
    try:
        yield remotes
    finally:
        for r in remotes.values():
            r.close()


def machine_targets(hosts: list[Machine], key: Key) -> SSHTargets:
    return from_dict({"node": [
        {"name": f"m{i}", "host": m.ip, "key": key.path, "dc": f"dc{i}", "role": "broker", "node_id": i,
         "start": "true", "stop": "true"} for i, m in enumerate(hosts)]}, source="machines.toml")


def test_preflight_names_the_host_without_sshd(hosts: list[Machine], key: Key) -> None:
    targets = machine_targets(hosts, key)
    with opened(targets) as remotes, pytest.raises(HarnessError) as raised:
        preflight(targets, remotes)
    assert str(raised.value) == f"ssh root@{hosts[2].ip}:22 (m2): connection refused " \
                                "(is sshd running there, on this port?)"


def test_preflight_names_the_host_missing_tc(hosts: list[Machine], key: Key) -> None:
    targets = machine_targets(hosts[:2], key)
    docker_sh(hosts[1].container, "mv /usr/sbin/tc /usr/sbin/tc.hidden")
    try:
        with opened(targets) as remotes, pytest.raises(HarnessError) as raised:
            preflight(targets, remotes)
    finally:
        docker_sh(hosts[1].container, "mv /usr/sbin/tc.hidden /usr/sbin/tc")
    assert str(raised.value) == (f"ssh root@{hosts[1].ip}:22 (m1): `tc` not found "
                                 "(the nemeses need iptables and tc (iproute2) on every node)")
    with opened(targets) as remotes:
        preflight(targets, remotes)  # with tc back, the same hosts pass


def test_another_user_goes_through_sudo(hosts: list[Machine], key: Key) -> None:
    # The image has no sudo: a stand-in that runs the command as the same user proves what goes over the
    # wire (sudo -n, staging in /tmp, install, cat), not privilege; preflight then rightly says "not root".
    docker_sh(hosts[1].container, f"""
        id ops >/dev/null 2>&1 || useradd -m -s /bin/sh ops
        mkdir -p /home/ops/.ssh && echo '{key.public}' >/home/ops/.ssh/authorized_keys
        chown -R ops /home/ops/.ssh && chmod 700 /home/ops/.ssh
        printf '#!/bin/sh\\n[ "$1" = -n ] && shift\\necho "sudo $*" >>/tmp/sudo.log\\nexec "$@"\\n' >/usr/local/bin/sudo
        chmod 755 /usr/local/bin/sudo""")
    with SSHRemote("m1", hosts[1].ip, user="ops", key_file=key.path) as ops:
        assert ops.exec("id -un").stdout == "ops\n"
        ops.upload("/home/ops/x/y/file", b"through sudo", mode=0o600)
        assert ops.download("/home/ops/x/y/file") == b"through sudo"
        assert ops.exec("stat -c '%a %U' /home/ops/x/y/file").stdout == "600 ops\n"
        assert not ops.exec("ls -A /tmp | grep harness-upload", check=False).ok, "the staged copy is removed"
    assert docker_sh(hosts[1].container, "grep -c '^sudo timeout -k 5' /tmp/sudo.log").strip() != "0"
    targets = from_dict({"node": [{"name": "m1", "host": hosts[1].ip, "user": "ops", "key": key.path, "dc": "dc1",
                                   "role": "broker", "node_id": 1, "start": "true", "stop": "true"}]})
    with opened(targets) as remotes, pytest.raises(HarnessError) as raised:
        preflight(targets, remotes)
    assert str(raised.value).startswith(f"ssh ops@{hosts[1].ip}:22 (m1): cannot act as root (commands run as uid 1")


# ---- a real Kafka cluster, driven over SSH ------------------------------------------------------------------

@dataclass
class SSHKafka:
    cluster: Cluster
    targets: SSHTargets
    remotes: dict[str, SSHRemote]


@pytest.fixture(scope="module")
def kafka(docker_client: Any, node_image: str, key: Key) -> Iterator[SSHKafka]:
    topology = uniform(dcs=2, brokers_per_dc=1, controllers=1, name="ssh")
    run_id = new_run_id()
    with Cluster(docker_client, topology, node_image, run_id) as cluster:
        for container in cluster.containers.values():
            start_sshd(container, key)
        Admin(cluster.bootstrap_servers).wait_brokers({b.node_id for b in topology.brokers}, timeout=180)
        targets = from_dict({"cluster_id": cluster.cluster_id, "node": [
            {"name": n.name, "host": cluster.addresses[n.name], "key": key.path, "dc": n.dc, "role": n.role,
             "node_id": n.node_id, "managed": True, "properties": "/opt/harness/server.properties"}
            for n in topology.nodes]}, source="kafka-hosts.toml")
        remotes = targets.remotes()
        try:
            yield SSHKafka(cluster, targets, remotes)
        finally:
            for r in remotes.values():
                r.close()
    assert not labelled_leftovers(docker_client, run_id)


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def processes(kafka: SSHKafka, name: str) -> str:
    """What runs on the node, seen from outside SSH: the evidence when a process assertion fails."""
    return docker_sh(kafka.cluster.containers[name], "ps -eLo pid,tid,stat,comm | grep -v ' ps$'; "
                                                      "cat /opt/harness/kafka.pid")


def test_preflight_passes_on_the_kafka_nodes(kafka: SSHKafka) -> None:
    preflight(kafka.targets, kafka.remotes)
    assert [n.name for n in kafka.targets.topology.nodes] == [n.name for n in kafka.cluster.topology.nodes]


def test_the_node_script_over_ssh_kills_and_restarts_a_broker(kafka: SSHKafka) -> None:
    broker = kafka.targets.topology.brokers[0]
    address = kafka.targets.addresses[broker.name]
    node = KafkaNode(broker, kafka.remotes[broker.name])
    # Provision over SSH too: the script, node.env and properties arrive by SFTP.
    node.provision(NodeSetup(kafka.cluster.cluster_id,
                             broker_properties(kafka.cluster.topology, broker, kafka.cluster.addresses)))
    admin = Admin(kafka.targets.bootstrap_servers)
    assert node.status() == "running" and port_open(address, BROKER_PORT)
    try:
        node.kill()
        assert node.status() == "stopped"
        # The node script's kill returns once the JVM's main thread is a zombie; its other threads (and the
        # listening socket) can outlive that by a moment on a loaded machine, hence a deadline, not a sleep.
        wait_until(lambda: not port_open(address, BROKER_PORT), 15, f"{broker.name} to stop listening")
        node.start()
        assert node.status() == "running"
        wait_until(lambda: port_open(address, BROKER_PORT), 60, f"{broker.name} to listen again")
        admin.wait_brokers({b.node_id for b in kafka.targets.topology.brokers}, timeout=60)
    finally:
        node.start()  # a no-op when it runs: later tests need every broker up


def test_operator_commands_over_ssh_drive_the_jvm_by_its_command_line(kafka: SSHKafka) -> None:
    broker = kafka.targets.topology.brokers[1]
    remote = kafka.remotes[broker.name]
    address = kafka.targets.addresses[broker.name]
    # start/stop as an operator's unit would; kill, pause, resume and status are the pkill/pgrep defaults.
    service = ServiceCommands.with_defaults("/opt/harness/kafka-node start", "/opt/harness/kafka-node stop")
    wait_until(lambda: port_open(address, BROKER_PORT), 60, f"{broker.name} to listen")
    assert service.run(remote, "status") == "running"
    try:
        service.run(remote, "pause")
        assert service.run(remote, "status") == "paused"
        service.run(remote, "resume")
        assert service.run(remote, "status") == "running"
        service.run(remote, "kill")
        assert service.run(remote, "status") == "stopped", processes(kafka, broker.name)
        # The default kill waits for every thread, so the port is closed the moment it returns.
        assert not port_open(address, BROKER_PORT), processes(kafka, broker.name)
        service.run(remote, "start")
        assert service.run(remote, "status") == "running"
        wait_until(lambda: port_open(address, BROKER_PORT), 60, f"{broker.name} to listen again")
    finally:
        service.run(remote, "resume" if service.run(remote, "status") == "paused" else "start")


def test_a_partition_nemesis_acts_through_ssh(kafka: SSHKafka) -> None:
    import random

    from nemesis import registry
    from nemesis.base import NemesisContext

    topology = kafka.targets.topology
    nodes = {n.name: KafkaNode(n, kafka.remotes[n.name]) for n in topology.nodes}
    ctx = NemesisContext(topology, nodes, kafka.targets.addresses, random.Random(3),
                         bootstrap_servers=kafka.targets.bootstrap_servers)

    def reaches(source: str, target: str) -> bool:
        port = BROKER_PORT if topology.node(target).is_broker else 9093
        command = f"nc -z -w 2 {ctx.addresses[target]} {port}"
        return kafka.remotes[source].exec(command, check=False, timeout=10).ok

    for broker in topology.brokers:
        wait_until(lambda b=broker: port_open(ctx.addresses[b.name], BROKER_PORT), 60, f"{broker.name} to listen")
    (nemesis,) = registry.parse("partition-node")
    fault = nemesis.start(ctx)
    victim = fault.details["isolated"]
    others = [n for n in nodes if n != victim]
    try:
        cut = {(a, b): reaches(a, b) for o in others for a, b in ((victim, o), (o, victim))}
        assert not any(cut.values()), cut
    finally:
        nemesis.stop(ctx, fault)
    healed = {(a, b): reaches(a, b) for o in others for a, b in ((victim, o), (o, victim))}
    assert all(healed.values()), (healed, {n: processes(kafka, n) for n in nodes})

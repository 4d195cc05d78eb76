"""What SSHRemote sends to sshd, checked without a network: the real round trips are in tests/cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.control.ssh import SSHRemote, SSHUnreachable

TRICKY = [
    "echo 'single' \"double\" $HOME `true` \\back",
    "printf '%s\\n' a b; exit 3",
    # Quotes, brackets and a newline as an operator's kill command has them, but harmless: this runs on the host
    # (a real `pkill -KILL -f '[k]afka.Kafka'` here killed every Kafka JVM on the machine, containers' included).
    "printf '%s\\n' '[k]afka.Kafka' || true\necho two lines",
    "echo ünïcödé",
]


@pytest.mark.parametrize("command", TRICKY)
def test_the_wire_command_runs_exactly_the_given_command(command: str) -> None:
    wire = SSHRemote("n", "h").wire_command(command, 60)
    direct = subprocess.run(["sh", "-c", command], capture_output=True)
    wrapped = subprocess.run(["sh", "-c", wire], capture_output=True)
    assert (wrapped.returncode, wrapped.stdout) == (direct.returncode, direct.stdout)


def test_the_command_text_appears_in_no_argv() -> None:
    # A `pkill -f kafka.Kafka` must not match the shell that runs it.
    assert "kafka" not in SSHRemote("n", "h").wire_command("pkill -f kafka.Kafka", 60)


def test_a_timeout_on_the_node_wraps_the_shell_and_sudo_wraps_everything() -> None:
    remote = SSHRemote("n", "h", user="ops")
    remote._has_timeout = True  # what the probe after login finds on any coreutils host
    assert remote.wire_command("true", 2.5).startswith("sudo -n timeout -k 5 3 sh -c ")
    root = SSHRemote("n", "h")
    root._has_timeout = True
    assert root.wire_command("true", 60).startswith("timeout -k 5 60 sh -c ")


def test_a_missing_key_file_is_one_line_before_any_connection(tmp_path: Path) -> None:
    remote = SSHRemote("dc1-broker1", "10.0.0.5", key_file=str(tmp_path / "absent"))
    with pytest.raises(SSHUnreachable) as raised:
        remote.connect()
    assert str(raised.value) == f"ssh root@10.0.0.5:22 (dc1-broker1): key file {tmp_path / 'absent'} does not exist"


def test_a_closed_port_on_loopback_is_connection_refused() -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SSHUnreachable) as raised:
        SSHRemote("lo", "127.0.0.1", port=port, connect_timeout=2).connect()
    assert str(raised.value) == (f"ssh root@127.0.0.1:{port} (lo): connection refused "
                                 "(is sshd running there, on this port?)")

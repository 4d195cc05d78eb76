"""sshd inside containers of the project's own image, so SSH code is tested against a real server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko


@dataclass(frozen=True)
class Key:
    path: str
    public: str


def new_key(directory: Path) -> Key:
    """A fresh RSA key pair: the private key in directory/id_rsa, the public line for authorized_keys."""
    private = paramiko.RSAKey.generate(2048)
    path = directory / "id_rsa"
    private.write_private_key_file(str(path))
    return Key(str(path), f"{private.get_name()} {private.get_base64()} harness-test")


def start_sshd(container: Any, key: Key) -> None:
    """Root may log in with `key`; sshd logs to /var/log/sshd.log."""
    script = ("set -e; mkdir -p /run/sshd /root/.ssh; chmod 700 /root/.ssh; "
              f"echo '{key.public}' >/root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys; "
              "ssh-keygen -A >/dev/null; /usr/sbin/sshd -E /var/log/sshd.log")
    code, output = container.exec_run(["sh", "-c", script])
    assert code == 0, output


def docker_sh(container: Any, command: str) -> str:
    """Run a shell command in the container through Docker, not SSH: the view from outside."""
    code, output = container.exec_run(["sh", "-c", command])
    assert code == 0, output
    return str(output.decode())

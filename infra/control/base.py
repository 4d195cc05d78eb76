"""The one interface every nemesis and the cluster use to act on a node: run a command, move files.

Implementations: DockerRemote (a container of ours), SSHRemote (a real machine), FakeRemote (records
commands for unit tests). Nothing else in the project shells out to a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class RemoteCommandError(RuntimeError):
    """A command on a node exited non-zero where the caller needed it to succeed."""

    def __init__(self, node: str, command: str, result: ExecResult) -> None:
        detail = (result.stderr or result.stdout).strip().splitlines()
        last = detail[-1] if detail else "no output"
        super().__init__(f"{node}: `{command}` exited {result.exit_code}: {last}")
        self.node = node
        self.command = command
        self.result = result


class Remote(Protocol):
    """A node we can act on. `name` identifies it in errors and in the history."""

    name: str

    def exec(self, command: str, *, check: bool = True, timeout: float = 60.0) -> ExecResult:
        """Run a shell command on the node as root; raise RemoteCommandError if check and it fails."""
        ...

    def upload(self, path: str, content: bytes, mode: int = 0o644) -> None:
        """Write `content` to `path` on the node, creating parent directories."""
        ...

    def download(self, path: str) -> bytes:
        """Read a file from the node."""
        ...

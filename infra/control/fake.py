"""A Remote that records what it was asked to do, for unit tests of nemeses and the cluster."""

from __future__ import annotations

from collections.abc import Callable

from infra.control.base import ExecResult, RemoteCommandError

Responder = Callable[[str], ExecResult | None]


class FakeRemote:
    def __init__(self, name: str, respond: Responder | None = None) -> None:
        self.name = name
        self.commands: list[str] = []
        self.files: dict[str, bytes] = {}
        self._respond = respond

    def exec(self, command: str, *, check: bool = True, timeout: float = 60.0) -> ExecResult:
        self.commands.append(command)
        result = (self._respond(command) if self._respond else None) or ExecResult(0, "", "")
        if check and not result.ok:
            raise RemoteCommandError(self.name, command, result)
        return result

    def upload(self, path: str, content: bytes, mode: int = 0o644) -> None:
        self.files[path] = content

    def download(self, path: str) -> bytes:
        return self.files.get(path, b"")

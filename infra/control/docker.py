"""Remote implemented with `docker exec` / put_archive / get_archive on one of our containers."""

from __future__ import annotations

import io
import posixpath
import shlex
import tarfile
import time
from collections.abc import Iterator
from typing import Any

from infra.control.base import ExecResult, RemoteCommandError


class DockerRemote:
    def __init__(self, container: Any, name: str | None = None) -> None:
        self.container = container
        self.name = name or container.name

    def exec(self, command: str, *, check: bool = True, timeout: float = 60.0) -> ExecResult:
        # docker exec has no timeout of its own: let coreutils' timeout inside the node enforce one.
        wrapped = ["timeout", "-k", "5", str(max(1, int(timeout))), "sh", "-c", command]
        exit_code, (out, err) = self.container.exec_run(wrapped, demux=True)
        result = ExecResult(exit_code, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace"))
        if check and not result.ok:
            raise RemoteCommandError(self.name, command, result)
        return result

    def stream(self, command: str) -> Iterator[bytes]:
        """Start a long-lived command and yield its stdout in chunks as it comes, until it exits (a watcher
        that outlives any one exec; stop it with a command of its own). The optional `Streams` capability."""
        api = self.container.client.api
        exec_id = api.exec_create(self.container.id, ["sh", "-c", command], stdout=True, stderr=False)
        return iter(api.exec_start(exec_id, stream=True))

    def upload(self, path: str, content: bytes, mode: int = 0o644) -> None:
        directory, filename = posixpath.split(path)
        self.exec(f"mkdir -p {shlex.quote(directory)}")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(filename)
            info.size = len(content)
            info.mode = mode
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(content))
        if not self.container.put_archive(directory, buffer.getvalue()):
            raise RemoteCommandError(self.name, f"upload {path}", ExecResult(1, "", "put_archive failed"))

    def netns_pid(self) -> int:
        """Pid of the container's init on the host: `nsenter -t <pid> -n` enters its network namespace."""
        self.container.reload()
        return int(self.container.attrs["State"]["Pid"])

    def host_path(self, path: str) -> str:
        """Where `path` in the container is seen from the Docker host. Only meaningful when the engine runs on
        this host (and readable as root only): a caller checks that what it finds there is what it made."""
        return f"/proc/{self.netns_pid()}/root{path}"

    def download(self, path: str) -> bytes:
        stream, _ = self.container.get_archive(path)
        buffer = io.BytesIO(b"".join(stream))
        with tarfile.open(fileobj=buffer) as tar:
            member = tar.next()
            extracted = tar.extractfile(member) if member else None
            return extracted.read() if extracted else b""

"""Remote implemented with paramiko over SSH, for Kafka running on real machines.

One SSH connection per node, opened on first use and shared by every thread (paramiko multiplexes channels);
a transport that dropped is reopened once per call. Commands run as root, or through `sudo -n` for another
user, under coreutils' `timeout` so a command that hangs is killed on the node, not just abandoned here.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import logging
import math
import posixpath
import select
import shlex
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import paramiko

from core.errors import HarnessError
from infra.control.base import ExecResult, RemoteCommandError

T = TypeVar("T")
_KILL_GRACE = 5  # seconds between timeout's TERM and its KILL
_BACKSTOP = 10.0  # how long past the remote timeout we wait before giving up on the channel
EXIT_TIMEOUT = 124  # what coreutils' timeout returns; used too when we give up on a silent node
EXIT_CONNECTION_LOST = 255  # what ssh(1) returns when the connection drops

# paramiko logs transport errors itself; the CLI reports them as one line, so keep its records off stderr.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class SSHUnreachable(HarnessError):
    """The node cannot be reached or logged into: the user's environment, not a bug."""


class SSHRemote:
    def __init__(self, name: str, host: str, port: int = 22, user: str = "root", key_file: str | None = None,
                 password: str | None = None, connect_timeout: float = 10.0, *, known_hosts: str | None = None,
                 strict_host_keys: bool = False) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.user = user
        self.key_file = key_file
        self.password = password
        self.connect_timeout = connect_timeout
        self.known_hosts = known_hosts
        self.strict_host_keys = strict_host_keys
        self._client: paramiko.SSHClient | None = None
        self._has_timeout = False
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        at = f"ssh {self.user}@{self.host}:{self.port}"
        return at if self.name == self.host else f"{at} ({self.name})"

    # ---- the Remote protocol ---------------------------------------------------------------------------

    def exec(self, command: str, *, check: bool = True, timeout: float = 60.0) -> ExecResult:
        started = time.monotonic()
        code, out, err = self._run(command, timeout)
        stderr = err.decode(errors="replace")
        if code == EXIT_TIMEOUT and time.monotonic() - started >= timeout:
            stderr = _note(stderr, f"(killed after {timeout:g} s)")
        result = ExecResult(code, out.decode(errors="replace"), stderr)
        if check and not result.ok:
            raise RemoteCommandError(self.name, command, result)
        return result

    def upload(self, path: str, content: bytes, mode: int = 0o644) -> None:
        directory = posixpath.dirname(path) or "/"
        if self.user == "root":
            # Write beside the target and rename over it: a script that is running keeps its old inode.
            staging = posixpath.join(directory, f".{posixpath.basename(path)}.{uuid.uuid4().hex[:8]}")

            def put(sftp: paramiko.SFTPClient) -> None:
                _makedirs(sftp, directory)
                try:
                    with sftp.open(staging, "wb") as handle:
                        handle.set_pipelined(True)
                        handle.write(content)
                    sftp.chmod(staging, mode)
                    sftp.posix_rename(staging, path)
                except OSError:
                    with contextlib.suppress(OSError):
                        sftp.remove(staging)
                    raise

            self._sftp(f"upload {path}", put)
            return
        # Another user cannot write root's paths over SFTP: stage in /tmp, then install it with sudo.
        staging = f"/tmp/.harness-upload-{uuid.uuid4().hex}"

        def put_staged(sftp: paramiko.SFTPClient) -> None:
            with sftp.open(staging, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(content)

        self._sftp(f"upload {path}", put_staged)
        quoted = shlex.quote(staging)
        self.exec(f"mkdir -p {shlex.quote(directory)} && install -m {mode:o} {quoted} {shlex.quote(path)}; "
                  f"status=$?; rm -f {quoted}; exit $status")

    def download(self, path: str) -> bytes:
        if self.user != "root":
            code, out, err = self._run(f"cat {shlex.quote(path)}", 60.0)
            if code != 0:
                result = ExecResult(code, "", err.decode(errors="replace"))
                raise RemoteCommandError(self.name, f"download {path}", result)
            return out

        def get(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(path, "rb") as handle:
                handle.prefetch()
                data: bytes = handle.read()
                return data

        return self._sftp(f"download {path}", get)

    # ---- connection --------------------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the connection now (it is otherwise opened on first use); SSHUnreachable if that fails."""
        self._transport()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> SSHRemote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transport(self) -> paramiko.Transport:
        with self._lock:
            client = self._client
            transport = client.get_transport() if client else None
            if transport is None or not transport.is_active():
                self._drop()
                transport = self._open()
            return transport

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _open(self) -> paramiko.Transport:
        if self.key_file and not Path(self.key_file).expanduser().is_file():
            raise SSHUnreachable(f"{self.where}: key file {self.key_file} does not exist")
        client = paramiko.SSHClient()
        known = Path(self.known_hosts or "~/.ssh/known_hosts").expanduser()
        if known.is_file():
            # load_system_host_keys: checked against, never written to (load_host_keys would save new keys).
            client.load_system_host_keys(str(known))
        client.set_missing_host_key_policy(paramiko.RejectPolicy() if self.strict_host_keys
                                           else paramiko.AutoAddPolicy())
        use_default_keys = self.key_file is None and self.password is None
        try:
            # Loaded here, not via key_filename: paramiko would then try every key type and report the
            # last type's parse error instead of "authentication failed".
            pkey = paramiko.PKey.from_path(Path(self.key_file).expanduser()) if self.key_file else None
        except paramiko.PasswordRequiredException:
            raise SSHUnreachable(f"{self.where}: key file {self.key_file} is encrypted",
                                 hint="load it into ssh-agent and leave `key` unset") from None
        except (paramiko.SSHException, OSError, ValueError) as error:
            raise SSHUnreachable(f"{self.where}: cannot read key file {self.key_file} ({error})") from None
        try:
            client.connect(
                self.host, self.port, self.user, password=self.password, pkey=pkey,
                timeout=self.connect_timeout, banner_timeout=self.connect_timeout, auth_timeout=self.connect_timeout,
                allow_agent=use_default_keys, look_for_keys=use_default_keys)
        except Exception as error:  # noqa: BLE001 - every failure becomes one line naming the host
            client.close()
            message, hint = _explain(error, self.connect_timeout)
            raise SSHUnreachable(f"{self.where}: {message}", hint=hint) from None
        transport = client.get_transport()
        assert transport is not None  # connect() succeeded
        transport.set_keepalive(15)
        self._client = client
        # Without coreutils' timeout on the node we can only abandon a hung command, not kill it.
        try:
            probe = transport.open_session(timeout=self.connect_timeout)
            probe.exec_command("command -v timeout >/dev/null 2>&1")
            self._has_timeout = probe.recv_exit_status() == 0
            probe.close()
        except (paramiko.SSHException, EOFError, OSError) as error:
            self._drop()
            raise SSHUnreachable(f"{self.where}: connection lost right after login ({error})") from None
        return transport

    def _retrying(self, what: str, action: Callable[[paramiko.Transport], T]) -> T:
        """Run `action` on the transport; if the transport turns out dead, reconnect once and run it again.

        Only for steps that fail before anything ran on the node (opening a channel), so a retry never
        runs a command twice.
        """
        for attempt in (1, 2):
            transport = self._transport()
            try:
                return action(transport)
            except (paramiko.SSHException, EOFError, OSError) as error:
                with self._lock:
                    if self._client is not None and self._client.get_transport() is transport:
                        self._drop()
                if attempt == 2:
                    raise SSHUnreachable(f"{self.where}: {what}: connection lost ({error or type(error).__name__})",
                                         hint="the host or its sshd went away") from None
        raise AssertionError("unreachable")

    # ---- commands and files -------------------------------------------------------------------------------

    def wire_command(self, command: str, timeout: float) -> str:
        """What is sent to sshd for `command`: sudo, then timeout, then a shell that decodes the command.

        The command travels base64-encoded and is eval'ed, so its text appears in no process's argv: a
        `pkill -f kafka.Kafka` must not match (and kill) the shell that runs it.
        """
        encoded = base64.b64encode(command.encode()).decode()
        argv = ["sh", "-c", f'eval "$(echo {encoded} | base64 -d)"']
        if self._has_timeout:
            argv = ["timeout", "-k", str(_KILL_GRACE), str(max(1, math.ceil(timeout))), *argv]
        if self.user != "root":
            argv = ["sudo", "-n", *argv]
        return shlex.join(argv)

    def _run(self, command: str, timeout: float) -> tuple[int, bytes, bytes]:
        def start(transport: paramiko.Transport) -> paramiko.Channel:
            channel = transport.open_session(timeout=self.connect_timeout)
            channel.exec_command(self.wire_command(command, timeout))
            return channel

        channel = self._retrying(f"`{command}`", start)
        limit = timeout + (_KILL_GRACE + _BACKSTOP if self._has_timeout else 0.0)
        try:
            channel.shutdown_write()
            return _collect(channel, time.monotonic() + limit, limit)
        finally:
            channel.close()

    def _sftp(self, what: str, action: Callable[[paramiko.SFTPClient], T]) -> T:
        sftp = self._retrying(what, paramiko.SFTPClient.from_transport)
        if sftp is None:
            raise SSHUnreachable(f"{self.where}: {what}: the server refused an SFTP session",
                                 hint="enable the sftp Subsystem in sshd_config")
        try:
            return action(sftp)
        except OSError as error:
            detail = error.strerror or str(error) or type(error).__name__
            raise RemoteCommandError(self.name, what, ExecResult(1, "", detail)) from None
        finally:
            sftp.close()


def _collect(channel: paramiko.Channel, deadline: float, limit: float) -> tuple[int, bytes, bytes]:
    """Read stdout and stderr until the command exits; give up at `deadline` (the node went silent)."""
    out, err = bytearray(), bytearray()
    while True:
        while channel.recv_ready():
            out += channel.recv(65536)
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
        if channel.exit_status_ready() and (channel.eof_received or channel.closed):
            while channel.recv_ready():
                out += channel.recv(65536)
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            return channel.recv_exit_status(), bytes(out), bytes(err)
        if channel.closed or not channel.get_transport().is_active():
            lost = _note(err.decode(errors="replace"), "(ssh connection lost)")
            return EXIT_CONNECTION_LOST, bytes(out), lost.encode()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            note = f"(no answer over ssh within {limit:g} s)"
            return EXIT_TIMEOUT, bytes(out), _note(err.decode(errors="replace"), note).encode()
        # The channel's fileno is signalled on stdout or stderr data and on EOF; the cap bounds the wait
        # for an exit status that arrives alone.
        select.select([channel], [], [], min(remaining, 0.5))


def _note(stderr: str, note: str) -> str:
    """Append our own explanation as the last line, where RemoteCommandError looks."""
    return f"{stderr.rstrip()}\n{note}" if stderr.strip() else note


def _makedirs(sftp: paramiko.SFTPClient, directory: str) -> None:
    missing: list[str] = []
    current = directory
    while current not in ("", "/"):
        try:
            sftp.stat(current)
            break
        except FileNotFoundError:
            missing.append(current)
            current = posixpath.dirname(current)
    for path in reversed(missing):
        sftp.mkdir(path)


def _explain(error: Exception, connect_timeout: float) -> tuple[str, str | None]:
    """One line (and a hint) for why a connection failed."""
    if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
        codes = {getattr(e, "errno", None) for e in error.errors.values()}
        if codes == {errno.ECONNREFUSED}:
            return "connection refused", "is sshd running there, on this port?"
        return str(error).split("Unable to connect to ")[-1], None
    if isinstance(error, ConnectionRefusedError):
        return "connection refused", "is sshd running there, on this port?"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve host ({error.strerror})", "check the host name"
    if isinstance(error, TimeoutError):
        return f"no answer within {connect_timeout:g} s", "is the host up and the port open?"
    if isinstance(error, paramiko.BadHostKeyException):
        return "host key does not match known_hosts", "the machine was reinstalled, or this is not it"
    if isinstance(error, paramiko.AuthenticationException):
        return "authentication failed", "check the user and that the key's public half is in authorized_keys"
    if isinstance(error, paramiko.SSHException) and "not found in known_hosts" in str(error):
        return "host key not in known_hosts", "ssh to it once by hand, or drop strict host-key checking"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower(), None
    return str(error) or type(error).__name__, None

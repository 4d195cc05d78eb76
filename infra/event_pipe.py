"""The Java driver's events through a FIFO in its container, read from the Docker host.

On stdout, every line the driver writes is a docker exec frame: containerd-shim and dockerd relay it and
docker-py decodes it, CPU the brokers lose on a small machine (benchmarks/clients.py). When the engine runs on
this host and we may read the container's filesystem (`/proc/<pid>/root`, root only), the driver writes to a
FIFO there instead and the harness reads it directly: one pipe, no relay.

The host holds the FIFO open for reading *and* writing (`O_RDWR`): opening never blocks, whether or not the
driver ever opens its end, and the read side never sees an end of file. The end of the stream is the driver's
process ending (its exec stream closing); what it wrote before that is in the pipe, so it is read to empty and
then the stream ends. A line cut off by a killed driver stays a partial last line, which DriverStream drops.
"""

from __future__ import annotations

import fcntl
import os
import select
import stat
import threading
from collections.abc import Iterable, Iterator

PIPE_BYTES = 1 << 20  # room for bursts while the harness is descheduled, so the driver's writes do not block
POLL_MS = 50  # how often the reader looks whether the driver has exited while the pipe is quiet
TRANSPORT_FIFO = "fifo"
TRANSPORT_EXEC = "docker-exec"


class EventPipe:
    """The host's end of one FIFO; `chunks()` yields what the driver writes until its process has ended."""

    def __init__(self, host_path: str) -> None:
        mode = os.stat(host_path).st_mode
        if not stat.S_ISFIFO(mode):
            raise OSError(f"{host_path} is not a FIFO")
        self.fd = os.open(host_path, os.O_RDWR | os.O_NONBLOCK)
        try:
            fcntl.fcntl(self.fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:  # above /proc/sys/fs/pipe-max-size for this user: the default 64 KiB still works
            pass

    def chunks(self, process_output: Iterable[bytes]) -> Iterator[bytes]:
        """The FIFO's bytes as they come, then whatever the process wrote on its stdout (a `fatal` written
        before the driver could open the FIFO). `process_output` ends when the driver's process does."""
        exited = threading.Event()
        stdout: list[bytes] = []

        def watch() -> None:
            try:
                stdout.extend(process_output)
            finally:
                exited.set()

        threading.Thread(target=watch, name="java-driver-exit", daemon=True).start()
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        last = b"\n"
        try:
            while True:
                done = exited.is_set()  # looked at before the poll: all it wrote is in the pipe by now
                if poller.poll(POLL_MS):
                    data = self._read()
                    if data:
                        last = data[-1:]
                        yield data
                elif done:
                    break
            rest = b"".join(stdout)
            if rest.strip():
                yield (b"" if last == b"\n" else b"\n") + rest
        finally:
            self.close()

    def _read(self) -> bytes:
        try:
            return os.read(self.fd, PIPE_BYTES)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

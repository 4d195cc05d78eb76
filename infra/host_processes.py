"""Processes the harness starts on the host for a run (e.g. a userspace packet delayer inside a node's
network namespace), tracked by pid so teardown — or `harness clean` after a crash — ends exactly those.

Pid files live in /run/kafka-jepsen/<run-id>/; a pid is only signalled if its command line still carries the
marker we started it with, so a recycled pid is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

STATE_ROOT = Path(os.environ.get("HARNESS_STATE_DIR", "/run/kafka-jepsen"))


class HostProcesses:
    def __init__(self, run_id: str, group: str = "") -> None:
        """`group`: a sub-directory whose processes stop_all (and stop_run) leave alone, for processes that must
        outlive the others (the durable filesystems under the brokers, which go after the containers)."""
        self.run_id = run_id
        self.directory = STATE_ROOT / run_id / group if group else STATE_ROOT / run_id

    def marker(self) -> str:
        return f"kafka-jepsen-run={self.run_id}"

    def start(self, name: str, argv: list[str], log: Path | None = None) -> subprocess.Popen[bytes]:
        """Start argv (which must contain self.marker() somewhere) and record its pid under `name`."""
        if self.marker() not in " ".join(argv):
            raise ValueError("host processes must carry the run marker in their command line")
        self.directory.mkdir(parents=True, exist_ok=True)
        out = log.open("ab") if log else subprocess.DEVNULL
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)  # our Ctrl-C must not kill it before teardown
        (self.directory / f"{name}.pid").write_text(str(process.pid))
        return process

    def stop(self, name: str) -> None:
        pidfile = self.directory / f"{name}.pid"
        if pidfile.exists():
            _terminate(int(pidfile.read_text()), self.marker())
            pidfile.unlink(missing_ok=True)

    def stop_all(self) -> int:
        return stop_run(self.run_id, self.directory)


def stop_run(run_id: str, directory: Path | None = None) -> int:
    """End every recorded host process of one run (of one group of it); returns how many were still running."""
    directory = directory or STATE_ROOT / run_id
    stopped = 0
    for pidfile in sorted(directory.glob("*.pid")) if directory.exists() else []:
        stopped += _terminate(int(pidfile.read_text()), f"kafka-jepsen-run={run_id}")
        pidfile.unlink(missing_ok=True)
    for empty in (directory, STATE_ROOT / run_id):
        if empty.exists() and not any(empty.iterdir()):
            empty.rmdir()
    return stopped


def recorded_runs() -> list[str]:
    return sorted(p.name for p in STATE_ROOT.iterdir() if p.is_dir()) if STATE_ROOT.exists() else []


def _terminate(pid: int, marker: str) -> int:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return 0
    if marker not in cmdline:
        return 0  # not ours (pid recycled): never signal it
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:
            os.waitpid(pid, os.WNOHANG)  # reap if it is our child
        except ChildProcessError:
            pass
        time.sleep(0.05)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)
    return 1

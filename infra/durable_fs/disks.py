"""The harness's side of the durable filesystem: one daemon per broker on the host (a host process of the
run, tracked by pid), mounted on a host directory that the broker's container gets as its data dir (a bind
mount; allow_other lets dockerd and the container's root through). Teardown, after the containers are gone,
ends each daemon (it unmounts on SIGTERM), unmounts lazily whatever is left, and removes the backing files;
`harness clean` does the same for a crashed run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.errors import HarnessError
from core.waiting import WaitTimeout, wait_until
from infra.host_processes import HostProcesses

DISK_ROOT = Path(os.environ.get("HARNESS_DISK_DIR", "/var/tmp/kafka-jepsen"))
GROUP = "disks"


class DurableDisk:
    """One broker's filesystem, driven over its control socket."""

    def __init__(self, node: str, directory: Path) -> None:
        self.node = node
        self.directory = directory
        self.mount = directory / "mnt"
        self.backing = directory / "backing"
        self.control = directory / "control.sock"
        self.log = directory / "daemon.log"

    def ask(self, op: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(timeout)
                conn.connect(str(self.control))
                conn.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
                reply: dict[str, Any] = json.loads(conn.makefile("rb").readline() or b"{}")
        except (OSError, ValueError) as error:
            raise HarnessError(f"the durable filesystem of {self.node} did not answer {op!r}: {error}",
                               hint=f"its log is {self.log}") from None
        if not reply.get("ok"):
            raise HarnessError(f"the durable filesystem of {self.node} refused {op!r}: {reply.get('error')}")
        reply.pop("ok")
        return reply

    def cut(self) -> None:
        self.ask("cut")

    def lose(self) -> dict[str, int]:
        return self.ask("lose")

    def power_on(self) -> None:
        self.ask("power-on")

    def sync(self) -> None:
        """Make everything on the disk durable (`sync`)."""
        self.ask("sync")

    def fault(self, fault: str, delay_ms: float = 0.0) -> None:
        self.ask("fault", fault=fault, delay_ms=delay_ms)

    def clear(self) -> int:
        """The disk fault off; how many operations it failed or delayed."""
        return int(self.ask("clear")["hits"])

    def stats(self) -> dict[str, Any]:
        return self.ask("stats")


class DurableDisks:
    """Every durable disk of one run."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.root = DISK_ROOT / run_id
        self.host = HostProcesses(run_id, GROUP)
        self.disks: dict[str, DurableDisk] = {}

    def mount(self, node: str) -> DurableDisk:
        disk = DurableDisk(node, self.root / node)
        self.disks[node] = disk  # registered before it exists: teardown will unmount it
        disk.directory.mkdir(parents=True, exist_ok=True)
        process = self.host.start(node, [
            sys.executable, "-m", "infra.durable_fs.daemon", "--backing", str(disk.backing), "--mount",
            str(disk.mount), "--control", str(disk.control), "--marker", self.host.marker()], log=disk.log)
        try:
            wait_until(lambda: process.poll() is not None or (os.path.ismount(disk.mount) and disk.control.exists()),
                       30, f"the durable filesystem of {node} to mount", interval=0.1)
        except WaitTimeout:
            pass
        if process.poll() is not None or not os.path.ismount(disk.mount):
            tail = disk.log.read_text(errors="replace").strip().splitlines()[-1:] if disk.log.exists() else []
            raise HarnessError(f"the durable filesystem of {node} did not mount on {disk.mount}"
                               + (f": {tail[0]}" if tail else ""),
                               hint="it needs /dev/fuse, libfuse3 and fusermount3 (scripts/install-system-deps.sh) "
                                    "and mfusepy (pip install -e .)")
        return disk

    def teardown(self) -> list[str]:
        """End every daemon, unmount, remove the backing files; the problems met (never raises)."""
        return clean_run(self.run_id)


def clean_run(run_id: str) -> list[str]:
    problems: list[str] = []
    HostProcesses(run_id, GROUP).stop_all()
    root = DISK_ROOT / run_id
    for mount in sorted(root.glob("*/mnt")) if root.exists() else []:
        if os.path.ismount(mount):
            result = subprocess.run(["fusermount3", "-u", "-z", str(mount)], capture_output=True, text=True)
            if result.returncode != 0:
                problems.append(f"unmount {mount}: {result.stderr.strip()}")
    if not problems:
        shutil.rmtree(root, ignore_errors=True)
    return problems


def recorded_runs() -> list[str]:
    return sorted(p.name for p in DISK_ROOT.iterdir() if p.is_dir()) if DISK_ROOT.exists() else []

"""One filesystem process: `python -m infra.durable_fs.daemon --backing DIR --mount DIR --control SOCKET
--marker kafka-jepsen-run=<id>`. It mounts the filesystem (foreground, single-threaded FUSE loop) and answers
one JSON line per connection on the control socket:
  {"op": "cut"}       power is cut: every change and fsync fails with EIO from now on
  {"op": "lose"}      the kernel's dirty pages are pushed down first (syncfs), then everything not durable is
                      dropped; the reply says how much (state.Loss)
  {"op": "power-on"}  changes are accepted again
  {"op": "sync"}      everything durable now (as `sync` does): after provisioning, before the test
  {"op": "fault", "fault": "full"|"eio-write"|"eio-read"|"slow", "delay_ms": N}
                      a disk fault: ENOSPC on writes and creates / EIO on changes and fsyncs / EIO on reads /
                      N ms more on every change and fsync
  {"op": "clear"}     the disk fault off; the reply says how many operations it hit
  {"op": "stats"}     counters and what a loss now would drop
SIGTERM (the harness's teardown, `harness clean`) unmounts and exits.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import socketserver
import threading
from pathlib import Path
from typing import Any

from mfusepy import FUSE

from infra.durable_fs.operations import DurableOperations
from infra.durable_fs.state import METADATA_MODELS


def syncfs(path: Path) -> None:
    """Write back what the kernel holds dirty for this mount (shared mmaps: Kafka's index files) so it reaches
    the bookkeeping, to be dropped with the rest, instead of landing after the loss."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        libc.syncfs(fd)
    finally:
        os.close(fd)


def serve_control(ops: DurableOperations, socket_path: Path, mount: Path) -> socketserver.UnixStreamServer:
    def answer(request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "cut":
            ops.power_cut()
            return {"ok": True}
        if op == "lose":
            syncfs(mount)  # outside the lock: the FUSE loop serves the writes it causes
            return {"ok": True, **ops.lose().to_json()}
        if op == "sync":
            syncfs(mount)
            ops.sync_all()
            return {"ok": True}
        if op == "power-on":
            ops.power_on()
            return {"ok": True}
        if op == "fault":
            ops.set_fault(request["fault"], float(request.get("delay_ms", 0)))
            return {"ok": True}
        if op == "clear":
            return {"ok": True, "hits": ops.set_fault(None)}
        if op == "stats":
            return {"ok": True, **ops.stats()}
        return {"ok": False, "error": f"unknown op {op!r}"}

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            try:
                reply = answer(json.loads(self.rfile.readline()))
            except Exception as error:  # noqa: BLE001 - a bad request gets an answer, never kills the disk
                reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            self.wfile.write(json.dumps(reply).encode() + b"\n")

    socket_path.unlink(missing_ok=True)
    server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="control", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="durable-fs")
    parser.add_argument("--backing", type=Path, required=True)
    parser.add_argument("--mount", type=Path, required=True)
    parser.add_argument("--control", type=Path, required=True)
    parser.add_argument("--metadata", choices=METADATA_MODELS, default="journal")  # see state.py
    parser.add_argument("--marker", default="")  # the run marker, so only this run's teardown ends it
    args = parser.parse_args(argv)
    args.mount.mkdir(parents=True, exist_ok=True)
    ops = DurableOperations(args.backing, args.metadata)
    serve_control(ops, args.control, args.mount)
    # Caches off: after a loss the kernel must not answer from names or sizes the disk no longer has.
    try:
        # hard_remove: an unlinked open file is ours to keep (open_count), not renamed to .fuse_hidden*.
        FUSE(ops, str(args.mount), foreground=True, nothreads=True, allow_other=True, fsname="kj-durable",
             hard_remove=True, attr_timeout=0, entry_timeout=0, negative_timeout=0)
    except RuntimeError as error:  # libfuse's exit status after SIGTERM: unmounted, nothing more to say
        print(f"durable-fs: FUSE loop ended ({error})", flush=True)


if __name__ == "__main__":
    main()

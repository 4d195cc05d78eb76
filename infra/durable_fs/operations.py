"""The FUSE side: path-based operations (mfusepy over libfuse3) on a DurableState whose file contents are
objects in a backing directory. One lock: the FUSE loop is single-threaded, the control socket runs beside it.

While the power is cut (between `cut` and `power-on`) every fsync and every change of names fails with EIO, and
every write is dropped: nothing can become durable after the instant of the loss, whatever the dying JVM tries."""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

from mfusepy import FuseOSError, Operations

from infra.durable_fs.state import DurableState, FsError, Loss


class FileStore:
    """File contents as files named by inode number in one backing directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._fds: dict[int, int] = {}

    def _fd(self, ino: int) -> int:
        fd = self._fds.get(ino)
        if fd is None:
            fd = self._fds[ino] = os.open(self.directory / str(ino), os.O_RDWR | os.O_CREAT, 0o600)
        return fd

    def create(self, ino: int) -> None:
        os.ftruncate(self._fd(ino), 0)

    def delete(self, ino: int) -> None:
        fd = self._fds.pop(ino, None)
        if fd is not None:
            os.close(fd)
        (self.directory / str(ino)).unlink(missing_ok=True)

    def read(self, ino: int, offset: int, size: int) -> bytes:
        return os.pread(self._fd(ino), size, offset)

    def write(self, ino: int, offset: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd(ino), view, offset)
            view, offset = view[written:], offset + written

    def truncate(self, ino: int, size: int) -> None:
        os.ftruncate(self._fd(ino), size)

    def size(self, ino: int) -> int:
        return os.fstat(self._fd(ino)).st_size

    def allocated(self, ino: int) -> int:
        info = os.fstat(self._fd(ino))
        return min(info.st_size, info.st_blocks * 512)


def _fs(method: Any) -> Any:
    """Run one operation under the lock, turning bookkeeping errors into FUSE errors."""

    def wrapped(self: DurableOperations, *args: Any) -> Any:
        with self._mutex:
            try:
                return method(self, *args)
            except FsError as error:
                raise FuseOSError(error.errno) from None
            except KeyError:
                raise FuseOSError(errno.ENOENT) from None

    wrapped.__name__ = method.__name__
    return wrapped


# Disk faults on command (the disk-* nemeses): which operations each one hits, and how.
FAULTS = ("full", "eio-write", "eio-read", "slow")


def _changes(method: Any) -> Any:
    """An operation that changes the disk (or makes something durable): EIO while the power is cut, and the
    injected disk fault if one is on."""

    def wrapped(self: DurableOperations, *args: Any) -> Any:
        if self.cut:
            self.refused += 1
            if method.__name__ == "write":
                # Dropped, but "written": a failed write-back (the dying JVM's dirty mmap pages) would leave
                # AS_EIO on the file's mapping, and the restarted broker's first msync would fail with it.
                return len(args[1])
            raise FuseOSError(errno.EIO)
        self._disk_fault(method.__name__)
        return method(self, *args)

    wrapped.__name__ = method.__name__
    return wrapped


class DurableOperations(Operations):  # type: ignore[misc]
    use_ns = True

    def __init__(self, backing: Path, metadata: str = "journal") -> None:
        self.backing = backing
        self.state = DurableState(FileStore(backing / "objects"), metadata)
        self._mutex = threading.Lock()
        self.cut = False
        self.refused = 0  # changes refused while the power was cut
        self.losses: list[Loss] = []
        self.fsyncs = 0
        self.fault: str | None = None  # one of FAULTS while a disk fault is on
        self.delay_s = 0.0
        self.hits = 0  # operations the current disk fault failed or delayed

    def _disk_fault(self, op: str) -> None:
        """Fail or delay `op` as the disk fault on now says (outside the lock: a slow disk delays, never
        deadlocks the control socket)."""
        fault = self.fault
        if fault is None or (op == "read") != (fault == "eio-read"):
            return
        if fault == "full" and op not in ("write", "create", "mkdir", "truncate"):
            return  # a full disk still renames, unlinks and fsyncs what it holds
        self.hits += 1
        if fault == "slow":
            time.sleep(self.delay_s)
            return
        raise FuseOSError(errno.ENOSPC if fault == "full" else errno.EIO)

    def set_fault(self, fault: str | None, delay_ms: float = 0.0) -> int:
        """Turn a disk fault on (or off with None); returns how many operations the previous one hit."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"disk fault {fault!r}: one of {', '.join(FAULTS)}")
        with self._mutex:
            hits, self.hits = self.hits, 0
            self.fault, self.delay_s = fault, delay_ms / 1000
            return hits

    # ---- control (called from the control thread) --------------------------------------------------------

    def power_cut(self) -> None:
        with self._mutex:
            self.cut = True

    def lose(self) -> Loss:
        with self._mutex:
            loss = self.state.lose()
            self.losses.append(loss)
            return loss

    def sync_all(self) -> None:
        with self._mutex:
            self.state.sync_all()

    def power_on(self) -> None:
        with self._mutex:
            self.cut = False

    def stats(self) -> dict[str, Any]:
        with self._mutex:
            return {"cut": self.cut, "refused": self.refused, "fault": self.fault, "hits": self.hits,
                    "fsyncs": self.fsyncs, "losses": len(self.losses),
                    "files": sum(1 for i in self.state.inodes.values() if not i.is_dir),
                    "unsynced": self.state.unsynced()}

    # ---- FUSE --------------------------------------------------------------------------------------------

    @_fs
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        ino = self.state.lookup(path) if fh is None or path is not None else fh
        inode = self.state.inodes[ino]
        size = self.state.size(ino)
        return {"st_mode": inode.mode, "st_ino": ino, "st_nlink": 2 if inode.is_dir else 1, "st_size": size,
                "st_blocks": (size + 511) // 512, "st_uid": 0, "st_gid": 0, "st_atime": inode.atime_ns,
                "st_mtime": inode.mtime_ns, "st_ctime": inode.ctime_ns}

    @_fs
    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *self.state.listdir(self.state.lookup(path))]

    @_fs
    def opendir(self, path: str) -> int:
        ino = self.state.lookup(path)
        if not self.state.inodes[ino].is_dir:
            raise FsError(errno.ENOTDIR)
        return ino

    @_fs
    @_changes
    def mkdir(self, path: str, mode: int) -> int:
        self.state.mkdir(path, mode)
        return 0

    @_fs
    @_changes
    def rmdir(self, path: str) -> int:
        self.state.rmdir(path)
        return 0

    @_fs
    @_changes
    def create(self, path: str, mode: int, fi: Any = None) -> int:
        ino = self.state.create(path, mode)
        self.state.opened(ino)
        return ino

    @_fs
    def open(self, path: str, flags: int) -> int:
        ino = self.state.lookup(path)
        if self.state.inodes[ino].is_dir:
            raise FsError(errno.EISDIR)
        self.state.opened(ino)
        return ino

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        self._disk_fault("read")
        return self._read(fh, offset, size)

    @_fs
    def _read(self, fh: int, offset: int, size: int) -> bytes:
        return self.state.read(fh, offset, size)

    @_fs
    @_changes
    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return self.state.write(fh, offset, bytes(data))

    @_fs
    @_changes
    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self.state.truncate(fh if fh is not None else self.state.lookup(path), length)
        return 0

    @_fs
    def release(self, path: str, fh: int) -> int:
        self.state.released(fh)
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    @_fs
    @_changes
    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self.fsyncs += 1
        self.state.fsync(fh)
        return 0

    @_fs
    @_changes
    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        self.fsyncs += 1
        self.state.fsync(self.state.lookup(path))
        return 0

    @_fs
    @_changes
    def rename(self, old: str, new: str) -> int:
        self.state.rename(old, new)
        return 0

    @_fs
    @_changes
    def unlink(self, path: str) -> int:
        self.state.unlink(path)
        return 0

    @_fs
    def chmod(self, path: str, mode: int) -> int:
        inode = self.state.inodes[self.state.lookup(path)]
        inode.mode = stat.S_IFMT(inode.mode) | (mode & 0o7777)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        return 0

    @_fs
    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        inode = self.state.inodes[self.state.lookup(path)]
        if times is None:
            inode.atime_ns = inode.mtime_ns = time.time_ns()
        else:
            inode.atime_ns, inode.mtime_ns = times
        return 0

    def access(self, path: str, amode: int) -> int:
        return 0

    def statfs(self, path: str) -> dict[str, Any]:
        s = os.statvfs(self.backing)
        return {key: getattr(s, key) for key in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail",
                                                  "f_files", "f_ffree", "f_favail", "f_namemax")}

"""The durable-state bookkeeping of the filesystem, with no FUSE in it.

Files are objects in a Store, named by inode number; the namespace (directories and their entries) lives in
memory. What is durable is tracked the strict POSIX way:
- a file's contents are durable up to its last fsync/fdatasync: bytes written since are dropped at power loss
  (appends truncated away; overwritten or truncated durable bytes restored, saved by 4 KiB page on their first
  change);
- a directory's entries are durable up to its last fsync: a create, mkdir, rename, unlink or rmdir since is
  undone at power loss. Each directory reverts on its own, so a file renamed between two directories of which
  only one was fsynced can come back in both or (as on a real disk) in the one whose fsync covered it.
Metadata (mode, times) is kept but not tracked: it survives a power loss as it was.

Names have two models (`metadata`): "posix" is the above, the strictest a disk may be; "journal" (the default)
is what ext4 and XFS do in practice: their metadata journal is one log, so any fsync (of a file or a directory)
commits every create, rename and unlink made before it. Under "posix" a file fsynced in a directory nobody
fsynced can vanish; under "journal" it cannot, and un-fsynced contents are still dropped.
"""

from __future__ import annotations

import errno
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

PAGE = 4096
ROOT = 1


class FsError(OSError):
    def __init__(self, code: int) -> None:
        super().__init__(code, errno.errorcode.get(code, str(code)))


class Store(Protocol):
    """Where file contents live: one object per inode."""

    def create(self, ino: int) -> None: ...
    def delete(self, ino: int) -> None: ...
    def read(self, ino: int, offset: int, size: int) -> bytes: ...
    def write(self, ino: int, offset: int, data: bytes) -> None: ...
    def truncate(self, ino: int, size: int) -> None: ...
    def size(self, ino: int) -> int: ...
    def allocated(self, ino: int) -> int: ...  # bytes really held (a sparse file holds fewer than its size)


class MemoryStore:
    """A Store in memory, for tests."""

    def __init__(self) -> None:
        self.objects: dict[int, bytearray] = {}

    def create(self, ino: int) -> None:
        self.objects[ino] = bytearray()

    def delete(self, ino: int) -> None:
        del self.objects[ino]

    def read(self, ino: int, offset: int, size: int) -> bytes:
        return bytes(self.objects[ino][offset:offset + size])

    def write(self, ino: int, offset: int, data: bytes) -> None:
        obj = self.objects[ino]
        if offset > len(obj):
            obj.extend(bytes(offset - len(obj)))
        obj[offset:offset + len(data)] = data

    def truncate(self, ino: int, size: int) -> None:
        obj = self.objects[ino]
        if size < len(obj):
            del obj[size:]
        else:
            obj.extend(bytes(size - len(obj)))

    def size(self, ino: int) -> int:
        return len(self.objects[ino])

    def allocated(self, ino: int) -> int:
        return len(self.objects[ino])


@dataclass
class Inode:
    ino: int
    mode: int  # with the S_IFDIR / S_IFREG bits
    atime_ns: int = field(default_factory=time.time_ns)
    mtime_ns: int = field(default_factory=time.time_ns)
    ctime_ns: int = field(default_factory=time.time_ns)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


@dataclass
class Pending:
    """A file's changes since its last fsync: its durable size and the durable pages overwritten since."""

    durable_size: int
    saved: dict[int, bytes] = field(default_factory=dict)  # page index -> its durable bytes (clipped)
    written: int = 0  # bytes write() was given since the last fsync (not a sparse setLength)


@dataclass(frozen=True)
class Loss:
    """What one power loss dropped."""

    bytes_dropped: int  # bytes written since the last fsync, of files reverted or lost (+ what lost files held)
    files_reverted: int  # files still there whose contents went back to their last fsync
    files_lost: int  # files (and directories) no durable entry named: gone
    entries_reverted: int  # directories whose entries went back to their last fsync

    def to_json(self) -> dict[str, int]:
        return {"bytes_dropped": self.bytes_dropped, "files_reverted": self.files_reverted,
                "files_lost": self.files_lost, "entries_reverted": self.entries_reverted}

    @property
    def nothing(self) -> bool:
        return not (self.bytes_dropped or self.files_reverted or self.files_lost or self.entries_reverted)


METADATA_MODELS = ("journal", "posix")


class DurableState:
    def __init__(self, store: Store, metadata: str = "journal") -> None:
        if metadata not in METADATA_MODELS:
            raise ValueError(f"metadata model {metadata!r}: one of {', '.join(METADATA_MODELS)}")
        self.journal = metadata == "journal"
        self.store = store
        self.inodes: dict[int, Inode] = {ROOT: Inode(ROOT, stat.S_IFDIR | 0o755)}
        self.entries: dict[int, dict[str, int]] = {ROOT: {}}  # directory -> name -> inode (current)
        self.durable_entries: dict[int, dict[str, int]] = {}  # directories changed since their last fsync
        self.pending: dict[int, Pending] = {}  # files changed since their last fsync
        self.open_count: dict[int, int] = {}
        self._next = ROOT + 1

    # ---- names ------------------------------------------------------------------------------------------

    def lookup(self, path: str) -> int:
        ino = ROOT
        for part in _parts(path):
            if not self.inodes[ino].is_dir:
                raise FsError(errno.ENOTDIR)
            child = self.entries[ino].get(part)
            if child is None:
                raise FsError(errno.ENOENT)
            ino = child
        return ino

    def _parent(self, path: str) -> tuple[int, str]:
        parts = _parts(path)
        if not parts:
            raise FsError(errno.EINVAL)
        parent = self.lookup("/".join(parts[:-1]))
        if not self.inodes[parent].is_dir:
            raise FsError(errno.ENOTDIR)
        return parent, parts[-1]

    def _change(self, directory: int) -> dict[str, int]:
        """The entries of `directory`, about to change: their durable version is kept first."""
        if directory not in self.durable_entries:
            self.durable_entries[directory] = dict(self.entries[directory])
        self.inodes[directory].mtime_ns = time.time_ns()
        return self.entries[directory]

    def _new(self, mode: int) -> Inode:
        inode = Inode(self._next, mode)
        self._next += 1
        self.inodes[inode.ino] = inode
        return inode

    def create(self, path: str, mode: int) -> int:
        parent, name = self._parent(path)
        if name in self.entries[parent]:
            raise FsError(errno.EEXIST)
        inode = self._new(stat.S_IFREG | (mode & 0o7777))
        self.store.create(inode.ino)
        self._change(parent)[name] = inode.ino
        return inode.ino

    def mkdir(self, path: str, mode: int) -> int:
        parent, name = self._parent(path)
        if name in self.entries[parent]:
            raise FsError(errno.EEXIST)
        inode = self._new(stat.S_IFDIR | (mode & 0o7777))
        self.entries[inode.ino] = {}
        self._change(parent)[name] = inode.ino
        return inode.ino

    def unlink(self, path: str) -> None:
        parent, name = self._parent(path)
        ino = self.entries[parent].get(name)
        if ino is None:
            raise FsError(errno.ENOENT)
        if self.inodes[ino].is_dir:
            raise FsError(errno.EISDIR)
        del self._change(parent)[name]
        self._collect()

    def rmdir(self, path: str) -> None:
        parent, name = self._parent(path)
        ino = self.entries[parent].get(name)
        if ino is None:
            raise FsError(errno.ENOENT)
        if not self.inodes[ino].is_dir:
            raise FsError(errno.ENOTDIR)
        if self.entries[ino]:
            raise FsError(errno.ENOTEMPTY)
        del self._change(parent)[name]
        self._collect()

    def rename(self, old: str, new: str) -> None:
        old_parent, old_name = self._parent(old)
        ino = self.entries[old_parent].get(old_name)
        if ino is None:
            raise FsError(errno.ENOENT)
        new_parent, new_name = self._parent(new)
        if self.inodes[ino].is_dir and self._inside(new_parent, ino):
            raise FsError(errno.EINVAL)
        replaced = self.entries[new_parent].get(new_name)
        if replaced == ino:
            return
        if replaced is not None:
            if self.inodes[replaced].is_dir != self.inodes[ino].is_dir:
                raise FsError(errno.EISDIR if self.inodes[replaced].is_dir else errno.ENOTDIR)
            if self.inodes[replaced].is_dir and self.entries[replaced]:
                raise FsError(errno.ENOTEMPTY)
        del self._change(old_parent)[old_name]
        self._change(new_parent)[new_name] = ino
        self._collect()

    def _inside(self, directory: int, ancestor: int) -> bool:
        """Whether `directory` is `ancestor` or below it (a directory cannot move into itself)."""
        parents = {child: d for d, names in self.entries.items() for child in names.values()}
        node: int | None = directory
        while node is not None:
            if node == ancestor:
                return True
            node = parents.get(node)
        return False

    def listdir(self, ino: int) -> dict[str, int]:
        if not self.inodes[ino].is_dir:
            raise FsError(errno.ENOTDIR)
        return self.entries[ino]

    # ---- contents ---------------------------------------------------------------------------------------

    def size(self, ino: int) -> int:
        return 0 if self.inodes[ino].is_dir else self.store.size(ino)

    def read(self, ino: int, offset: int, size: int) -> bytes:
        return self.store.read(ino, offset, size)

    def _save(self, ino: int, start: int, end: int) -> None:
        """Keep the durable bytes of pages [start, end) touches, the first time they change."""
        pending = self.pending.get(ino)
        if pending is None:
            pending = self.pending[ino] = Pending(self.store.size(ino))
        end = min(end, pending.durable_size)
        for page in range(start // PAGE, (end + PAGE - 1) // PAGE if end > start else start // PAGE):
            if page not in pending.saved:
                first = page * PAGE
                pending.saved[page] = self.store.read(ino, first, min(PAGE, pending.durable_size - first))

    def write(self, ino: int, offset: int, data: bytes) -> int:
        self._save(ino, offset, offset + len(data))
        self.pending[ino].written += len(data)
        self.store.write(ino, offset, data)
        self.inodes[ino].mtime_ns = time.time_ns()
        return len(data)

    def truncate(self, ino: int, size: int) -> None:
        if self.inodes[ino].is_dir:
            raise FsError(errno.EISDIR)
        self._save(ino, size, self.store.size(ino))
        self.store.truncate(ino, size)
        self.inodes[ino].mtime_ns = time.time_ns()

    def fsync(self, ino: int) -> None:
        """fsync or fdatasync of a file: its contents are durable; of a directory: its entries are."""
        if self.journal:
            self.durable_entries = {}  # one metadata journal: this commit covers every name changed before it
        elif self.inodes[ino].is_dir:
            self.durable_entries.pop(ino, None)
        if not self.inodes[ino].is_dir:
            self.pending.pop(ino, None)

    # ---- handles and collection -------------------------------------------------------------------------

    def opened(self, ino: int) -> None:
        self.open_count[ino] = self.open_count.get(ino, 0) + 1

    def released(self, ino: int) -> None:
        left = self.open_count.get(ino, 0) - 1
        if left > 0:
            self.open_count[ino] = left
        else:
            self.open_count.pop(ino, None)
            self._collect()

    def _named(self) -> set[int]:
        """Inodes a current or a durable entry still names (reachable from the root either way)."""
        named = {ROOT}
        frontier = [ROOT]
        while frontier:
            directory = frontier.pop()
            for table in (self.entries.get(directory, {}), self.durable_entries.get(directory, {})):
                for child in table.values():
                    if child not in named:
                        named.add(child)
                        if self.inodes[child].is_dir:
                            frontier.append(child)
        return named

    def _collect(self) -> None:
        """Free inodes nothing names and no handle holds (an unlinked file lives on while open)."""
        keep = self._named() | set(self.open_count)
        for ino in [i for i in self.inodes if i not in keep]:
            self._free(ino)

    def _free(self, ino: int) -> None:
        inode = self.inodes.pop(ino)
        self.pending.pop(ino, None)
        self.durable_entries.pop(ino, None)
        if inode.is_dir:
            self.entries.pop(ino, None)
        else:
            self.store.delete(ino)

    # ---- power loss -------------------------------------------------------------------------------------

    def lose(self) -> Loss:
        """The machine lost power: every directory and file goes back to what its last fsync made durable."""
        entries_reverted = len(self.durable_entries)
        for directory, durable in self.durable_entries.items():
            self.entries[directory] = durable
        self.durable_entries = {}
        self.open_count = {}  # every process of the machine is gone
        reachable = self._named()
        bytes_dropped = files_lost = 0
        for ino in [i for i in self.inodes if i not in reachable]:
            if not self.inodes[ino].is_dir:
                pending = self.pending.get(ino)
                # What the application wrote and lost; for a file fsynced but never named, what it held.
                bytes_dropped += pending.written if pending else self.store.allocated(ino)
            files_lost += 1
            self._free(ino)
        files_reverted = 0
        for ino, pending in self.pending.items():
            size = self.store.size(ino)
            self.store.truncate(ino, pending.durable_size)
            for page, durable in pending.saved.items():
                self.store.write(ino, page * PAGE, durable)
            if pending.written or pending.saved or size != pending.durable_size:
                files_reverted += 1
            bytes_dropped += pending.written
        self.pending = {}
        return Loss(bytes_dropped, files_reverted, files_lost, entries_reverted)

    def sync_all(self) -> None:
        """Everything durable now, as `sync` leaves a disk (or an idle machine whose kernel wrote back)."""
        self.pending = {}
        self.durable_entries = {}

    def unsynced(self) -> dict[str, int]:
        """How much a power loss now would drop, roughly (for `stats`)."""
        return {"files": len(self.pending), "directories": len(self.durable_entries),
                "bytes_written": sum(p.written for p in self.pending.values())}

    def walk(self, ino: int = ROOT, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Every (path, inode) below `ino`, for tests and `stats`."""
        for name, child in sorted(self.entries[ino].items()):
            path = f"{prefix}/{name}"
            yield path, child
            if self.inodes[child].is_dir:
                yield from self.walk(child, path)


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]

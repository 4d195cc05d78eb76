"""The durable filesystem mounted for real (FUSE on a temp dir, no Docker): the kernel's writes, fsyncs, mmaps
and renames reach the bookkeeping, and a power loss over the control socket drops what was not made durable."""

from __future__ import annotations

import errno
import mmap
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import host_processes
from infra.durable_fs import disks
from infra.durable_fs.disks import DurableDisk, DurableDisks

pytestmark = pytest.mark.skipif(not (os.path.exists("/dev/fuse") and shutil.which("fusermount3")),
                                reason="needs /dev/fuse and fusermount3 (scripts/install-system-deps.sh)")


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DurableDisk]:
    monkeypatch.setattr(disks, "DISK_ROOT", tmp_path / "disks")
    monkeypatch.setattr(host_processes, "STATE_ROOT", tmp_path / "state")
    run = DurableDisks("kj-test01")
    try:
        yield run.mount("broker1")
    finally:
        assert run.teardown() == []
        assert not (tmp_path / "disks" / "kj-test01").exists()  # unmounted and removed


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def test_power_loss_drops_unsynced_appends_and_names_but_keeps_what_was_fsynced(disk: DurableDisk) -> None:
    log_dir = disk.mount / "topic-0"
    log_dir.mkdir()
    fsync_dir(disk.mount)
    with open(log_dir / "00.log", "wb") as f:
        f.write(b"acked and fsynced;")
        f.flush()
        os.fsync(f.fileno())
        f.write(b"acked from the page cache only")
    fsync_dir(log_dir)
    (log_dir / "01.log").write_bytes(b"a segment whose name was never made durable")
    disk.cut()
    with open(log_dir / "00.log", "r+b") as f:
        f.seek(0, os.SEEK_END)
        f.write(b"after the instant of the loss")  # dropped, never an error the kernel would keep on the file
        f.flush()
        with pytest.raises(OSError):
            os.fsync(f.fileno())  # nothing becomes durable after the instant
    loss = disk.lose()
    disk.power_on()
    assert (log_dir / "00.log").read_bytes() == b"acked and fsynced;"
    assert sorted(os.listdir(log_dir)) == ["00.log"]
    assert loss["bytes_dropped"] == len(b"acked from the page cache only") + len(
        b"a segment whose name was never made durable")
    assert loss["files_lost"] == 1


def test_dirty_pages_of_a_shared_mmap_are_dropped_too(disk: DurableDisk) -> None:
    path = disk.mount / "00.index"
    with open(path, "wb") as f:
        f.truncate(8192)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(disk.mount)
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 8192) as mapped:
        mapped[0:5] = b"entry"  # as Kafka writes its index files: dirty pages, no write() at all
    loss = disk.lose()
    disk.power_on()
    assert path.read_bytes() == bytes(8192)
    assert loss["bytes_dropped"] > 0


def test_a_loss_with_everything_fsynced_reports_nothing_dropped(disk: DurableDisk) -> None:
    with open(disk.mount / "f", "wb") as f:
        f.write(b"x")
        f.flush()  # out of Python's buffer first, or the fsync comes before the write
        os.fsync(f.fileno())
    fsync_dir(disk.mount)
    assert disk.lose() == {"bytes_dropped": 0, "files_reverted": 0, "files_lost": 0, "entries_reverted": 0}


def test_an_unlinked_open_file_stays_readable_and_leaves_no_hidden_file(disk: DurableDisk) -> None:
    path = disk.mount / "00.log.deleted"
    path.write_bytes(b"old segment")
    with open(path, "rb") as f:
        path.unlink()
        assert f.read() == b"old segment"
        assert os.listdir(disk.mount) == []  # not renamed to .fuse_hidden*: Kafka would trip over it


def test_disk_full_answers_enospc_to_writes_until_cleared_and_counts_what_it_hit(disk: DurableDisk) -> None:
    (disk.mount / "f").write_bytes(b"before")
    disk.fault("full")
    with pytest.raises(OSError) as raised:
        (disk.mount / "g").write_bytes(b"x")
    assert raised.value.errno == errno.ENOSPC
    assert (disk.mount / "f").read_bytes() == b"before"  # reads still work
    assert disk.clear() >= 1
    (disk.mount / "g").write_bytes(b"after")


def test_disk_eio_read_fails_reads_only(disk: DurableDisk) -> None:
    (disk.mount / "f").write_bytes(b"data")
    disk.fault("eio-read")
    with pytest.raises(OSError) as raised:
        (disk.mount / "f").read_bytes()
    assert raised.value.errno == errno.EIO
    (disk.mount / "g").write_bytes(b"writes still work")
    disk.clear()
    assert (disk.mount / "f").read_bytes() == b"data"


def test_disk_slow_delays_every_write(disk: DurableDisk) -> None:
    disk.fault("slow", delay_ms=150)
    started = time.monotonic()
    with open(disk.mount / "f", "wb") as f:
        f.write(b"x")
        f.flush()
        os.fsync(f.fileno())
    assert time.monotonic() - started >= 0.3  # create, write and fsync, each 150 ms later
    assert disk.clear() >= 3


def test_sync_makes_everything_durable_as_after_provisioning(disk: DurableDisk) -> None:
    (disk.mount / "bootstrap.checkpoint").write_bytes(b"written by format, never fsynced")
    disk.sync()
    assert disk.lose()["bytes_dropped"] == 0
    assert (disk.mount / "bootstrap.checkpoint").read_bytes() == b"written by format, never fsynced"

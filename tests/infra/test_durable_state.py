"""The durable filesystem's bookkeeping (infra/durable_fs/state.py): what survives a power loss is exactly what
the last fsync of each file and each directory made durable. Hand-made cases, then random sequences of writes,
truncates, fsyncs, creates, renames and unlinks against a model that keeps full copies."""

from __future__ import annotations

import errno
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.durable_fs.state import PAGE, ROOT, DurableState, FsError, MemoryStore


def fresh(metadata: str = "posix") -> DurableState:
    return DurableState(MemoryStore(), metadata)


def content(fs: DurableState, path: str) -> bytes:
    ino = fs.lookup(path)
    return fs.read(ino, 0, fs.size(ino))


def tree(fs: DurableState) -> dict[str, bytes | None]:
    return {path: None if fs.inodes[ino].is_dir else fs.read(ino, 0, fs.size(ino)) for path, ino in fs.walk()}


def test_an_unsynced_append_is_cut_off_at_power_loss_and_the_fsynced_prefix_stays() -> None:
    fs = fresh()
    f = fs.create("/seg.log", 0o644)
    fs.fsync(ROOT)
    fs.write(f, 0, b"durable")
    fs.fsync(f)
    fs.write(f, 7, b"+lost")
    loss = fs.lose()
    assert content(fs, "/seg.log") == b"durable"
    assert loss.bytes_dropped == 5 and loss.files_reverted == 1 and loss.files_lost == 0


def test_fdatasync_makes_the_contents_durable_but_not_a_new_name() -> None:
    fs = fresh()
    f = fs.create("/new", 0o644)
    fs.write(f, 0, b"x" * 10)
    fs.fsync(f)
    loss = fs.lose()
    with pytest.raises(FsError):
        fs.lookup("/new")
    assert loss.files_lost == 1 and loss.bytes_dropped == 10


def test_an_overwrite_of_durable_bytes_is_restored() -> None:
    fs = fresh()
    f = fs.create("/idx", 0o644)
    fs.write(f, 0, b"a" * (2 * PAGE + 10))
    fs.fsync(f)
    fs.fsync(ROOT)
    fs.write(f, PAGE - 2, b"BBBB")  # across a page boundary
    fs.write(f, PAGE - 2, b"CCCC")  # the second change must not overwrite the saved durable page
    fs.lose()
    assert content(fs, "/idx") == b"a" * (2 * PAGE + 10)


def test_a_truncate_below_the_durable_size_comes_back_at_power_loss() -> None:
    fs = fresh()
    f = fs.create("/f", 0o644)
    fs.fsync(ROOT)
    fs.write(f, 0, bytes(range(256)) * 40)
    fs.fsync(f)
    fs.truncate(f, 100)
    fs.write(f, 100, b"z" * 50)
    fs.lose()
    assert content(fs, "/f") == bytes(range(256)) * 40


def test_a_rename_not_followed_by_a_directory_fsync_is_undone() -> None:
    fs = fresh()
    f = fs.create("/cp.tmp", 0o644)
    fs.write(f, 0, b"new checkpoint")
    fs.fsync(f)
    old = fs.create("/cp", 0o644)
    fs.write(old, 0, b"old checkpoint")
    fs.fsync(old)
    fs.fsync(ROOT)
    fs.rename("/cp.tmp", "/cp")
    assert content(fs, "/cp") == b"new checkpoint"
    fs.lose()
    assert content(fs, "/cp") == b"old checkpoint" and content(fs, "/cp.tmp") == b"new checkpoint"


def test_a_rename_made_durable_by_the_directory_fsync_survives() -> None:
    fs = fresh()
    f = fs.create("/cp.tmp", 0o644)
    fs.write(f, 0, b"new")
    fs.fsync(f)
    fs.rename("/cp.tmp", "/cp")
    fs.fsync(ROOT)
    loss = fs.lose()
    assert tree(fs) == {"/cp": b"new"} and loss.nothing


def test_an_unlinked_durable_file_comes_back_with_its_durable_contents() -> None:
    fs = fresh()
    fs.mkdir("/topic-0", 0o755)
    fs.fsync(ROOT)
    f = fs.create("/topic-0/00.log", 0o644)
    fs.write(f, 0, b"records")
    fs.fsync(f)
    fs.fsync(fs.lookup("/topic-0"))
    fs.write(f, 7, b" and more")
    fs.unlink("/topic-0/00.log")
    fs.lose()
    assert tree(fs) == {"/topic-0": None, "/topic-0/00.log": b"records"}


def test_a_directory_never_made_durable_is_lost_with_everything_in_it() -> None:
    fs = fresh()
    fs.mkdir("/d", 0o755)
    f = fs.create("/d/f", 0o644)
    fs.write(f, 0, b"abc")
    fs.fsync(f)
    fs.fsync(fs.lookup("/d"))  # the child is durable in d, but d itself is not in the root
    loss = fs.lose()
    assert tree(fs) == {} and loss.files_lost == 2


def test_an_open_unlinked_file_stays_readable_until_released() -> None:
    fs = fresh()
    f = fs.create("/f", 0o644)
    fs.opened(f)
    fs.write(f, 0, b"still here")
    fs.unlink("/f")
    assert fs.read(f, 0, 100) == b"still here"
    fs.released(f)
    assert f not in fs.inodes


def test_under_the_journal_model_a_file_fsync_commits_the_names_made_before_it() -> None:
    fs = fresh("journal")
    fs.mkdir("/topic-0", 0o755)
    f = fs.create("/topic-0/00.log", 0o644)
    fs.write(f, 0, b"fsynced")
    fs.fsync(f)
    fs.create("/after", 0o644)  # after the last fsync: still undone
    fs.lose()
    assert tree(fs) == {"/topic-0": None, "/topic-0/00.log": b"fsynced"}


def test_a_loss_with_nothing_unsynced_says_so() -> None:
    fs = fresh()
    assert fs.lose().nothing


def test_posix_errors_for_bad_names() -> None:
    fs = fresh()
    fs.mkdir("/d", 0o755)
    fs.create("/d/f", 0o644)
    for call, code in ((lambda: fs.create("/d/f", 0o644), errno.EEXIST), (lambda: fs.rmdir("/d"), errno.ENOTEMPTY),
                       (lambda: fs.unlink("/d"), errno.EISDIR), (lambda: fs.lookup("/d/f/x"), errno.ENOTDIR),
                       (lambda: fs.rename("/d", "/d/sub"), errno.EINVAL), (lambda: fs.unlink("/nope"), errno.ENOENT)):
        with pytest.raises(FsError) as raised:
            call()
        assert raised.value.errno == code


# ---- random sequences against a model -----------------------------------------------------------------------

NAMES = ("a", "b", "c")
DIRS = ("/", "/d/")


class Model:
    """Full copies: each file's contents now and at its last fsync; each directory's entries now and at its last
    fsync. Files are named by a model id so a rename moves identity, as the real thing does."""

    def __init__(self, journal: bool) -> None:
        self.journal = journal
        self.data: dict[int, bytes] = {}
        self.durable_data: dict[int, bytes] = {}
        self.dirs: dict[str, dict[str, int]] = {"/": {}, "/d/": {}}
        self.durable_dirs: dict[str, dict[str, int]] = {"/": {}, "/d/": {}}
        self.next = 0

    def lose(self) -> None:
        self.dirs = {d: dict(e) for d, e in self.durable_dirs.items()}
        self.data = {i: self.durable_data.get(i, b"") for i in self.data}

    def visible(self, dirs: dict[str, dict[str, int]]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {"/d": None}
        for d in DIRS:
            for name, i in dirs[d].items():
                out[f"{d}{name}"] = self.data[i]
        return out


ops = st.lists(st.one_of(
    st.tuples(st.just("create"), st.sampled_from(DIRS), st.sampled_from(NAMES)),
    st.tuples(st.just("write"), st.sampled_from(DIRS), st.sampled_from(NAMES), st.integers(0, PAGE + 64),
              st.binary(min_size=1, max_size=200)),
    st.tuples(st.just("truncate"), st.sampled_from(DIRS), st.sampled_from(NAMES), st.integers(0, PAGE + 64)),
    st.tuples(st.just("fsync"), st.sampled_from(DIRS), st.sampled_from(NAMES)),
    st.tuples(st.just("fsyncdir"), st.sampled_from(DIRS)),
    st.tuples(st.just("rename"), st.sampled_from(DIRS), st.sampled_from(NAMES), st.sampled_from(DIRS),
              st.sampled_from(NAMES)),
    st.tuples(st.just("unlink"), st.sampled_from(DIRS), st.sampled_from(NAMES)),
    st.tuples(st.just("lose")),
), max_size=40)


def apply(fs: DurableState, model: Model, ids: dict[int, int], op: tuple) -> None:  # type: ignore[type-arg]
    kind = op[0]
    if kind == "lose":
        fs.lose()
        model.lose()
        return
    if kind == "fsyncdir":
        fs.fsync(fs.lookup(op[1]))
        model.durable_dirs[op[1]] = dict(model.dirs[op[1]])
        if model.journal:
            model.durable_dirs = {d: dict(e) for d, e in model.dirs.items()}
        return
    directory, name = op[1], op[2]
    path = directory + name
    existing = model.dirs[directory].get(name)
    if kind == "create":
        if existing is None:
            ino = fs.create(path, 0o644)
            model.next += 1
            ids[model.next] = ino
            model.data[model.next] = b""
            model.dirs[directory][name] = model.next
        return
    if existing is None:
        return
    ino = ids[existing]
    assert fs.lookup(path) == ino
    if kind == "write":
        offset, data = op[3], op[4]
        fs.write(ino, offset, data)
        old = model.data[existing]
        old = old + bytes(max(0, offset - len(old)))
        model.data[existing] = old[:offset] + data + old[offset + len(data):]
    elif kind == "truncate":
        fs.truncate(ino, op[3])
        old = model.data[existing]
        model.data[existing] = old[:op[3]] + bytes(max(0, op[3] - len(old)))
    elif kind == "fsync":
        fs.fsync(ino)
        model.durable_data[existing] = model.data[existing]
        if model.journal:
            model.durable_dirs = {d: dict(e) for d, e in model.dirs.items()}
    elif kind == "unlink":
        fs.unlink(path)
        del model.dirs[directory][name]
    elif kind == "rename":
        fs.rename(path, op[3] + op[4])
        del model.dirs[directory][name]
        model.dirs[op[3]][op[4]] = existing


@settings(max_examples=300, deadline=None)
@given(ops, st.sampled_from(["posix", "journal"]))
def test_random_sequences_leave_exactly_the_durable_state_after_power_loss(sequence: list[tuple],  # type: ignore[type-arg]
                                                                          metadata: str) -> None:
    fs, model, ids = fresh(metadata), Model(metadata == "journal"), {}
    fs.mkdir("/d", 0o755)
    fs.fsync(ROOT)
    for op in sequence:
        apply(fs, model, ids, op)
        assert tree(fs) == model.visible(model.dirs)
    fs.lose()
    model.lose()
    assert tree(fs) == model.visible(model.dirs)
    # Nothing leaks: every stored object is a file a name reaches.
    reachable = {ino for _, ino in fs.walk() if not stat.S_ISDIR(fs.inodes[ino].mode)}
    assert set(fs.store.objects) == reachable  # type: ignore[attr-defined]

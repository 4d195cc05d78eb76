"""Segment corruption over fake nodes: which batch and byte it picks in hand-built v2 record batches, the exact
command that writes the byte (run for real through /bin/sh on a temporary file), and a fault with nothing to
corrupt counting as not injected."""

from __future__ import annotations

import base64
import random
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import topology
from infra.control.base import ExecResult
from infra.control.fake import FakeRemote
from infra.kafka_config import DATA_DIR
from infra.kafka_node import KafkaNode
from nemesis import registry
from nemesis.base import NemesisContext
from nemesis.corruption import (
    BATCH_HEADER,
    CorruptSegment,
    choose_flip,
    closed_segments,
    first_value_byte,
    record_batches,
)


def varint(value: int) -> bytes:
    raw, out = (value << 1) ^ (value >> 63), bytearray()
    while True:
        if raw < 0x80:
            return bytes(out + bytes([raw]))
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7


def record(offset_delta: int, value: bytes, key: bytes | None = None) -> bytes:
    key_part = varint(-1) if key is None else varint(len(key)) + key
    body = b"\x00" + varint(0) + varint(offset_delta) + key_part + varint(len(value)) + value + varint(0)
    return varint(len(body)) + body


def batch(base_offset: int, values: list[bytes], compressed: bool = False) -> bytes:
    records = b"".join(record(i, v) for i, v in enumerate(values))
    attributes = 1 if compressed else 0
    tail = struct.pack(">hiqqqhii", attributes, len(values) - 1, 0, 0, -1, -1, -1, len(values)) + records
    length = 4 + 1 + 4 + len(tail)  # leader epoch, magic, crc, then the rest
    return struct.pack(">qiibI", base_offset, length, 0, 2, 0) + tail


SEGMENT = batch(0, [b"17", b"18"]) + batch(2, [b"1234"]) + batch(3, [b"5", b"6", b"7"])


def test_record_batches_are_found_in_file_order_with_their_offsets():
    found = record_batches(SEGMENT)
    assert [(b.base_offset, b.last_offset) for b in found] == [(0, 1), (2, 2), (3, 5)]
    assert found[0].start == 0 and sum(b.size for b in found) == len(SEGMENT)


def test_a_batch_cut_off_by_the_read_limit_is_not_a_batch():
    assert [b.base_offset for b in record_batches(SEGMENT[:-3])] == [0, 2]
    assert record_batches(b"") == [] and record_batches(b"\x00" * 100) == []


def test_the_flip_lands_on_the_last_byte_of_the_first_value_and_makes_it_a_letter():
    second = record_batches(SEGMENT)[1]
    position = first_value_byte(SEGMENT, second)
    assert position is not None and SEGMENT[position:position + 1] == b"4"
    assert SEGMENT[position - 3:position + 1] == b"1234"
    assert chr(SEGMENT[position] ^ 0x40) == "t"


def test_a_record_with_a_key_is_skipped_over_correctly():
    keyed = struct.pack(">hiqqqhii", 0, 0, 0, 0, -1, -1, -1, 1) + record(0, b"99", key=b"k-1")
    data = struct.pack(">qiibI", 7, 4 + 1 + 4 + len(keyed), 0, 2, 0) + keyed
    (only,) = record_batches(data)
    position = first_value_byte(data, only)
    assert position is not None and data[position - 1:position + 1] == b"99"


def test_a_compressed_batch_gets_a_byte_of_its_records_flipped():
    data = batch(0, [b"1", b"2"], compressed=True)
    (only,) = record_batches(data)
    assert first_value_byte(data, only) is None
    chosen = choose_flip(data, random.Random(3))
    assert chosen is not None
    flipped_batch, position, new = chosen
    assert flipped_batch == only and BATCH_HEADER <= position < only.size and new == data[position] ^ 0x40


@given(st.lists(st.lists(st.integers(0, 10**9), min_size=1, max_size=5), min_size=1, max_size=20),
       st.integers(0, 2**32))
def test_whatever_the_batches_the_flip_changes_one_digit_of_one_value_into_a_letter(values, seed):
    data, offset = b"", 0
    for group in values:
        data += batch(offset, [str(v).encode() for v in group])
        offset += len(group)
    chosen = choose_flip(data, random.Random(seed))
    assert chosen is not None
    picked, position, new = chosen
    assert picked in record_batches(data)
    assert chr(data[position]).isdigit() and chr(new).isalpha()


def test_closed_segments_leave_out_the_active_one_and_the_indexes():
    listing = ("00000000000000000000.index 00000000000000000000.log 00000000000000000412.log "
               "00000000000000000412.index 00000000000000000099.log leader-epoch-checkpoint partition.metadata")
    assert closed_segments(listing) == ["00000000000000000000.log", "00000000000000000099.log"]
    assert closed_segments("00000000000000000000.log") == []


def test_the_byte_write_command_changes_exactly_one_byte(tmp_path: Path):
    target = tmp_path / "segment.log"
    target.write_bytes(SEGMENT)
    position, new = 40, 0x74
    command = f"printf '\\{new:03o}' | dd of={target} bs=1 seek={position} count=1 conv=notrunc status=none"
    subprocess.run(["sh", "-c", command], check=True)
    after = target.read_bytes()
    assert len(after) == len(SEGMENT) and after[position] == new
    assert after[:position] == SEGMENT[:position] and after[position + 1:] == SEGMENT[position + 1:]


def context(listing: str, segment: bytes) -> tuple[NemesisContext, dict[str, FakeRemote]]:
    t = topology.default_topology()

    def respond(command: str) -> ExecResult | None:
        if command.startswith("ls "):
            return ExecResult(0, listing, "")
        if command.startswith("head -c"):
            return ExecResult(0, base64.b64encode(segment).decode(), "")
        return None

    remotes = {n.name: FakeRemote(n.name, respond) for n in t.nodes}
    nodes = {name: KafkaNode(next(n for n in t.nodes if n.name == name), remote) for name, remote in remotes.items()}
    return NemesisContext(t, nodes, {}, random.Random(5), bootstrap_servers="fake:9092", topic="jepsen-queue"), remotes


def test_corruption_writes_the_chosen_byte_into_a_closed_segment_and_records_where(monkeypatch: pytest.MonkeyPatch):
    ctx, remotes = context("00000000000000000000.log 00000000000000000006.log", SEGMENT)
    broker = ctx.topology.brokers[1].name
    nemesis = CorruptSegment("corrupt-p0-leader", lambda _ctx: [(broker, 0)], "test")
    fault = nemesis.start(ctx)
    (done,) = fault.details["corrupted"]
    segment = f"{DATA_DIR}/jepsen-queue-0/00000000000000000000.log"
    assert fault.took_effect and fault.targets == (broker,)
    assert done["segment"] == segment and done["broker"] == broker and done["in_value"]
    old, new = done["byte"]
    assert chr(old).isdigit() and new == old ^ 0x40
    assert tuple(done["offsets"]) in {(b.base_offset, b.last_offset) for b in record_batches(SEGMENT)}
    (write,) = [c for c in remotes[broker].commands if c.startswith("printf")]
    assert f"seek={done['position']} " in write and f"of={segment} " in write and f"\\{new:03o}" in write
    assert nemesis.stop(ctx, fault) == {"permanent": True, "corrupted": [done]}


def test_a_replica_with_only_its_active_segment_is_not_corrupted_and_the_fault_did_nothing():
    ctx, remotes = context("00000000000000000000.log 00000000000000000000.index", SEGMENT)
    broker = ctx.topology.brokers[0].name
    fault = CorruptSegment("corrupt-segment", lambda _ctx: [(broker, 2)], "test").start(ctx)
    assert not fault.took_effect and "no closed segment of partition 2" in fault.details["no_effect"]
    assert not any(c.startswith("printf") for c in remotes[broker].commands)


def test_the_corruption_nemeses_are_registered():
    names = registry.names()
    for name in ("corrupt-segment", "corrupt-p0-follower", "corrupt-p0-followers", "corrupt-p0-leader"):
        assert name in names
    assert isinstance(registry.parse("corrupt-p0-followers")[0], CorruptSegment)


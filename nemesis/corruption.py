"""Corrupted log segments: one replica's copy of a test partition gets a byte flipped inside a record batch of a
closed (rolled) segment, as a bad sector or a misdirected write would leave it. The flip lands in a record's value
when the batch is uncompressed (a digit becomes a letter, so a reader that does not check CRCs delivers a value no
producer sent: `unexpected-value`), else in the compressed records; either way the batch's CRC no longer matches.

`corrupt-segment` hits a random replica of a random test partition, `corrupt-p0-follower` one follower of partition
0, `corrupt-p0-followers` every follower of partition 0 (so whichever of them leads next serves the bad batch),
`corrupt-p0-leader` its leader. A closed segment exists only once the log rolled: scenarios set `log.roll.ms`
(a few seconds); with none to corrupt the fault says so and counts as not injected.

Corruption is permanent, as on a real disk: stop and heal-all leave the bytes as they are (the stop event repeats
where they are). The bytes are read with `head | base64` and written with `dd conv=notrunc`, so the same nemesis
works over SSH, on the harness's own data dir (like destroy-dc's wipe).
"""

from __future__ import annotations

import base64
import shlex
import struct
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any

from infra.admin import Admin
from infra.kafka_config import DATA_DIR
from nemesis import targets
from nemesis.base import Fault, NemesisContext, Requirements
from nemesis.targets import TargetUnavailable

READ_LIMIT = 1 << 20  # bytes of a segment read to find its batches: enough for hundreds of small batches
BATCH_HEADER = 61  # v2 record batch header: base offset (8) + length (4) + ... + record count (4)
MAGIC_V2 = 2
LETTER = 0x40  # ASCII digit XOR 0x40 is a letter: the value stops being a number no producer sent


@dataclass(frozen=True)
class Batch:
    start: int  # byte position of the batch in the segment
    size: int  # 12 + the batch length field: the whole batch
    base_offset: int
    last_offset: int
    compressed: bool


def record_batches(data: bytes) -> list[Batch]:
    """The v2 record batches wholly inside `data` (a segment's first bytes), in file order."""
    batches, pos = [], 0
    while pos + BATCH_HEADER <= len(data):
        base_offset, length = struct.unpack_from(">qi", data, pos)
        size = 12 + length
        if length <= 0 or pos + size > len(data) or data[pos + 16] != MAGIC_V2:
            break
        attributes, last_delta = struct.unpack_from(">hi", data, pos + 21)
        batches.append(Batch(pos, size, base_offset, base_offset + last_delta, bool(attributes & 0x7)))
        pos += size
    return batches


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint at `pos`: (value, position after it)."""
    shift, raw = 0, 0
    while True:
        byte = data[pos]
        raw |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return (raw >> 1) ^ -(raw & 1), pos
        shift += 7


def first_value_byte(data: bytes, batch: Batch) -> int | None:
    """Position of the last byte of the batch's first record's value (uncompressed batches), else None."""
    if batch.compressed or batch.size <= BATCH_HEADER:
        return None
    try:
        pos = batch.start + BATCH_HEADER
        _, pos = _varint(data, pos)  # record length
        pos += 1  # attributes
        _, pos = _varint(data, pos)  # timestamp delta
        _, pos = _varint(data, pos)  # offset delta
        key_length, pos = _varint(data, pos)
        pos += max(key_length, 0)
        value_length, pos = _varint(data, pos)
    except IndexError:
        return None
    end = pos + value_length - 1
    return end if value_length > 0 and end < batch.start + batch.size else None


def choose_flip(data: bytes, rng: Random) -> tuple[Batch, int, int] | None:
    """Which byte to corrupt, and its new value: (batch, position, new byte), or None without a batch."""
    batches = [b for b in record_batches(data) if b.size > BATCH_HEADER]
    if not batches:
        return None
    batch = rng.choice(batches)
    position = first_value_byte(data, batch)
    if position is None:
        position = rng.randrange(batch.start + BATCH_HEADER, batch.start + batch.size)
    return batch, position, data[position] ^ LETTER


def closed_segments(listing: str) -> list[str]:
    """Names of the closed segments in a partition dir listing: every `.log` but the newest (the active one)."""
    logs = sorted((name for name in listing.split() if name.endswith(".log") and name[:-4].isdigit()),
                  key=lambda name: int(name[:-4]))
    return logs[:-1]


Chooser = Callable[[NemesisContext], list[tuple[str, int]]]  # (broker, partition) replicas to corrupt


def _replicas(ctx: NemesisContext) -> list[tuple[int, int, tuple[int, ...]]]:
    if not ctx.bootstrap_servers or not ctx.topic:
        raise TargetUnavailable("no test topic to corrupt")
    partitions = [(p.partition, p.leader, p.replicas) for p in Admin(ctx.bootstrap_servers).partitions(ctx.topic)]
    if not partitions:
        raise TargetUnavailable(f"no partition of {ctx.topic} is known right now")
    return partitions


def _broker(ctx: NemesisContext, node_id: int) -> str:
    return targets.brokers_named(ctx, [node_id])[0]


def any_replica(ctx: NemesisContext) -> list[tuple[str, int]]:
    partition, _, replicas = ctx.rng.choice(_replicas(ctx))
    return [(_broker(ctx, ctx.rng.choice(replicas)), partition)]


def p0_followers(ctx: NemesisContext) -> list[tuple[str, int]]:
    return [(name, 0) for name in targets.followers_of_partition_zero(ctx)]


def p0_follower(ctx: NemesisContext) -> list[tuple[str, int]]:
    return [ctx.rng.choice(p0_followers(ctx))]


def p0_leader(ctx: NemesisContext) -> list[tuple[str, int]]:
    return [(name, 0) for name in targets.leader_of_partition_zero(ctx)]


class CorruptSegment:
    requires = Requirements()

    def __init__(self, name: str, choose: Chooser, about: str) -> None:
        self.name = name
        self.description = (f"flip a byte in a record batch of a closed log segment of {about} (CRC no longer "
                            "matches); permanent, heal leaves it")
        self._choose = choose

    def start(self, ctx: NemesisContext) -> Fault:
        corrupted, skipped = [], []
        for broker, partition in self._choose(ctx):
            done = self._corrupt(ctx, broker, partition)
            (corrupted if "segment" in done else skipped).append(done)
        details: dict[str, Any] = {"corrupted": corrupted}
        if skipped:
            details["skipped"] = skipped
        if not corrupted:
            details["no_effect"] = "; ".join(s["why"] for s in skipped)
        return Fault(self.name, tuple(c["broker"] for c in corrupted) or tuple(s["broker"] for s in skipped),
                     details)

    def _corrupt(self, ctx: NemesisContext, broker: str, partition: int) -> dict[str, Any]:
        remote = ctx.nodes[broker].remote
        directory = f"{DATA_DIR}/{ctx.topic}-{partition}"
        listing = remote.exec(f"ls {shlex.quote(directory)}", check=False, timeout=10)
        closed = closed_segments(listing.stdout) if listing.ok else []
        if not closed:
            return {"broker": broker, "partition": partition,
                    "why": f"{broker} has no closed segment of partition {partition} yet (it rolls at "
                           "log.roll.ms / segment.bytes)"}
        segment = f"{directory}/{ctx.rng.choice(closed)}"
        quoted = shlex.quote(segment)
        head = remote.exec(f"head -c {READ_LIMIT} {quoted} | base64 -w0", timeout=30).stdout
        data = base64.b64decode(head)
        flip = choose_flip(data, ctx.rng)
        if flip is None:
            return {"broker": broker, "partition": partition, "why": f"{segment} on {broker} holds no record batch"}
        batch, position, new = flip
        remote.exec(f"printf '\\{new:03o}' | dd of={quoted} bs=1 seek={position} count=1 conv=notrunc status=none",
                    timeout=30)
        return {"broker": broker, "partition": partition, "segment": segment, "position": position,
                "byte": [data[position], new], "offsets": [batch.base_offset, batch.last_offset],
                "in_value": not batch.compressed}

    def stop(self, ctx: NemesisContext, fault: Fault) -> dict[str, Any]:
        return {"permanent": True, "corrupted": list(fault.details.get("corrupted", ()))}

    def heal_all(self, ctx: NemesisContext) -> None:
        return None  # a flipped byte stays flipped, as on a real disk


NEMESES = {
    "corrupt-segment": lambda: CorruptSegment("corrupt-segment", any_replica,
                                              "a random replica of a random test partition"),
    "corrupt-p0-follower": lambda: CorruptSegment("corrupt-p0-follower", p0_follower,
                                                  "one follower of partition 0"),
    "corrupt-p0-followers": lambda: CorruptSegment("corrupt-p0-followers", p0_followers,
                                                   "every follower of partition 0"),
    "corrupt-p0-leader": lambda: CorruptSegment("corrupt-p0-leader", p0_leader, "the leader of partition 0"),
}

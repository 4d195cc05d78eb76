"""Tool output for the `harness import verifiable` tests: builders of hand-made VerifiableProducer /
VerifiableConsumer lines, the captured real output (tests/fixtures/verifiable/), and mutations of it that a
broken cluster would print. Each mutation returns what it changed, for the test's message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "verifiable"
Lines = list[dict[str, Any]]


# ---- hand-made output ----------------------------------------------------------------------------------------

def startup(ts: int) -> dict[str, Any]:
    return {"timestamp": ts, "name": "startup_complete"}


def acked(ts: int, value: str, partition: int, offset: int, topic: str = "t", key: str | None = None) -> dict:
    return {"timestamp": ts, "name": "producer_send_success", "key": key, "value": value, "offset": offset,
            "topic": topic, "partition": partition}


def failed(ts: int, value: str, exception: str, message: str, topic: str = "t") -> dict[str, Any]:
    return {"timestamp": ts, "name": "producer_send_error", "topic": topic, "key": None, "value": value,
            "exception": f"class org.apache.kafka.common.errors.{exception}", "message": message}


def tool_data(ts: int, sent: int, acked_count: int) -> list[dict[str, Any]]:
    return [{"timestamp": ts, "name": "shutdown_complete"},
            {"timestamp": ts, "name": "tool_data", "sent": sent, "acked": acked_count, "target_throughput": -1,
             "avg_throughput": 1.0}]


def assigned(ts: int, *partitions: int, topic: str = "t") -> dict[str, Any]:
    return {"timestamp": ts, "name": "partitions_assigned",
            "partitions": [{"topic": topic, "partition": p} for p in partitions]}


def poll(ts: int, *records: tuple[int, int, str], topic: str = "t") -> list[dict[str, Any]]:
    """record_data lines (partition, offset, value) and their records_consumed summary."""
    lines: Lines = [{"timestamp": ts, "name": "record_data", "key": None, "value": v, "topic": topic,
                     "partition": p, "offset": o} for p, o, v in records]
    lines.append({"timestamp": ts, "name": "records_consumed", "count": len(records), "partitions": []})
    return refresh_summaries(lines)


def committed(ts: int, partition: int, offset: int, success: bool = True, topic: str = "t") -> dict[str, Any]:
    line = {"timestamp": ts, "name": "offsets_committed",
            "offsets": [{"topic": topic, "partition": partition, "offset": offset}], "success": success}
    if not success:
        line["error"] = "Offset commit failed"
    return line


def write(path: Path, lines: Lines) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def read(path: Path) -> Lines:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ---- the captured output -------------------------------------------------------------------------------------

def captured(directory: Path = FIXTURES) -> dict[str, Lines]:
    return {name: read(directory / f"{name}.jsonl") for name in ("p1", "p2", "c1", "drain")}


def write_all(directory: Path, files: dict[str, Lines], end_offsets: Path) -> dict[str, Any]:
    """The files in `directory`, as keyword arguments of the import (paths)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: write(directory / f"{name}.jsonl", lines) for name, lines in files.items()}
    (directory / "end-offsets.txt").write_bytes(end_offsets.read_bytes())
    return {"producers": [paths["p1"], paths["p2"]], "consumers": [paths["c1"]], "drain": paths["drain"],
            "end_offsets": directory / "end-offsets.txt"}


def refresh_summaries(lines: Lines) -> Lines:
    """Rewrite each records_consumed line to list the record_data lines before it, as the tool would have."""
    pending: Lines = []
    for line in lines:
        if line["name"] == "record_data":
            pending.append(line)
        elif line["name"] == "records_consumed":
            parts: dict[tuple[str, int], list[int]] = {}
            for record in pending:
                parts.setdefault((record["topic"], record["partition"]), []).append(record["offset"])
            line["count"] = len(pending)
            line["partitions"] = [{"topic": t, "partition": p, "count": len(o), "minOffset": o[0], "maxOffset": o[-1]}
                                  for (t, p), o in parts.items()]
            pending = []
    return lines


def _consumers(files: dict[str, Lines]) -> list[Lines]:
    return [files["c1"], files["drain"]]


def _acks(lines: Lines) -> list[dict[str, Any]]:
    """A producer's acknowledgements in the order it took the sends (value order)."""
    return sorted((line for line in lines if line["name"] == "producer_send_success"),
                  key=lambda line: int(line["value"].split(".")[1]))


def drop_acknowledged_record(files: dict[str, Lines]) -> str:
    """An acknowledged record no consumer ever reads: the log lost it below records that were read. It is the
    first record of its partition, so no consumer read across the hole (that would be a skip as well)."""
    acks = _acks(files["p1"]) + _acks(files["p2"])
    value = min(acks, key=lambda line: line["offset"])["value"]
    for consumer in _consumers(files):
        consumer[:] = refresh_summaries([line for line in consumer
                                         if not (line["name"] == "record_data" and line["value"] == value)])
    return value


def duplicate_offset(files: dict[str, Lines]) -> tuple[str, int, int]:
    """Two different values acknowledged at one offset: one of p2's acks moved onto the offset of one of p1's.
    The ack chosen lands between its own neighbours in p2's order, so p2's order still holds."""
    acks = _acks(files["p2"])
    for moved in acks:
        same = [a for a in acks if a["partition"] == moved["partition"]]
        k = same.index(moved)
        low = same[k - 1]["offset"] if k > 0 else -1
        high = same[k + 1]["offset"] if k + 1 < len(same) else float("inf")
        for target in _acks(files["p1"]):
            if target["partition"] == moved["partition"] and low < target["offset"] < high:
                moved["offset"] = target["offset"]
                return moved["topic"], moved["partition"], moved["offset"]
    raise AssertionError("no ack of p2 can take an offset of p1's without breaking p2's order")


def reorder_pair(files: dict[str, Lines]) -> tuple[str, str]:
    """Two sends p1 took one after the other, stored in the opposite order (acks and every read agree)."""
    acks = _acks(files["p1"])
    by_partition: dict[int, dict[str, Any]] = {}
    for line in acks:
        earlier = by_partition.get(line["partition"])
        if earlier is not None:
            break
        by_partition[line["partition"]] = line
    first, second = by_partition[line["partition"]], line
    first["offset"], second["offset"] = second["offset"], first["offset"]
    swap = {first["value"]: second["value"], second["value"]: first["value"]}
    for consumer in _consumers(files):
        for record in consumer:
            if record["name"] == "record_data" and record["value"] in swap:
                record["value"] = swap[record["value"]]
    return first["value"], second["value"]

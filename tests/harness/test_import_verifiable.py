"""`harness import verifiable`: VerifiableProducer / VerifiableConsumer output -> a history `harness check` judges.

Hand-made tool output pins each rule down (docs/recording.md); the real output captured from the image's own
tools under a broker kill (tests/fixtures/verifiable/) must come out VALID, and mutated copies must not."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import checkers
from core.errors import HarnessError
from harness.importers.verifiable import DrainInput, convert, send_type
from harness.importers.verifiable_tools import Send, read_consumer, read_end_offsets, read_producer
from tests.harness import verifiable_output as out

RUN = "import sys; from harness.cli.main import main; main(sys.argv[1:])"


def harness(*args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN, *map(str, args)], capture_output=True, text=True, timeout=180)


def history(tmp_path: Path, producers: Sequence[out.Lines], consumers: Sequence[out.Lines] = (), group: str = "g",
            drain: out.Lines | None = None, end_offsets: str | None = None) -> list[dict[str, Any]]:
    ps = [read_producer(out.write(tmp_path / f"p{i + 1}.jsonl", lines)) for i, lines in enumerate(producers)]
    cs = [read_consumer(out.write(tmp_path / f"c{i + 1}.jsonl", lines)) for i, lines in enumerate(consumers)]
    drain_input = None
    if drain is not None:
        (tmp_path / "end.txt").write_text(end_offsets or "")
        drain_input = DrainInput(read_consumer(out.write(tmp_path / "drain.jsonl", drain)),
                                 read_end_offsets(tmp_path / "end.txt"), str(tmp_path / "end.txt"))
    return list(convert(ps, cs, group, drain=drain_input).events)


def check(events: list[dict[str, Any]]) -> checkers.CheckResult:
    return checkers.check_events(events, "auto")


def found(result: checkers.CheckResult) -> set[str]:
    return {name for name, items in result.anomalies.items() if items}


def ops(events: list[dict[str, Any]], f: str, type_: str | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["f"] == f and (type_ is None or e["type"] == type_)]


# ---- sends ---------------------------------------------------------------------------------------------------

def test_every_send_is_invoked_at_its_producers_startup_in_value_order(tmp_path):
    # Pipelined: 1.1 completed (and was printed) before 1.0. The line before 1.1's outcome is startup, but the
    # line before 1.0's is 1.1's outcome, which 1.0's invoke preceded: only the startup bounds every invoke.
    events = history(tmp_path, [[out.startup(1000), out.acked(1030, "1.1", 0, 0), out.acked(1050, "1.0", 0, 1),
                                 *out.tool_data(1060, 2, 2)]])
    invokes = ops(events, "send", "invoke")
    assert [e["value"]["value"] for e in invokes] == ["1.0", "1.1"]  # the order the producer took them
    assert {e["time"] for e in invokes} == {0}
    done = ops(events, "send", "ok")
    assert [(e["value"]["value"], e["time"]) for e in done] == [("1.1", 30_000_000), ("1.0", 50_000_000)]
    assert [e["index"] for e in events] == list(range(len(events)))
    # ... and the producer's order is still judged: 1.0 taken first, stored after 1.1.
    assert "nonmonotonic-send" in found(check(events))


def test_each_send_is_a_process_of_its_own_and_the_producer_field_names_the_producer(tmp_path):
    events = history(tmp_path, [[out.startup(0), out.acked(5, "7.0", 0, 0), out.acked(6, "7.1", 1, 0),
                                 *out.tool_data(7, 2, 2)]])
    assert [e["process"] for e in ops(events, "send", "invoke")] == ["p1/0", "p1/1"]
    assert {e["value"]["producer"] for e in ops(events, "send")} == {"p1"}


@pytest.mark.parametrize(("exception", "message", "expected"), [
    ("NotEnoughReplicasException", "Messages are rejected since there are fewer in-sync replicas", "fail"),
    ("RecordTooLargeException", "The message is 2000000 bytes", "fail"),
    ("TimeoutException", "Topic t not present in metadata after 60000 ms.", "fail"),
    ("TimeoutException", "Expiring 3 record(s) for t-0:120000 ms has passed since batch creation", "info"),
    ("NotLeaderOrFollowerException", "For requests intended only for the leader", "info"),
    ("NotEnoughReplicasAfterAppendException", "appended, then too few replicas", "info"),
    ("NetworkException", "Disconnected from node 3", "info"),
    ("SomethingNewException", "never heard of it", "info"),
])
def test_an_error_is_info_unless_it_proves_the_record_was_never_written(exception, message, expected):
    send = Send(0, "0", None, "t", 0, 1, exception=exception, message=message)
    assert send_type(send) == expected


def test_a_failed_send_that_is_read_is_an_aborted_read_but_an_info_one_is_not(tmp_path):
    producer = [out.startup(0), out.failed(5, "1.0", "NotEnoughReplicasException", "too few replicas"),
                out.failed(6, "1.1", "NetworkException", "Disconnected from node 3"), *out.tool_data(7, 2, 0)]
    consumer = [out.startup(0), out.assigned(1, 0), *out.poll(9, (0, 0, "1.1"))]
    assert found(check(history(tmp_path, [producer], [consumer]))) == set()
    consumer = [out.startup(0), out.assigned(1, 0), *out.poll(9, (0, 0, "1.0"))]
    assert found(check(history(tmp_path, [producer], [consumer]))) == {"aborted-read"}


def test_a_killed_producers_unreported_sends_are_invoked_without_completion(tmp_path):
    # No tool_data: killed. 1.1 was certainly sent (1.2 was), and the consumer read 1.4, so 1.3 and 1.4 were too.
    producer = [out.startup(0), out.acked(5, "1.0", 0, 0), out.acked(6, "1.2", 0, 1)]
    consumer = [out.startup(0), out.assigned(1, 0), *out.poll(9, (0, 0, "1.0"), (0, 1, "1.2"), (0, 2, "1.4"))]
    events = history(tmp_path, [producer], [consumer])
    assert [e["value"]["value"] for e in ops(events, "send", "invoke")] == ["1.0", "1.1", "1.2", "1.3", "1.4"]
    assert len(ops(events, "send")) == 5 + 2  # three invokes without completion
    assert found(check(events)) == set()


def test_a_clean_producers_tool_data_bounds_its_sends_so_a_later_value_read_is_unexpected(tmp_path):
    producer = [out.startup(0), out.acked(5, "1.0", 0, 0), *out.tool_data(6, 1, 1)]
    consumer = [out.startup(0), out.assigned(1, 0), *out.poll(9, (0, 0, "1.0"), (0, 1, "1.1"))]
    assert found(check(history(tmp_path, [producer], [consumer]))) == {"unexpected-value"}


def test_two_producers_sending_the_same_values_are_refused(tmp_path):
    producer = [out.startup(0), out.acked(5, "0", 0, 0), *out.tool_data(6, 1, 1)]
    with pytest.raises(HarnessError, match="both sent values '<i>'.*--value-prefix"):
        history(tmp_path, [producer, producer])


# ---- consumers -----------------------------------------------------------------------------------------------

def test_a_consumer_is_one_process_whose_ops_begin_at_its_previous_event(tmp_path):
    producer = [out.startup(0), out.acked(5, "1.0", 0, 0), out.acked(6, "1.1", 0, 1), *out.tool_data(7, 2, 2)]
    consumer = [out.startup(2), out.assigned(4, 0), *out.poll(8, (0, 0, "1.0")), out.committed(10, 0, 1),
                *out.poll(12, (0, 1, "1.1")), out.committed(13, 0, 2, success=False)]
    events = [e for e in history(tmp_path, [producer], [consumer]) if e["process"] == "c1"]
    assert [(e["f"], e["type"], e["time"] // 1_000_000) for e in events] == [
        ("subscribe", "invoke", 2), ("subscribe", "ok", 2), ("rebalance", "invoke", 2), ("rebalance", "ok", 4),
        ("poll", "invoke", 4), ("poll", "ok", 8), ("commit", "invoke", 8), ("commit", "ok", 10),
        ("poll", "invoke", 10), ("poll", "ok", 12), ("commit", "invoke", 12), ("commit", "info", 13)]
    assert events[0]["value"] == {"topics": ["t"], "group": "g", "offset_reset": "earliest"}
    assert events[5]["value"] == {"records": [{"topic": "t", "partition": 0, "offset": 0, "value": "1.0"}]}
    assert events[-1]["error"] == "Offset commit failed"


def test_kafka_4s_shutdown_requested_line_is_read_and_adds_no_op(tmp_path):
    producer = [out.startup(0), out.acked(5, "1.0", 0, 0), *out.tool_data(7, 1, 1)]
    consumer = [out.startup(2), out.assigned(4, 0), *out.poll(8, (0, 0, "1.0"))]
    stopping = [{"timestamp": 9, "name": "shutdown_requested"}, {"timestamp": 10, "name": "shutdown_complete"}]
    plain = history(tmp_path, [producer], [consumer + stopping[1:]])
    assert history(tmp_path, [producer], [consumer + stopping]) == plain
    assert read_consumer(out.write(tmp_path / "c.jsonl", consumer + stopping)).shut_down


def test_a_consumer_that_skipped_an_acknowledged_record_is_flagged(tmp_path):
    producer = [out.startup(0), *(out.acked(5, f"1.{i}", 0, i) for i in range(3)), *out.tool_data(7, 3, 3)]
    consumer = [out.startup(0), out.assigned(1, 0), *out.poll(8, (0, 0, "1.0")), *out.poll(9, (0, 2, "1.2"))]
    assert found(check(history(tmp_path, [producer], [consumer]))) == {"poll-skip", "lost-write"}


def test_consumer_output_without_verbose_is_refused_with_one_line_saying_so(tmp_path):
    lines = [out.startup(0), out.assigned(1, 0),
             {"timestamp": 2, "name": "records_consumed", "count": 2,
              "partitions": [{"topic": "t", "partition": 0, "count": 2, "minOffset": 0, "maxOffset": 1}]}]
    with pytest.raises(HarnessError, match=r"c\.jsonl: line 3: records_consumed without record_data.*--verbose"):
        read_consumer(out.write(tmp_path / "c.jsonl", lines))


def test_record_data_that_disagrees_with_its_summary_is_refused(tmp_path):
    lines = [out.startup(0), out.assigned(1, 0), *out.poll(2, (0, 0, "1.0"), (0, 1, "1.1"))]
    lines[-1]["partitions"][0]["count"] = 3
    with pytest.raises(HarnessError, match="line 5: records_consumed says 3 records of t/0"):
        read_consumer(out.write(tmp_path / "c.jsonl", lines))


@pytest.mark.parametrize(("line", "message"), [
    ('{"timestamp": 5, "name": "producer_send_success", "value": "1.0"', "line 2: invalid JSON"),
    ('[1, 2]', "line 2: expected a JSON object"),
    ('{"timestamp": "soon", "name": "tool_data"}', "line 2: field 'timestamp' of tool_data must be an integer"),
    ('{"timestamp": 5, "name": "producer_send_sucess"}', "line 2: unknown event 'producer_send_sucess'"),
    ('{"timestamp": 5, "name": "producer_send_success", "value": "abc", "topic": "t", "partition": 0, '
     '"offset": 0}', "line 2: value 'abc' is not one VerifiableProducer sends"),
    ('{"timestamp": 5, "name": "record_data", "value": "1", "topic": "t", "partition": 0, "offset": 0}',
     "line 2: record_data is VerifiableConsumer output"),
])
def test_malformed_producer_output_names_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "p.jsonl"
    path.write_text('{"timestamp": 1, "name": "startup_complete"}\n' + line + "\n")
    with pytest.raises(HarnessError, match=f"p.jsonl: {message}"):
        read_producer(path)


# ---- drains --------------------------------------------------------------------------------------------------

PRODUCER = [out.startup(0), *(out.acked(5 + i, f"1.{i}", 0, i) for i in range(3)), *out.tool_data(9, 3, 3)]


def test_a_drain_is_written_only_for_a_partition_read_to_its_end_offset(tmp_path):
    drain = [out.startup(20), out.assigned(21, 0, 1), *out.poll(22, (0, 0, "1.0"), (0, 1, "1.1"))]
    events = history(tmp_path, [PRODUCER], drain=drain, end_offsets="t:0:3\nt:1:0\n")
    # t/0 ends at 3 but the drain read only up to 1: no drain there (1.2 is merely unseen). t/1 is empty.
    assert [e["value"] for e in ops(events, "drain", "ok")] == [{"topic": "t", "partition": 1, "high_watermark": 0}]
    assert found(check(events)) == {"unseen"}


def test_with_a_drain_an_acknowledged_record_nobody_read_is_lost(tmp_path):
    drain = [out.startup(20), out.assigned(21, 0), *out.poll(22, (0, 0, "1.0"), (0, 2, "1.2"))]
    events = history(tmp_path, [PRODUCER], drain=drain, end_offsets="t:0:3\n")
    assert [e["value"]["high_watermark"] for e in ops(events, "drain", "ok")] == [3]
    assert "lost-write" in found(check(events))


def test_a_drain_that_began_above_an_offset_others_saw_is_no_drain(tmp_path):
    drain = [out.startup(20), out.assigned(21, 0), *out.poll(22, (0, 1, "1.1"), (0, 2, "1.2"))]
    events = history(tmp_path, [PRODUCER], drain=drain, end_offsets="t:0:3\n")
    assert ops(events, "drain") == []


def test_end_offsets_below_what_the_drain_read_are_refused(tmp_path):
    drain = [out.startup(20), out.assigned(21, 0), *out.poll(22, (0, 0, "1.0"), (0, 1, "1.1"), (0, 2, "1.2"))]
    with pytest.raises(HarnessError, match="end.txt: t/0 ends at 2, but .* read offset 2 there"):
        history(tmp_path, [PRODUCER], drain=drain, end_offsets="t:0:2\n")


def test_a_drain_consumer_started_before_a_producer_ended_is_refused(tmp_path):
    drain = [out.startup(8), out.assigned(21, 0), *out.poll(22, (0, 0, "1.0"))]
    with pytest.raises(HarnessError, match="drain consumer started before .*p1.jsonl's last line"):
        history(tmp_path, [PRODUCER], drain=drain, end_offsets="t:0:3\n")


def test_malformed_end_offsets_name_the_line(tmp_path):
    path = tmp_path / "end.txt"
    path.write_text("t:0:3\nt:zero:3\n")
    with pytest.raises(HarnessError, match="end.txt: line 2: expected topic:partition:offset"):
        read_end_offsets(path)


# ---- real tool output ----------------------------------------------------------------------------------------

def import_files(files: dict[str, Any], output: Path) -> subprocess.CompletedProcess[str]:
    args = ["import", "verifiable", "--group", "verifiable-group", "-o", output,
            "--drain", files["drain"], "--end-offsets", files["end_offsets"]]
    for producer in files["producers"]:
        args += ["--producer", producer]
    for consumer in files["consumers"]:
        args += ["--consumer", consumer]
    return harness(*args)


def test_the_captured_real_output_imports_and_checks_valid(tmp_path):
    files = out.write_all(tmp_path, out.captured(), out.FIXTURES / "end-offsets.txt")
    imported = import_files(files, tmp_path / "history.jsonl")
    assert imported.returncode == 0, imported.stderr
    assert "drained: verifiable/0, verifiable/1, verifiable/2" in imported.stderr
    checked = harness("check", tmp_path / "history.jsonl")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    events = out.read(tmp_path / "history.jsonl")
    # The capture is what it claims: a kill in the middle cost one send an error, and both producers were read.
    assert len(ops(events, "send", "info")) >= 1
    assert {e["value"]["producer"] for e in ops(events, "send", "ok")} == {"p1", "p2"}


# What each mutation must be flagged as, and nothing else: a record the log lost below records that were read
# is also one the group committed past unread; a value acknowledged at another's offset also sits at two places.
MUTATIONS = [
    (out.drop_acknowledged_record, {"lost-write", "commit-past-unconsumed"}),
    (out.duplicate_offset, {"inconsistent-offsets", "duplicate"}),
    (out.reorder_pair, {"nonmonotonic-send"}),
]


@pytest.mark.parametrize(("mutate", "anomalies"), MUTATIONS)
def test_a_mutated_copy_of_the_real_output_is_flagged(tmp_path, mutate, anomalies):
    files = out.captured()
    changed = mutate(files)
    paths = out.write_all(tmp_path, files, out.FIXTURES / "end-offsets.txt")
    assert import_files(paths, tmp_path / "history.jsonl").returncode == 0
    result = checkers.check_file(tmp_path / "history.jsonl", "auto")
    assert result.valid is False, changed
    assert set(result.failures) == anomalies, (changed, result.failures)


# ---- the command ---------------------------------------------------------------------------------------------

def test_the_command_refuses_a_drain_without_end_offsets_in_one_line(tmp_path):
    producer = out.write(tmp_path / "p.jsonl", PRODUCER)
    ran = harness("import", "verifiable", "--producer", producer, "--drain", producer, "-o", tmp_path / "h.jsonl")
    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines() == [
        "harness: error: --drain and --end-offsets go together (a drain is honest only with the end offsets it "
        "read up to)"]


def test_the_command_names_the_file_and_line_of_bad_input_and_exits_2(tmp_path):
    producer = out.write(tmp_path / "p.jsonl", PRODUCER)
    consumer = tmp_path / "c.jsonl"
    consumer.write_text('{"timestamp": 1, "name": "startup_complete"}\nnot json\n')
    ran = harness("import", "verifiable", "--producer", producer, "--consumer", consumer, "-o", tmp_path / "h.jsonl")
    assert ran.returncode == 2
    assert len(ran.stderr.strip().splitlines()) == 1
    assert f"harness: error: {consumer}: line 2: invalid JSON" in ran.stderr
    assert not (tmp_path / "h.jsonl").exists()


def test_a_missing_file_is_one_line(tmp_path):
    ran = harness("import", "verifiable", "--producer", tmp_path / "nope.jsonl", "-o", tmp_path / "h.jsonl")
    assert ran.returncode == 2
    assert ran.stderr.strip() == f"harness: error: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory"


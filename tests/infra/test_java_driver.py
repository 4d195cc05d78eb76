"""The Java driver: its recipe, its Maven build against kafka-clients 3.x and 4.x, and the built jar run
without a broker (its stream read by DriverStream, as a run reads it)."""

import os
import shutil
import signal
import subprocess
import threading
import time

import orjson
import pytest

from infra import image, java_driver
from infra.event_pipe import EventPipe
from infra.recorder import ClientHistory, HistoryRecorder
from workloads.driver_stream import DriverStream
from workloads.java_queue import driver_properties
from workloads.options import ClientOptions

needs_maven = pytest.mark.skipif(shutil.which("mvn") is None or shutil.which("java") is None,
                                 reason="needs mvn and a JDK (apt-get install maven)")


def test_the_recipe_hash_follows_the_version_and_every_source():
    assert java_driver.recipe_hash("3.9.1") != java_driver.recipe_hash("4.1.0")
    assert set(java_driver.sources()) >= {f"{java_driver.PACKAGE_DIR}/Driver.java",
                                          f"{java_driver.PACKAGE_DIR}/ProducerLane.java"}
    assert "<version>4.1.0</version>" in java_driver.render_pom("4.1.0")


def test_the_driver_settings_carry_the_queue_options_under_the_java_client_names():
    options = ClientOptions(acks="all", retries=0, rate=50, concurrency=4, delivery_timeout_ms=8000, pipeline=2)
    text = driver_properties(options, "10.0.0.1:9092,10.0.0.2:9092", "kj-1")
    settings = dict(line.split("=", 1) for line in text.splitlines())
    assert settings["producer.bootstrap.servers"] == "10.0.0.1:9092,10.0.0.2:9092"
    assert settings["producer.enable.idempotence"] == "true"  # Java's boolean spelling
    assert settings["producer.retries"] == "0" and settings["producer.max.block.ms"] == "8000"
    assert settings["consumer.auto.offset.reset"] == "earliest"
    assert (settings["concurrency"], settings["pipeline"], settings["rate"]) == ("4", "2", "50")
    assert settings["delivery.report.timeout.ms"] == "13000" and settings["group.prefix"] == "harness-kj-1-java"


def test_a_version_that_is_no_release_number_is_refused_before_maven_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    with pytest.raises(image.HarnessError, match="--client-version 'latest' is not a release number"):
        java_driver.driver_libs("latest")


@pytest.fixture(scope="module")
def libs_391(tmp_path_factory):
    if shutil.which("mvn") is None or shutil.which("java") is None:
        pytest.skip("needs mvn and a JDK")
    os.environ["HARNESS_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        yield java_driver.driver_libs("3.9.1")
    finally:
        del os.environ["HARNESS_CACHE"]


@needs_maven
def test_maven_builds_the_driver_against_kafka_clients_3_and_4(libs_391, tmp_path, monkeypatch):
    names = {jar.name for jar in java_driver.jars(libs_391)}
    assert {"kafka-jepsen-driver.jar", "kafka-clients-3.9.1.jar"} <= names
    monkeypatch.setenv("HARNESS_CACHE", os.environ["HARNESS_CACHE"])
    libs_4 = java_driver.driver_libs("4.1.0")
    assert "kafka-clients-4.1.0.jar" in {jar.name for jar in java_driver.jars(libs_4)}
    assert java_driver.driver_libs("4.1.0") == libs_4  # cached: the second call builds nothing


def run_driver(libs, properties, tmp_path, stop_after=None, fifo=False):
    """`fifo`: the events through a FIFO read by EventPipe, as a run on a local Docker engine reads them."""
    pipe = None
    if fifo:
        os.mkfifo(tmp_path / "events.fifo", 0o600)
        pipe = EventPipe(str(tmp_path / "events.fifo"))
        properties += f"events.path={tmp_path / 'events.fifo'}\n"
    (tmp_path / "driver.properties").write_text(properties)
    command = ["java", "-cp", f"{libs}/*", java_driver.MAIN_CLASS, str(tmp_path / "driver.properties")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with HistoryRecorder(tmp_path / "history.jsonl") as recorder:
            stream = DriverStream(ClientHistory(recorder, "java/3.9.1"))
            stdout: list[bytes] = []
            chunks = (stdout.append(chunk) or chunk for chunk in iter(lambda: process.stdout.read1(65536), b""))
            pump = threading.Thread(target=stream.feed, args=(pipe.chunks(chunks) if pipe else chunks,),
                                    daemon=True)
            pump.start()
            if stop_after is not None:
                assert stream.ready.wait(60) and stream.fatal is None, "the driver never said it was ready"
                stop_after(stream)
                process.send_signal(signal.SIGTERM)
            pump.join(60)
        process.wait(30)
    finally:  # a failed assertion must not leave a driver running (nor the test run waiting on it)
        if process.poll() is None:
            process.kill()
            process.wait(10)
    if fifo and stream.fatal is None:
        assert b"".join(stdout) == b"", "with events.path set, the events came on stdout"
    events = [orjson.loads(line) for line in (tmp_path / "history.jsonl").read_bytes().splitlines()]
    return stream, events, process.returncode


@needs_maven
def test_the_driver_refuses_settings_its_producer_refuses_in_one_line(libs_391, tmp_path):
    options = ClientOptions(acks="1", idempotence=False)
    text = driver_properties(options, "127.0.0.1:1", "kj-1").replace("enable.idempotence=false",
                                                                       "enable.idempotence=true")
    stream, events, code = run_driver(libs_391, text, tmp_path)
    assert code == 2 and events == []
    assert "acks to all in order to use the idempotent producer" in stream.fatal


@needs_maven
@pytest.mark.parametrize("fifo", [False, True], ids=["stdout", "fifo"])
def test_sends_that_never_reach_a_batch_fail_and_stop_ends_the_stream(libs_391, tmp_path, fifo):
    # No broker at all: every send() waits max.block.ms for metadata and reports a TimeoutException inside
    # send(), before the record joined a batch: a definite fail, one per invoke, on fresh processes.
    options = ClientOptions(rate=40, concurrency=2, consumers=1, delivery_timeout_ms=1500, request_timeout_ms=1000)

    def some_sends_failed(stream):
        for _ in range(100):
            if stream.recorded >= 8:
                return
            stream.ended.wait(0.1)

    stream, events, code = run_driver(libs_391, driver_properties(options, "127.0.0.1:1", "kj-1"), tmp_path,
                                      stop_after=some_sends_failed, fifo=fifo)
    sends = [e for e in events if e["f"] == "send"]
    completions = [e for e in sends if e["type"] != "invoke"]
    assert completions and {(e["type"], e["error"]) for e in completions} == {("fail", "timeout")}
    invoked = {}
    for e in sends:  # each completion follows its own invoke; a process never has two sends outstanding
        if e["type"] == "invoke":
            assert e["process"] not in invoked
            invoked[e["process"]] = e["index"]
        else:
            assert invoked.pop(e["process"]) < e["index"]
    assert [e["type"] for e in events if e["f"] == "assign"][:2] == ["invoke", "ok"]
    assert stream.hello["version"] == "3.9.1" and stream.bye is not None and stream.bad_lines == 0
    assert stream.bye["invoked"] == len([e for e in sends if e["type"] == "invoke"])
    assert code == 128 + signal.SIGTERM


@needs_maven
def test_the_driver_refuses_a_workload_it_does_not_run_in_one_line(libs_391, tmp_path):
    text = driver_properties(ClientOptions(), "127.0.0.1:1", "kj-1").replace("workload=queue", "workload=mirror")
    stream, events, code = run_driver(libs_391, text, tmp_path)
    assert code == 2 and events == []
    assert stream.fatal == "the Java driver runs the queue, txn and group workloads, not mirror"


@needs_maven
def test_txn_workers_that_cannot_initialize_record_nothing_and_stop_on_sigterm(libs_391, tmp_path):
    # No broker: initTransactions never succeeds, so no transaction begins and none may be recorded (an invoke
    # is written only after beginTransaction); the readers' assigns are recorded, and SIGTERM ends the driver.
    from workloads.java_txn import txn_properties
    from workloads.txn import TxnOptions

    options = ClientOptions(concurrency=2, consumers=1, delivery_timeout_ms=1500, request_timeout_ms=1000)
    txn = TxnOptions(commit_timeout=1.0, ready_timeout=1.0)
    text = txn_properties(options, txn, 5.0, "127.0.0.1:1", "kj-1")

    def a_while(stream):
        stream.ended.wait(4)

    stream, events, code = run_driver(libs_391, text, tmp_path, stop_after=a_while)
    assert not [e for e in events if e["f"] == "txn"]
    assert [e["type"] for e in events if e["f"] == "assign"][:2] == ["invoke", "ok"]
    assert stream.bye is not None and stream.bad_lines == 0 and code == 128 + signal.SIGTERM


@needs_maven
@pytest.mark.parametrize("fifo", [False, True], ids=["stdout", "fifo"])
def test_a_completion_reaches_the_stream_without_waiting_for_the_next_invoke(libs_391, tmp_path, fifo):
    # The driver flushes an invoke at once and a completion within a few ms (Events.java). One producer at
    # one send per 4 s with no broker: the send fails after max.block.ms (1.5 s), 2.5 s before the next invoke,
    # and that fail must be in the stream before the next invoke is.
    options = ClientOptions(rate=0.25, concurrency=1, consumers=0, delivery_timeout_ms=1500, request_timeout_ms=1000)
    seen = {}

    def first_send_and_its_fail(stream):
        for count in (1, 2):
            deadline = time.monotonic() + 10
            while stream.recorded < count and time.monotonic() < deadline:
                stream.ended.wait(0.01)
            seen[count] = (time.monotonic(), stream.recorded)

    stream, events, code = run_driver(libs_391, driver_properties(options, "127.0.0.1:1", "kj-1"), tmp_path,
                                      stop_after=first_send_and_its_fail, fifo=fifo)
    assert [(e["type"], e["f"]) for e in events[:2]] == [("invoke", "send"), ("fail", "send")]
    (invoked_at, _), (failed_at, recorded) = seen[1], seen[2]
    assert recorded == 2, "the fail came with the next invoke, not on its own"
    assert failed_at - invoked_at < 2.5, f"the fail took {failed_at - invoked_at:.2f} s to reach the stream"


@needs_maven
def test_settings_the_driver_cannot_read_and_an_events_path_it_cannot_open_are_refused_in_one_line(libs_391,
                                                                                                    tmp_path):
    # Both before any events path is open: the one line why comes on stdout, and the driver exits 2.
    stream, events, code = run_driver(libs_391, "workload=queue\n", tmp_path)
    assert code == 2 and events == [] and stream.fatal.startswith("bad driver settings: ")
    text = driver_properties(ClientOptions(), "127.0.0.1:1", "kj-1") + f"events.path={tmp_path}/no/such/dir/fifo\n"
    stream, events, code = run_driver(libs_391, text, tmp_path)
    assert code == 2 and events == []
    assert stream.fatal.startswith(f"cannot open the events path {tmp_path}/no/such/dir/fifo: ")

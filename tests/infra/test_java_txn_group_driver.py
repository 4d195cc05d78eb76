"""The Java driver's txn and group settings: the workloads' options under the driver's keys, the tables the
driver acts on taken from workloads/outcome.py, and what the driver does not run refused in one line."""

import pytest

from core.errors import HarnessError
from workloads import java_workloads
from workloads.group import GroupOptions
from workloads.java_group import group_properties
from workloads.java_txn import txn_properties
from workloads.options import ClientOptions
from workloads.outcome import JAVA_ABORTABLE_ON_COMMIT, JAVA_COMMIT_DEFINITE
from workloads.txn import TxnOptions


def settings_of(text):
    return dict(line.split("=", 1) for line in text.splitlines())


def test_the_txn_settings_carry_the_transactional_options_and_read_committed():
    txn = TxnOptions(max_sends=3, abort_probability=0.2, transaction_timeout_ms=20_000, commit_timeout=7.5, seed=4)
    s = settings_of(txn_properties(ClientOptions(concurrency=3, consumers=1), txn, 12.5, "b:9092", "kj-1"))
    assert s["workload"] == "txn" and s["topic"] == "jepsen-txn" and s["txn.rate"] == "12.5"
    assert (s["txn.max.sends"], s["txn.abort.probability"], s["txn.seed"]) == ("3", "0.2", "4")
    assert s["producer.transaction.timeout.ms"] == "20000" and s["producer.enable.idempotence"] == "true"
    assert s["producer.acks"] == "all" and s["producer.max.block.ms"] == "7500"
    assert s["txn.commit.timeout.ms"] == "7500" and s["txn.id.prefix"] == "harness-kj-1-txn"
    assert s["consumer.isolation.level"] == "read_committed" and s["consumer.enable.auto.commit"] == "false"
    assert set(s["txn.abortable.on.commit"].split(",")) == set(JAVA_ABORTABLE_ON_COMMIT)
    assert (s["concurrency"], s["consumers"]) == ("3", "1")


def test_the_group_settings_carry_the_group_options_and_the_runs_group():
    group = GroupOptions(session_timeout_ms=7_000, max_poll_interval_ms=9_000, churn_interval=3.0,
                         commit_interval=0.5, crash_probability=0.25, seed=9)
    s = settings_of(group_properties(ClientOptions(rate=40, concurrency=2), group, "harness-kj-1-group", 3,
                                     "b:9092", "kj-1"))
    assert s["workload"] == "group" and s["topic"] == "jepsen-group" and s["consumers"] == "0"
    assert (s["group.id"], s["group.members"]) == ("harness-kj-1-group", "3")
    assert (s["group.churn.interval.ms"], s["group.commit.interval.ms"]) == ("3000", "500")
    assert (s["group.crash.probability"], s["group.seed"]) == ("0.25", "9")
    assert s["member.session.timeout.ms"] == "7000" and s["member.max.poll.interval.ms"] == "9000"
    assert s["member.enable.auto.commit"] == "false" and s["member.auto.offset.reset"] == "earliest"
    assert (s["group.process.ms"], s["group.abandon"]) == ("0", "false")
    assert set(s["group.commit.definite"].split(",")) == set(JAVA_COMMIT_DEFINITE)
    assert s["producer.bootstrap.servers"] == "b:9092" and s["rate"] == "40"


def test_auto_commit_processing_and_abandoned_crashes_reach_the_driver_under_its_keys():
    group = GroupOptions(auto_commit=True, auto_commit_interval_ms=200, process_time=1.5, abandon_on_crash=True)
    s = settings_of(group_properties(ClientOptions(), group, "g", 3, "b:9092", "kj-1"))
    assert (s["member.enable.auto.commit"], s["member.auto.commit.interval.ms"]) == ("true", "200")
    assert (s["group.process.ms"], s["group.abandon"]) == ("1500", "true")
    java_workloads.check("group", group)  # the driver runs all three


@pytest.mark.parametrize("protocol", ["classic", "consumer", "mixed"])
def test_the_group_settings_name_the_protocol_the_driver_gives_each_member_slot(protocol):
    group = GroupOptions(group_protocol=protocol)
    s = settings_of(group_properties(ClientOptions(), group, "g", 3, "b:9092", "kj-1"))
    assert s["group.protocol"] == protocol
    java_workloads.check("group", group)  # every protocol runs through the Java driver


@pytest.mark.parametrize("name", ["queue", "txn", "group"])
def test_the_java_driver_runs_queue_txn_and_group(name):
    java_workloads.check(name, None)


@pytest.mark.parametrize(("name", "options", "fragment"), [
    ("mirror", None, "not 'mirror'"),
    ("group", GroupOptions(process_delay=0.2), "process_delay is librdkafka's only"),
    ("group", GroupOptions(auto_commit=True, process_delay=0.2), "process_delay is librdkafka's only"),
    ("group", GroupOptions(stall=5.0), "--stall-member is librdkafka's only"),
    ("group", GroupOptions(group_protocol="consumer", stall=5.0), "--stall-member is librdkafka's only"),
])
def test_what_the_java_driver_does_not_run_is_refused_in_one_line(name, options, fragment):
    with pytest.raises(HarnessError, match=fragment) as refused:
        java_workloads.check(name, options)
    assert "\n" not in str(refused.value)

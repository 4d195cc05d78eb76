"""Scenario files: the library parses, and every mistake is one line naming the file and the key."""

import pytest

from core import kafka_versions
from core.errors import HarnessError
from harness import scenario
from harness.sweep import scenario_run_options

MINIMAL = """
name = "mine"
summary = "what it shows"
expect = ["lost-write"]

[[timeline]]
at = 5
nemesis = "kill-p0-leader"
hold = 10

[control]
explains = "acks=all would have prevented this"
"""


def load(tmp_path, text):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path, scenario.load(path)


def refused(tmp_path, text):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(HarnessError) as caught:
        scenario.load(path)
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def test_every_library_scenario_parses_and_its_control_differs():
    scenarios = scenario.library()
    assert {s.name for s in scenarios} >= {"acks1-leader-failover", "zombie-leader", "unclean-election",
                                           "min-insync-1-dc-disaster", "no-rack-awareness-dc-disaster",
                                           "no-idempotence-reorder", "clock-jump-retention"}
    for s in scenarios:
        assert s.time_limit <= 90, s.name
        if s.expect:
            assert s.unsafe != s.control, f"{s.name}: the control changes nothing"


def test_a_minimal_scenario_takes_the_defaults(tmp_path):
    _, s = load(tmp_path, MINIMAL)
    assert s.time_limit == 60 and len(s.unsafe.topology.brokers) == 3
    assert s.timeline[0].nemesis == "kill-p0-leader" and s.control.workload == s.unsafe.workload


def test_control_overrides_only_what_it_names(tmp_path):
    _, s = load(tmp_path, MINIMAL.replace("[control]", '[workload]\nacks = "1"\nidempotence = false\n'
                                          'replica_assignment = [[1, 2, 3], [2, 3, 1], [3, 1, 2]]\n[control]')
                + '[control.workload]\nacks = "all"\nidempotence = true\n')
    assert (s.unsafe.workload.acks, s.control.workload.acks) == ("1", "all")
    assert s.control.workload.replica_assignment == ((1, 2, 3), (2, 3, 1), (3, 1, 2))


def test_a_missing_key_is_named(tmp_path):
    assert "missing `expect`" in refused(tmp_path, MINIMAL.replace('expect = ["lost-write"]', ""))


def test_an_unknown_top_level_key_is_named(tmp_path):
    assert "unknown key 'timelime'" in refused(tmp_path, 'timelime = 3\n' + MINIMAL)


def test_an_unknown_workload_key_is_named_with_its_table(tmp_path):
    message = refused(tmp_path, MINIMAL + '[control.workload]\nack = "all"\n')
    assert "[control.workload]" in message and "'ack'" in message


def test_a_timeline_step_without_hold_names_the_step(tmp_path):
    assert "timeline step 1: missing 'hold'" in refused(tmp_path, MINIMAL.replace("hold = 10", ""))


def test_a_control_without_explains_is_refused(tmp_path):
    message = refused(tmp_path, MINIMAL.replace('explains = "acks=all would have prevented this"', "x = 1"))
    assert "[control]" in message


def test_invalid_toml_is_one_line(tmp_path):
    assert "not valid TOML" in refused(tmp_path, MINIMAL + "[[timeline]\n")


def test_a_bad_replica_assignment_is_refused(tmp_path):
    message = refused(tmp_path, MINIMAL.replace("[control]", "[workload]\nreplica_assignment = [[1, 2]]\n[control]"))
    assert "replica_assignment" in message


GROUP = """
name = "mine"
summary = "consumers crash"
expect = ["commit-past-unconsumed"]

[group]
auto_commit = true
process_delay = 2.0

[control]
explains = "commit after processing"

[control.group]
auto_commit = false
"""


def test_a_group_table_runs_the_group_workload_and_its_crashes_are_the_fault(tmp_path):
    _, s = load(tmp_path, GROUP)
    assert s.timeline == () and s.unsafe.workload_name == s.control.workload_name == "group"
    assert (s.unsafe.group.auto_commit, s.control.group.auto_commit) == (True, False)
    assert s.control.group.process_delay == 2.0  # the control changes only what it names
    from harness.sweep import scenario_run_options

    options = scenario_run_options(s, True, tmp_path)
    assert options.workload_name == "group" and options.workload_options == s.control.group


def test_only_a_group_scenario_may_go_without_a_timeline(tmp_path):
    message = refused(tmp_path, MINIMAL.split("[[timeline]]")[0] + '[control]\nexplains = "x"\n')
    assert "missing `timeline`" in message


def test_bad_group_options_are_one_line_naming_the_table(tmp_path):
    assert "[group]: unknown key 'auto_comit'" in refused(tmp_path, GROUP.replace("auto_commit = true",
                                                                                "auto_comit = true"))
    assert "[group]" in refused(tmp_path, GROUP.replace("process_delay = 2.0", "process_delay = -1"))
    assert "[control.group]" in refused(tmp_path, MINIMAL + "[control.group]\nauto_commit = false\n")


def test_a_scenario_runs_on_the_default_release_unless_it_pins_one(tmp_path):
    from core import kafka_versions
    from harness.sweep import scenario_run_options

    _, s = load(tmp_path, MINIMAL)
    assert s.kafka_version is None
    assert scenario_run_options(s, False, tmp_path).kafka_version == kafka_versions.DEFAULT
    _, pinned = load(tmp_path, 'kafka_version = "3.9.0"\n' + MINIMAL)
    assert scenario_run_options(pinned, True, tmp_path).kafka_version == "3.9.0"


def test_every_zookeeper_scenario_of_the_library_pins_a_release_with_zookeeper_mode():
    from core import kafka_versions

    zookeeper = [s for s in scenario.library() if s.unsafe.topology.mode == "zookeeper"]
    assert {s.name for s in zookeeper} >= {"dual-controller-zk", "zombie-leader-zk"}
    assert all(s.kafka_version and kafka_versions.has_zookeeper(s.kafka_version) for s in zookeeper)


def test_a_zookeeper_scenario_without_a_3x_pin_is_refused_with_the_fix(tmp_path):
    zk = MINIMAL + '[topology]\nmode = "zookeeper"\ndc = [{ name = "dc1" }, { name = "dc2" }, { name = "dc3" }]\n'
    if kafka_versions.major(kafka_versions.DEFAULT) >= 4:  # the default release cannot run it without a 3.x pin
        assert "has no ZooKeeper mode" in refused(tmp_path, zk)
    assert "has no ZooKeeper mode" in refused(tmp_path, 'kafka_version = "4.0.0"\n' + zk)
    assert "is not a release number" in refused(tmp_path, 'kafka_version = "three"\n' + zk)


def test_a_txn_table_runs_the_txn_workload_and_the_control_may_change_it(tmp_path):
    from harness.sweep import scenario_run_options
    from workloads.txn import TxnOptions

    _, s = load(tmp_path, MINIMAL.replace("[control]", "[txn]\nabort_probability = 0.3\n[control]")
                + "[control.txn]\nmax_sends = 2\n")
    assert (s.unsafe.workload_name, s.control.workload_name) == ("txn", "txn")
    assert s.unsafe.txn == TxnOptions(abort_probability=0.3)
    assert s.control.txn == TxnOptions(abort_probability=0.3, max_sends=2)
    assert scenario_run_options(s, True, tmp_path).workload_options == s.control.txn


def test_bad_txn_tables_are_one_line(tmp_path):
    bad = MINIMAL.replace("[control]", "[txn]\nabort = 1\n[control]")
    assert "[txn]: unknown key 'abort'" in refused(tmp_path, bad)
    assert "the unsafe variant has no [txn] table" in refused(tmp_path, MINIMAL + "[control.txn]\nmax_sends = 2\n")
    assert "[txn] not both" in refused(
        tmp_path, MINIMAL.replace("[control]", "[txn]\nmax_sends = 2\n[group]\nmembers = 2\n[control]")
    ).replace(",", "").replace(":", "")


def test_a_control_may_run_the_fixed_release(tmp_path):
    from harness.sweep import scenario_run_options

    _, s = load(tmp_path, 'kafka_version = "3.9.1"\n' + MINIMAL + 'kafka_version = "4.3.1"\n')
    assert scenario_run_options(s, False, tmp_path).kafka_version == "3.9.1"
    assert scenario_run_options(s, True, tmp_path).kafka_version == "4.3.1"
    assert "[control]: kafka_version" in refused(tmp_path, MINIMAL + 'kafka_version = "1.0"\n')


def test_kafka_17754_holds_endtxn_on_3_9_and_its_control_runs_4_3_with_the_same_faults_and_clients():
    s = scenario.find("kafka-17754-late-endtxn")
    assert (s.kafka_version, s.control.kafka_version) == ("3.9.1", "4.3.1")
    assert {step.nemesis for step in s.timeline} == {"strand-first-endtxn"}
    assert s.unsafe.workload == s.control.workload and s.unsafe.txn == s.control.txn
    assert (s.unsafe.workload.request_timeout_ms, s.unsafe.workload.delivery_timeout_ms) == (3000, 10000)


def test_a_share_table_runs_the_share_workload_and_the_control_may_change_it(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + '[share]\nlock_duration_ms = 5000\nstall = 7.0\n'
                    '[control.share]\nstall = 0.0\n')
    s = scenario.load(path)
    assert (s.unsafe.workload_name, s.control.workload_name) == ("share", "share")
    assert (s.unsafe.share.lock_duration_ms, s.unsafe.share.stall) == (5000, 7.0)
    assert (s.control.share.lock_duration_ms, s.control.share.stall) == (5000, 0.0)
    assert scenario_run_options(s, False, tmp_path).workload_options == s.unsafe.share


def test_a_share_table_with_a_txn_table_or_an_unknown_key_is_refused_in_one_line(tmp_path):
    assert "one workload: [txn] or [share], not both" in refused(tmp_path, MINIMAL + "[txn]\n[share]\n")
    assert "[share]: unknown key 'lock_ms'" in refused(tmp_path, MINIMAL + "[share]\nlock_ms = 5\n")
    assert "stall must be 0 to 3600" in refused(tmp_path, MINIMAL + "[share]\nstall = -1.0\n")
    assert "[control.share]: the unsafe variant has no [share] table" in refused(
        tmp_path, MINIMAL + "[control.share]\nstall = 1.0\n")


def test_the_share_regression_scenario_runs_4_2_and_its_control_4_3_with_the_same_share_options():
    s = scenario.find("kip932-share-coordinator-loss")
    assert (s.kafka_version, s.control.kafka_version, s.expect) == ("4.2.0", "4.3.1", ())
    assert s.unsafe.share == s.control.share and s.unsafe.share.stall > s.unsafe.share.lock_duration_ms / 1000
    assert [step.nemesis for step in s.timeline] == ["kill-share-coordinator", "kill-leader"]


def test_a_client_bug_pins_the_java_driver_and_its_control_runs_the_fixed_kafka_clients(tmp_path):
    _, s = load(tmp_path, 'client = "java"\nclient_version = "3.9.1"\n' + MINIMAL + 'client_version = "4.3.1"\n')
    unsafe, control = scenario_run_options(s, False, tmp_path), scenario_run_options(s, True, tmp_path)
    assert (unsafe.client, unsafe.client_version) == ("java", "3.9.1")
    assert (control.client, control.client_version) == ("java", "4.3.1")
    assert unsafe.kafka_version == control.kafka_version  # same brokers: only the library differs
    _, same = load(tmp_path, 'client = "java"\nclient_version = "3.9.1"\n' + MINIMAL)
    assert scenario_run_options(same, True, tmp_path).client_version == "3.9.1"  # the control keeps the pin
    _, free = load(tmp_path, MINIMAL)
    assert (scenario_run_options(free, False, tmp_path).client, free.unsafe.client) == ("librdkafka", None)


def test_a_client_pin_that_cannot_run_is_one_line(tmp_path):
    assert "client must be one of librdkafka, java" in refused(tmp_path, 'client = "rust"\n' + MINIMAL)
    assert "client_version is the Java driver's" in refused(tmp_path, 'client_version = "3.9.1"\n' + MINIMAL)
    assert "[control]: client_version is the Java driver's" in refused(tmp_path, MINIMAL + 'client_version = "4.3.1"\n')
    assert "a string" in refused(tmp_path, 'client = "java"\nclient_version = 391\n' + MINIMAL)


def test_kafka_18641_runs_auto_commit_on_the_consumer_protocol_and_differs_only_in_kafka_clients():
    s = scenario.find("kafka-18641-async-auto-commit")
    assert (s.unsafe.client, s.unsafe.client_version, s.control.client_version) == ("java", "3.9.1", "4.1.2")
    assert s.unsafe.group == s.control.group and s.unsafe.workload == s.control.workload
    assert s.unsafe.topology == s.control.topology and s.control.kafka_version is None
    g = s.unsafe.group
    assert (g.group_protocol, g.auto_commit, g.abandon_on_crash, g.crash_probability) == ("consumer", True, True, 1.0)
    assert g.process_time > 2 * g.auto_commit_interval_ms / 1000  # the background commits mid-batch on 3.9


def test_the_async_poll_regression_runs_the_same_group_on_4_3_1_against_the_4_1_2_control():
    s, first = scenario.find("async-poll-auto-commit-regression"), scenario.find("kafka-18641-async-auto-commit")
    assert (s.unsafe.client_version, s.control.client_version) == ("4.3.1", "4.1.2")
    assert s.unsafe.group == first.unsafe.group == s.control.group  # the same application, another release
    assert s.unsafe.topology == first.unsafe.topology and s.kafka_version == first.kafka_version

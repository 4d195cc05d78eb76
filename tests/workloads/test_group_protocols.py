"""The group workload on both group protocols: each member's protocol, what librdkafka says about its membership,
the broker settings a KIP-848 group needs, and a member that stalls past its poll interval."""

from __future__ import annotations

import dataclasses
import logging
import random
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from core.errors import HarnessError
from core.topology import default_topology
from harness.runner import RunOptions, with_workload_broker_config
from tests.workloads.test_group import events, setup
from workloads.group import GroupOptions, GroupWorkload, Member, churn_plan, membership
from workloads.options import ClientOptions


def workload(protocol: str) -> GroupWorkload:
    from infra.recorder import HistoryRecorder

    return GroupWorkload(ClientOptions(), "127.0.0.1:1", HistoryRecorder(Path("/dev/null")), "r",
                         logging.getLogger("test"), GroupOptions(group_protocol=protocol))


def test_the_consumer_protocol_leaves_session_and_heartbeat_to_the_broker() -> None:
    w = workload("consumer")
    consumer = w.consumer_config("consumer")
    assert consumer["group.protocol"] == "consumer"
    assert "session.timeout.ms" not in consumer and "heartbeat.interval.ms" not in consumer
    classic = w.consumer_config("classic")
    assert "group.protocol" not in classic and classic["session.timeout.ms"] == 6_000


def test_librdkafka_accepts_both_configs_and_reports_member_id_and_generation() -> None:
    w = workload("mixed")
    for protocol in ("consumer", "classic"):
        config = {k: v for k, v in w.consumer_config(protocol).items() if k != "logger"}
        consumer = Consumer({**config, "log_level": 0})
        try:
            seen = membership(consumer)
        finally:
            consumer.close()
        assert seen["generation"] == -1, "not joined yet"
        assert isinstance(seen["member_id"], str)


def test_a_client_that_does_not_say_reports_nothing() -> None:
    class Silent:
        def consumer_group_metadata(self) -> object:
            return object()

    assert membership(object()) == {} and membership(Silent()) == {}


def test_mixed_groups_alternate_protocols_by_slot() -> None:
    options = GroupOptions(group_protocol="mixed")
    assert [options.protocol_of(k) for k in range(4)] == ["consumer", "classic", "consumer", "classic"]
    assert GroupOptions(group_protocol="consumer").protocol_of(1) == "consumer"
    with pytest.raises(HarnessError, match="--group-protocol 'kip848' is not one of classic, consumer, mixed"):
        GroupOptions(group_protocol="kip848")


def test_a_kip848_group_sets_the_brokers_session_timeout_unless_the_topology_does() -> None:
    assert GroupOptions().broker_config() == {}
    wanted = GroupOptions(group_protocol="consumer").broker_config()
    assert wanted["group.consumer.session.timeout.ms"] == 6_000 == wanted["group.consumer.min.session.timeout.ms"]
    topology = default_topology()
    own = dataclasses.replace(topology, broker_config=(("group.consumer.session.timeout.ms", 9_000),))
    options = with_workload_broker_config(RunOptions(topology=own, workload_name="group",
                                                     workload_options=GroupOptions(group_protocol="mixed")))
    config = dict(options.topology.broker_config)
    assert config["group.consumer.session.timeout.ms"] == 9_000, "the topology's own setting wins"
    assert config["group.consumer.min.session.timeout.ms"] == 6_000
    classic = RunOptions(topology=topology, workload_name="group", workload_options=GroupOptions())
    assert with_workload_broker_config(classic) is classic


def test_subscribe_says_the_protocol(tmp_path: Path) -> None:
    w, history, made = setup(tmp_path, [], group_protocol="consumer")
    Member(w, "consumer").subscribe()
    assert events(history)[0]["value"]["protocol"] == "consumer"
    assert made[0].config["group.protocol"] == "consumer"


def test_a_stall_is_a_fault_and_ends_with_a_commit_before_the_next_poll(tmp_path: Path) -> None:
    w, history, _ = setup(tmp_path, [("assign", [0]), ("msg", 0, 0, 1)], stall=0.05)
    member = Member(w)
    member.subscribe()
    member.poll(duration=0.05)
    w._stall(member)
    recorded = [(e["process"], e["f"], e["type"]) for e in events(history)]
    assert recorded[-6:] == [
        ("nemesis", "start-stall-member", "invoke"), ("nemesis", "start-stall-member", "info"),
        ("nemesis", "stop-stall-member", "invoke"), ("nemesis", "stop-stall-member", "info"),
        (member.process, "commit", "invoke"), (member.process, "commit", "ok")]
    start = next(e for e in events(history) if e["f"] == "start-stall-member")
    assert start["value"] == {"nemesis": "stall-member", "fault": f"stall-member-{member.process}",
                              "targets": [member.process], "group": w.group, "seconds": 0.05}


def test_stalls_take_their_share_of_churn_turns_and_none_without_a_stall() -> None:
    rng = random.Random(3)
    many = [churn_plan(rng, 3, 0.5, 0.5) for _ in range(400)]
    assert 150 < sum(a == "stall" for _, a in many) < 250
    assert not any(a == "stall" for _, a in (churn_plan(rng, 3, 0.5) for _ in range(100)))


# ---- histories the workload itself records, in the order a correct coordinator allows, and mutated --------------


def two_owners(tmp_path: Path, order: str) -> list[dict[str, object]]:
    """Member A owns partition 0, then B: "handover" (A revokes, then B is assigned), "late-revoke" (B is
    assigned first: a second live owner), "lost" (B is assigned, then A learns it lost it), "zombie-commit" (B is
    assigned, A commits what it processed and the fake coordinator accepts it, then A learns of its loss)."""
    from tests.workloads.fakes import FakeGroupConsumer

    w, history, _ = setup(tmp_path, [])
    scripts = {"a": [("assign", [0]), ("msg", 0, 0, 0), ("msg", 0, 1, 1)],
               "b": [("assign", [0]), ("msg", 0, 2, 2)]}
    made: dict[str, FakeGroupConsumer] = {}

    def member(name: str) -> Member:
        w.consumer_factory = lambda config: made.setdefault(name, FakeGroupConsumer(config, scripts[name], []))
        return Member(w, "consumer")

    a = member("a")
    a.subscribe()
    a.poll(duration=0.05)
    b = member("b")
    b.subscribe()
    if order == "handover":
        made["a"].script.append(("revoke", [0]))
        a.poll(duration=0.05)
    b.poll(duration=0.05)
    if order == "zombie-commit":
        a.commit()
    if order != "handover":
        made["a"].script.append(("revoke" if order == "late-revoke" else "lost", [0]))
        a.poll(duration=0.05)
    return events(history)


@pytest.mark.parametrize("order, found", [("handover", set()), ("lost", set()),
                                          ("late-revoke", {"shared-partition", "zombie-commit"}),  # commits on revoke
                                          ("zombie-commit", {"zombie-commit"})])
def test_the_checker_judges_the_workloads_own_histories(tmp_path: Path, order: str, found: set[str]) -> None:
    import checkers

    result = checkers.check_events(two_owners(tmp_path, order), "group")
    assert {n for n, a in result.anomalies.items() if a} & {"shared-partition", "zombie-commit"} == found

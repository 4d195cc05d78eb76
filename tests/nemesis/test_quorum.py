"""The KIP-853 quorum nemeses against fake nodes: which voter each one changes, with which tool call, and how heal
undoes it. A fake `kafka-metadata-quorum` keeps the voter set, so the tests see the same state changes the real
tool makes."""

import json
import random

import pytest

from core import topology
from core.errors import HarnessError
from infra.control.base import ExecResult
from infra.control.fake import FakeRemote
from infra.kafka_node import KafkaNode
from nemesis import registry
from nemesis.base import NemesisContext
from nemesis.quorum import NEMESES, TargetUnavailable, parse_status, restore_initial_voters

STATUS = """ClusterId:              JrIZkKWFSCewMPYASfR7lw
LeaderId:               104
LeaderEpoch:            3
HighWatermark:          44
CurrentVoters:          [{"id": 101, "directoryId": "d101", "endpoints": ["CONTROLLER://172.30.182.11:9093"]}, \
{"id": 103, "directoryId": "d103", "endpoints": ["CONTROLLER://172.30.182.14:9093"]}]
CurrentObservers:       [{"id": 2, "directoryId": "vriNSGCt3SBFSxIQ9-cLYg"}]
"""


class FakeQuorum:
    """What the tool answers: `describe --status` from the voter set, and add/remove changing it."""

    def __init__(self, voters, leader):
        self.voters = dict(voters)  # id -> directory id
        self.leader = leader
        self.calls: list[tuple[str, str]] = []

    def remote(self, name, node_id):
        def respond(command):
            if "MetadataQuorumCommand" not in command:
                return None
            if "describe --status" in command:
                voters = [{"id": i, "directoryId": d} for i, d in sorted(self.voters.items())]
                return ExecResult(0, f"LeaderId: {self.leader}\nLeaderEpoch: 5\nCurrentVoters: {json.dumps(voters)}\n",
                                  "")
            if "add-controller" in command:
                self.calls.append(("add", name))
                self.voters[node_id] = f"d{node_id}"
                return ExecResult(0, f"Added controller {node_id}", "")
            if "remove-controller" in command:
                removed = int(command.split("--controller-id ")[1].split()[0])
                self.calls.append(("remove", str(removed)))
                self.voters.pop(removed)
                if removed == self.leader:
                    self.leader = min(self.voters)
                return ExecResult(0, f"Removed KRaft controller {removed}", "")
            return None
        return FakeRemote(name, respond)


def context(quorum, seed=1):
    t = topology.resolve("dynamic-quorum")
    nodes = {n.name: KafkaNode(n, quorum.remote(n.name, n.node_id)) for n in t.nodes}
    addresses = {n.name: f"172.30.9.{10 + i}" for i, n in enumerate(t.nodes)}
    return NemesisContext(t, nodes, addresses, random.Random(seed)), t


def initial():
    return FakeQuorum({101: "d101", 103: "d103", 104: "d104"}, leader=104)


def test_parse_status_reads_leader_epoch_and_each_voters_directory_id():
    status = parse_status(STATUS)
    assert (status.leader, status.epoch, status.voter_ids()) == (104, 3, [101, 103])
    assert status.voters[1].directory_id == "d103"


def test_an_unreadable_status_is_a_target_error_not_a_traceback():
    with pytest.raises(TargetUnavailable, match="no readable status"):
        parse_status("Error: the controller is not ready\n")


def test_remove_active_controller_removes_the_leader_with_its_directory_id_and_heal_adds_it_back():
    quorum = initial()
    ctx, _ = context(quorum)
    nemesis = NEMESES["remove-active-controller"]()
    fault = nemesis.start(ctx)
    assert fault.targets == ("dc3-controller1",)
    assert fault.details["controller_id"] == 104 and fault.details["directory_id"] == "d104"
    assert fault.details["voters_before"] == [101, 103, 104]
    assert sorted(quorum.voters) == [101, 103]
    done = nemesis.stop(ctx, fault)
    assert quorum.calls == [("remove", "104"), ("add", "dc3-controller1")]
    assert done == {"voters_after": [101, 103, 104]}


def test_remove_controller_never_picks_the_leader():
    for seed in range(20):
        quorum = initial()
        ctx, _ = context(quorum, seed)
        fault = NEMESES["remove-controller"]().start(ctx)
        assert fault.details["controller_id"] in (101, 103)
        assert 104 in quorum.voters


def test_the_last_voter_is_never_removed():
    quorum = FakeQuorum({101: "d101"}, leader=101)
    ctx, _ = context(quorum)
    with pytest.raises(TargetUnavailable, match="leave none"):
        NEMESES["remove-active-controller"]().start(ctx)
    assert quorum.calls == []


def test_add_controller_promotes_the_spare_and_heal_removes_it_by_its_directory_id():
    quorum = initial()
    ctx, _ = context(quorum)
    nemesis = NEMESES["add-controller"]()
    fault = nemesis.start(ctx)
    assert fault.targets == ("dc1-controller2",)
    assert fault.details["voters_after"] == [101, 102, 103, 104]
    add_command = next(c for c in ctx.nodes["dc1-controller2"].remote.commands if "add-controller" in c)
    assert "--command-config /opt/harness/server.properties add-controller" in add_command
    assert "--bootstrap-controller 172.30.9.10:9093,172.30.9.11:9093,172.30.9.13:9093,172.30.9.15:9093" in add_command
    nemesis.stop(ctx, fault)
    assert sorted(quorum.voters) == [101, 103, 104]


def test_add_controller_with_every_spare_already_voting_injects_nothing_and_says_so():
    quorum = FakeQuorum({101: "d101", 102: "d102", 103: "d103", 104: "d104"}, leader=104)
    ctx, _ = context(quorum)
    with pytest.raises(TargetUnavailable, match="already votes"):
        NEMESES["add-controller"]().start(ctx)


def test_heal_all_restores_the_initial_voters_adding_before_removing():
    quorum = FakeQuorum({101: "d101", 102: "d102"}, leader=101)  # 103 and 104 removed, the spare added
    ctx, _ = context(quorum)
    restore_initial_voters(ctx)
    assert sorted(quorum.voters) == [101, 103, 104]
    assert quorum.calls == [("add", "dc2-controller1"), ("add", "dc3-controller1"), ("remove", "102")]


def test_an_add_the_leader_keeps_refusing_fails_after_its_retry_window():
    from nemesis.quorum import add_controller

    def refuse(command):
        return ExecResult(1, "", "org.apache.kafka.common.errors.TimeoutException") if "add-controller" in command \
            else None

    t = topology.resolve("dynamic-quorum")
    nodes = {n.name: KafkaNode(n, FakeRemote(n.name, refuse)) for n in t.nodes}
    ctx = NemesisContext(t, nodes, {n.name: "10.0.0.1" for n in t.nodes}, random.Random(1))
    with pytest.raises(RuntimeError, match="kept failing for 0 s: .*TimeoutException"):
        add_controller(ctx, "main", t.node("dc1-controller2"), retry_s=0)


@pytest.mark.parametrize("name", ["remove-controller", "remove-active-controller", "add-controller"])
def test_a_static_quorum_is_refused_before_the_run_starts(name):
    with pytest.raises(HarnessError, match="needs a dynamic KRaft quorum"):
        registry.refuse_unmet(registry.parse(name), topology.default_topology())
    with pytest.raises(HarnessError) as refused:
        registry.refuse_unmet(registry.parse(name), topology.default_topology())
    assert "--topology dynamic-quorum" in str(refused.value.hint) and "larger topology" not in str(refused.value.hint)


def test_add_controller_without_a_spare_is_refused_before_the_run_starts():
    no_spare = topology.from_dict({"kraft_voters": "dynamic", "dc": [{"name": "dc1"}, {"name": "dc2"},
                                                                     {"name": "dc3"}]})
    with pytest.raises(HarnessError, match="needs at least 1 spare controller"):
        registry.refuse_unmet(registry.parse("add-controller"), no_spare)
    registry.refuse_unmet(registry.parse("remove-controller"), no_spare)  # nothing missing for a removal

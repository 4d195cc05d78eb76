"""Per-node views: the MetadataRequest on the wire, the response parsed back, JmxTool lines, what is watched."""

import struct

from core import topology
from infra.broker_views import (
    ACTIVE_CONTROLLER,
    RAFT,
    jmx_objects,
    metadata_request,
    parse_jmx_line,
    parse_metadata_response,
    watch_command,
)


def s(text):
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def ints(values):
    return struct.pack(">i", len(values)) + b"".join(struct.pack(">i", v) for v in values)


def response(controller, partitions, topic="jepsen-queue"):
    body = struct.pack(">i", 0)  # throttle
    body += struct.pack(">i", 2) + b"".join(struct.pack(">i", b) + s(f"10.0.0.{b}") + struct.pack(">i", 9092) +
                                            s("dc1") for b in (1, 2))
    body += s("cluster") + struct.pack(">i", controller)
    body += struct.pack(">i", 1) + struct.pack(">h", 0) + s(topic) + b"\x00" + struct.pack(">i", len(partitions))
    for index, leader, epoch, isr in partitions:
        body += struct.pack(">hiii", 0, index, leader, epoch) + ints([1, 2]) + ints(isr) + ints([])
    return body


def test_metadata_request_is_a_size_prefixed_v7_request_for_one_topic_without_auto_creation():
    request = metadata_request("jepsen-queue", 7)
    (size,) = struct.unpack(">i", request[:4])
    assert size == len(request) - 4
    assert struct.unpack(">hhi", request[4:12]) == (3, 7, 7)
    assert request.endswith(s("jepsen-queue") + b"\x00")


def test_metadata_response_gives_the_brokers_own_controller_leaders_epochs_and_isr():
    view = parse_metadata_response(response(2, [(1, 2, 5, [2]), (0, 1, 4, [1, 2])]), "jepsen-queue")
    assert view == {"brokers": [1, 2], "controller": 2, "partitions": [
        {"partition": 0, "leader": 1, "epoch": 4, "isr": [1, 2], "replicas": [1, 2]},
        {"partition": 1, "leader": 2, "epoch": 5, "isr": [2], "replicas": [1, 2]}]}


def test_jmx_header_names_hold_commas_and_map_to_short_keys():
    header, values = parse_jmx_line(None, f'"time","{ACTIVE_CONTROLLER}:Value","{RAFT}:current-state"')
    assert header == ["time", "active_controller_count", "raft_state"] and values is None
    _, values = parse_jmx_line(header, "1795428101573,1.0,leader")
    assert values == {"active_controller_count": 1, "raft_state": "leader"}
    assert parse_jmx_line(header, "garbage") == (header, None)


def test_watched_objects_follow_the_mode_and_only_their_attributes_are_waited_for():
    zk = topology.uniform(3, 1, 3, mode="zookeeper")
    kraft = topology.default_topology()
    assert jmx_objects(zk, zk.brokers[0]) == (ACTIVE_CONTROLLER,)
    assert jmx_objects(zk, zk.zookeepers[0]) == ()
    assert jmx_objects(kraft, kraft.controllers[0]) == (RAFT,)
    assert jmx_objects(kraft, kraft.brokers[0]) == (RAFT,)
    command = watch_command((ACTIVE_CONTROLLER,), 9999, "/opt/harness/w.pid")
    assert "--attributes Value " in command and "rmi://127.0.0.1:9999/jmxrmi" in command
    assert command.startswith("echo $$ >/opt/harness/w.pid; while [ -f /opt/harness/w.pid ]")


def test_voter_counts_add_number_of_voters_to_the_raft_watch_only():
    raft = watch_command((RAFT,), 9999, "/opt/harness/w.pid", voter_counts=True)
    assert "--attributes current-leader,current-epoch,current-state,number-of-voters " in raft
    assert "number-of-voters" not in watch_command((RAFT,), 9999, "/opt/harness/w.pid")
    assert "number-of-voters" not in watch_command((ACTIVE_CONTROLLER,), 9999, "/w.pid", voter_counts=True)
    header, _ = parse_jmx_line(None, f'"time","{RAFT}:number-of-voters"')
    assert parse_jmx_line(header, "1700000000000,4.0")[1] == {"raft_voters": 4}


def test_the_voter_count_is_watched_only_where_the_jvm_answers_with_a_value():
    from infra.broker_views import reports_voter_count
    from infra.control.base import ExecResult
    from infra.control.fake import FakeRemote

    answers = FakeRemote("c1", lambda c: ExecResult(0, f'"time","{RAFT}:number-of-voters"\n1796252928221,3\n', ""))
    assert reports_voter_count(answers, 9999)
    assert "--attributes number-of-voters --one-time true" in answers.commands[0]
    silent = FakeRemote("c1", lambda c: ExecResult(0, "Trying to connect to JMX url: service:jmx:...\n", ""))
    assert not reports_voter_count(silent, 9999)  # 3.9: no such attribute, JmxTool prints no line
    assert not reports_voter_count(FakeRemote("c1", lambda c: ExecResult(1, "", "refused")), 9999)

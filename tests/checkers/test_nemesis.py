"""Each anomaly names the nemesis faults active while its evidence happened."""

from __future__ import annotations

from tests.checkers.conftest import check, only
from tests.checkers.notation import History


def lost_write_with_fault(start_before: bool) -> History:
    h = History()
    if start_before:
        h.start("partition-dc", fault=3, grudge={"n1": ["n2"]})  # 0, 1
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    if start_before:
        h.stop("partition-dc", fault=3)
    h.assign(1, 0)
    h.poll(1, (0, 1, 2))
    if not start_before:
        h.start("kill")
        h.stop("kill")
    return h


def test_anomaly_lists_the_fault_active_during_its_evidence():
    lost = only(check(lost_write_with_fault(start_before=True)), "lost-write")
    assert len(lost.nemesis) == 1
    fault = lost.nemesis[0]
    assert (fault.nemesis, fault.fault, fault.start, fault.stop) == ("partition-dc", 3, 0, 7)
    assert fault.value["grudge"] == {"n1": ["n2"]}
    assert lost.to_json()["nemesis"][0]["nemesis"] == "partition-dc"


def test_fault_after_the_evidence_is_not_listed():
    lost = only(check(lost_write_with_fault(start_before=False)), "lost-write")
    assert lost.nemesis == ()


def test_faults_without_ids_pair_by_name_and_heal_all_ends_everything():
    h = History()
    h.start("kill")  # 0, 1
    h.start("partition-dc")  # 2, 3
    h.stop("kill")  # 4, 5
    h.op("nemesis", "heal-all", {"nemeses": ["kill", "partition-dc"]}, "info")  # 6, 7
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 1, 2))
    assert only(check(h), "lost-write").nemesis == ()
    h2 = History()
    h2.start("kill")
    h2.start("partition-dc")
    h2.stop("kill")
    h2.send(0, 1, at=(0, 0))  # 6, 7: partition-dc still active
    h2.send(0, 2, at=(0, 1))
    h2.assign(1, 0)
    h2.poll(1, (0, 1, 2))
    active = only(check(h2), "lost-write").nemesis
    assert [(f.nemesis, f.stop) for f in active] == [("partition-dc", None)]


def test_a_start_that_failed_to_apply_ends_at_once():
    h = History()
    h.invoke("nemesis", "start-kill", {"nemesis": "kill", "fault": 0})
    h.event("nemesis", "info", "start-kill", {"nemesis": "kill", "fault": 0}, error="no such node")
    h.send(0, 1, at=(0, 0))
    h.send(0, 2, at=(0, 1))
    h.assign(1, 0)
    h.poll(1, (0, 1, 2))
    assert only(check(h), "lost-write").nemesis == ()

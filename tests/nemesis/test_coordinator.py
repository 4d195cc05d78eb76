"""Faults on the group coordinator: the broker Kafka names as the coordinator of the run's consumer group."""

from __future__ import annotations

import dataclasses

import pytest

from nemesis import targets
from nemesis.process import NEMESES
from tests.nemesis.test_partition_and_kill import context


class FakeAdmin:
    coordinators: dict[str, int] = {}

    def __init__(self, bootstrap_servers: str) -> None:
        pass

    def group_coordinators(self) -> dict[str, int]:
        return self.coordinators


def test_pause_coordinator_stops_the_broker_kafka_names_and_heal_resumes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, remotes, _ = context()
    ctx = dataclasses.replace(ctx, bootstrap_servers="fake:9092")
    monkeypatch.setattr(targets, "Admin", FakeAdmin)
    FakeAdmin.coordinators = {"harness-r-group": 2, "harness-a-other": 3}
    nemesis = NEMESES["pause-coordinator"]()
    fault = nemesis.start(ctx)
    coordinator = next(b.name for b in ctx.topology.brokers if b.node_id == 3)  # the first group by id
    assert fault.targets == (coordinator,)
    assert remotes[coordinator].commands == ["/opt/harness/kafka-node pause"]
    assert all(not remotes[n].commands for n in remotes if n != coordinator)
    nemesis.stop(ctx, fault)
    assert remotes[coordinator].commands[-1] == "/opt/harness/kafka-node resume"


def test_without_a_group_there_is_no_coordinator_to_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, _, _ = context()
    ctx = dataclasses.replace(ctx, bootstrap_servers="fake:9092")
    monkeypatch.setattr(targets, "Admin", FakeAdmin)
    FakeAdmin.coordinators = {}
    with pytest.raises(targets.TargetUnavailable, match="no consumer group of this run exists yet"):
        NEMESES["kill-coordinator"]().start(ctx)

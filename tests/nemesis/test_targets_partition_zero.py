"""Targets named after partition 0's replicas: the DC that holds most of them, asked of Kafka at fault time."""

from __future__ import annotations

import random

import pytest

from core import topology
from infra.admin import PartitionState
from nemesis import targets
from nemesis.base import NemesisContext


class FakeAdmin:
    leader = 1
    replicas: tuple[int, ...] = ()

    def __init__(self, bootstrap_servers: str) -> None:
        pass

    def partitions(self, topic: str) -> list[PartitionState]:
        return [PartitionState(topic, 0, self.leader, self.replicas, self.replicas)]


def context(preset: str) -> NemesisContext:
    t = topology.resolve(preset)
    return NemesisContext(t, {}, {}, random.Random(1), bootstrap_servers="fake:9092", topic="jepsen-queue")


def ids(ctx: NemesisContext, dc: str) -> list[int]:
    return [b.node_id for b in ctx.topology.brokers if b.dc == dc]


def test_the_dc_holding_two_of_three_replicas_loses_power_with_its_controllers(monkeypatch: pytest.MonkeyPatch):
    ctx = context("stretch-2dc")
    monkeypatch.setattr(targets, "Admin", FakeAdmin)
    dc1, dc2 = ids(ctx, "dc1"), ids(ctx, "dc2")
    FakeAdmin.leader, FakeAdmin.replicas = dc1[0], (dc1[0], dc2[0], dc2[1])  # the leader is in the minority DC
    assert targets.dc_holding_most_of_partition_zero(ctx) == [n.name for n in ctx.topology.in_dc("dc2")]
    FakeAdmin.replicas = (dc1[0], dc1[1], dc2[0])
    chosen = targets.dc_holding_most_of_partition_zero(ctx)
    assert chosen == [n.name for n in ctx.topology.in_dc("dc1")]
    assert sum(1 for n in ctx.topology.nodes if n.name in chosen and n.role == "controller") == 2


def test_with_one_replica_per_dc_the_leaders_dc_is_chosen(monkeypatch: pytest.MonkeyPatch):
    ctx = context("stretch-3dc")
    monkeypatch.setattr(targets, "Admin", FakeAdmin)
    FakeAdmin.leader = ids(ctx, "dc3")[0]
    FakeAdmin.replicas = (ids(ctx, "dc1")[0], ids(ctx, "dc2")[0], ids(ctx, "dc3")[0])
    assert targets.dc_holding_most_of_partition_zero(ctx) == [n.name for n in ctx.topology.in_dc("dc3")]

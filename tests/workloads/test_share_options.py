"""The share workload's settings: what the group gets on its GROUP resource, what the brokers and controllers
need to accept it, and the mistakes refused before a cluster starts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.errors import HarnessError
from core.topology import default_topology
from harness.runner import RunOptions, _validate, with_workload_broker_config
from workloads.share import ShareOptions


def test_the_group_owes_every_record_and_carries_its_lock_and_limit() -> None:
    assert ShareOptions(lock_duration_ms=5_000, delivery_count_limit=3).group_config() == {
        "share.auto.offset.reset": "earliest", "share.record.lock.duration.ms": "5000",
        "share.delivery.count.limit": "3"}


def test_a_short_lock_widens_the_bounds_on_brokers_and_controllers_alike() -> None:
    # 4.3.1 refused a 10 s lock with INVALID_CONFIG while only the brokers had the lowered bound: the
    # controllers validate a GROUP resource's configs with their own group.share.min.record.lock.duration.ms.
    options = with_workload_broker_config(RunOptions(topology=default_topology(), workload_name="share",
                                                     workload_options=ShareOptions(lock_duration_ms=5_000)))
    for config in (dict(options.topology.broker_config), dict(options.topology.controller_config)):
        assert config["group.share.min.record.lock.duration.ms"] == 5_000
        assert config["group.share.max.record.lock.duration.ms"] == 60_000
    default = ShareOptions().broker_config()
    assert default["group.share.min.record.lock.duration.ms"] == 10_000


def test_implicit_mode_only_accepts() -> None:
    assert ShareOptions(ack_mode="implicit").answers() == (["accept"], [1.0])
    kinds, weights = ShareOptions(accept=1, release=2, reject=3).answers()
    assert dict(zip(kinds, weights, strict=True)) == {"accept": 1, "release": 2, "reject": 3}


@pytest.mark.parametrize("bad, message", [
    ({"ack_mode": "auto"}, "--share-ack-mode 'auto' is not one of explicit, implicit"),
    ({"delivery_count_limit": 11}, "outside Kafka's 2 to 10"),
    ({"delivery_count_limit": 1}, "outside Kafka's 2 to 10"),
    ({"lock_duration_ms": 500}, "outside 1 s to 1 h"),
    ({"accept": 0, "release": 0, "reject": 0}, "not all 0"),
    ({"members": 0}, "at least one member"),
])
def test_mistakes_are_refused_with_one_line(bad: dict[str, object], message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        ShareOptions(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("config, message", [
    ({"broker_config": {"group.share.min.record.lock.duration.ms": 15_000}},
     "--share-lock-duration 5000 is outside the topology's broker_config bounds"),
    ({"controller_config": {"group.share.max.delivery.count.limit": 3}},
     "--share-delivery-limit 5 is outside the topology's controller_config bounds"),
])
def test_a_topology_whose_own_share_bounds_exclude_the_options_is_refused_before_the_cluster(
        config: dict[str, dict[str, object]], message: str) -> None:
    topology = replace(default_topology(), **{k: tuple(v.items()) for k, v in config.items()})
    options = RunOptions(topology=topology, workload_name="share",
                         workload_options=ShareOptions(lock_duration_ms=5_000, delivery_count_limit=5))
    with pytest.raises(HarnessError, match=message):
        _validate(options)


def test_a_topology_whose_share_bounds_take_the_options_passes() -> None:
    topology = replace(default_topology(), broker_config=(("group.share.min.record.lock.duration.ms", 1_000),
                                                          ("group.share.max.delivery.count.limit", 5)))
    _validate(RunOptions(topology=topology, workload_name="share",
                         workload_options=ShareOptions(lock_duration_ms=5_000, delivery_count_limit=5)))

"""Every refusal a run's options can earn, decided before the engine is contacted or anything is created.

The runner calls `check` first thing: bad numbers (NaN, infinities, zero or absurd sizes), names that are not
plain folder names, a Kafka release that cannot run the topology's mode, WAN pairs naming DCs the topology does
not have, and nemesis/topology combinations under which the run would inject no fault at all and could come
out VALID having tested nothing (each nemesis says what it needs: nemesis.base.Requirements).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import kafka_versions
from core.errors import HarnessError
from core.units import bounded
from harness.results import check_test_name
from infra import image
from nemesis import registry
from nemesis.base import Nemesis
from nemesis.wan_plan import WanSpec

if TYPE_CHECKING:
    from harness.runner import RunOptions

DAY_S = 86_400.0  # no single run is meant to last longer; 1e12 seconds is a typo, not a plan


def check(options: RunOptions, nemeses: list[Nemesis]) -> None:
    """Raise HarnessError for the first problem found; `nemeses` are the parsed --nemesis ones."""
    check_test_name(options.name())
    bounded(options.time_limit, "--time-limit (seconds)", 0, DAY_S)
    bounded(options.nemesis_interval, "--nemesis-interval (seconds)", 0, DAY_S)
    for at, name, hold in options.timeline:
        bounded(at, f"timeline step {name}: at (seconds)", 0, DAY_S, low_inclusive=True)
        bounded(hold, f"timeline step {name}: hold (seconds)", 0, DAY_S)
    if options.ssh is None and options.image is None:
        image.check_version(options.kafka_version)
        kafka_versions.check_mode(options.kafka_version, options.topology.mode, options.topology.kraft_voters)
    _check_wan(options)
    _check_group_protocol(options)
    timeline = [registry.parse(name)[0] for _, name, _ in options.timeline]
    registry.refuse_unmet(nemeses + timeline, options.topology)
    if nemeses and not options.timeline and options.nemesis_interval >= options.time_limit:
        raise HarnessError(f"--nemesis-interval {options.nemesis_interval:g} s is not shorter than --time-limit "
                           f"{options.time_limit:g} s: the first fault would start after the workload ended, "
                           "so the run would inject none", hint="a fault starts every interval and heals the next")
    late = [name for at, name, _ in options.timeline if at >= options.time_limit]
    if late:
        raise HarnessError(f"timeline step {late[0]} starts at or after the end of the workload "
                           f"({options.time_limit:g} s), so it would never run")


def _check_group_protocol(options: RunOptions) -> None:
    protocol = getattr(options.workload_options, "group_protocol", "classic")
    if protocol != "classic" and options.ssh is None and not kafka_versions.has_consumer_protocol(
            options.kafka_version):
        raise HarnessError(f"--group-protocol {protocol} needs Kafka 4.0 or newer (KIP-848's consumer protocol); "
                           f"{options.kafka_version} has the classic protocol only",
                           hint=f"--kafka-version {kafka_versions.DEFAULT}, or --group-protocol classic")


def _check_wan(options: RunOptions) -> None:
    for what, value in (("--wan-latency", options.wan_latency_ms), ("--wan-jitter", options.wan_jitter_ms)):
        bounded(value, f"{what} (ms)", 0, 60_000, low_inclusive=True)
    WanSpec.build(options.wan_latency_ms, options.wan_jitter_ms, options.wan_loss_pct,
                  dict(options.wan_pairs)).check_dcs(options.topology)

"""WAN shaping on a real cluster: RTT between DCs grows by 2 × latency, inside a DC it does not, the slow-dc
and flaky-dc nemeses take effect and heal back to the standing WAN, and nothing of ours is left after remove.

Measured from dc1-broker1 to dc2-broker1 (another DC) and to dc1-controller1 (same DC) with `ping -U`
(user-to-user time: plain ping takes the reply's kernel receive timestamp, which is earlier than the delay the
nfqueue mechanism adds on arrival), and throughput with one TCP stream through nc.
"""

from __future__ import annotations

import random
import re
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import topology
from core.waiting import wait_until
from infra.cluster import Cluster, new_run_id
from infra.host_processes import HostProcesses
from nemesis.base import NemesisContext
from nemesis.wan import MECHANISMS, WanShaping, flaky_dc, slow_dc
from tests.cluster.conftest import labelled_leftovers

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

SOURCE, SAME_DC, OTHER_DC = "dc1-broker1", "dc1-controller1", "dc2-broker1"


@pytest.fixture(scope="module")
def wan(docker_client: Any, node_image: str) -> Iterator[NemesisContext]:
    t = topology.uniform(dcs=2, brokers_per_dc=1, controllers=1)  # dc1: controller + broker, dc2: broker
    run_id = new_run_id()
    host = HostProcesses(run_id)
    with Cluster(docker_client, t, node_image, run_id) as cluster:
        ctx = NemesisContext(t, cluster.nodes, cluster.addresses, random.Random(11), host=host)
        try:
            yield ctx
        finally:
            try:
                WanShaping().remove(ctx)
            finally:
                host.stop_all()
    assert not labelled_leftovers(docker_client, run_id)
    assert not _our_processes(host)


def ping(ctx: NemesisContext, dst: str, count: int = 10, interval: float = 0.2) -> tuple[float | None, float]:
    """(median RTT in ms or None if nothing came back, fraction lost) from SOURCE to `dst`."""
    out = ctx.nodes[SOURCE].remote.exec(f"ping -U -n -c {count} -i {interval} -W 3 {ctx.addresses[dst]}",
                                        check=False, timeout=count * interval + 30).stdout
    times = [float(t) for t in re.findall(r"time=([\d.]+) ms", out)]
    return (statistics.median(times) if times else None), 1 - len(times) / count


def rtt(ctx: NemesisContext, dst: str) -> float:
    median, _ = ping(ctx, dst)
    assert median is not None, f"no ping reply from {dst}"
    return median


def throughput_mb_s(ctx: NemesisContext, dst: str, megabytes: int = 20) -> float:
    """One TCP stream of `megabytes` from SOURCE to `dst`, timed until the receiver saw the end of it."""
    receiver, sender = ctx.nodes[dst].remote, ctx.nodes[SOURCE].remote
    receiver.exec("rm -f /tmp/kj-done; (nc -l -p 9000 | wc -c > /tmp/kj-bytes; date +%s%N > /tmp/kj-done) "
                  ">/dev/null 2>&1 </dev/null &")
    wait_until(lambda: receiver.exec("ss -ltn | grep -q ':9000 '", check=False).ok, 10, f"nc listening on {dst}")
    started = int(sender.exec(f"date +%s%N; head -c {megabytes * 1000000} /dev/zero | "
                              f"nc -N -q 10 {ctx.addresses[dst]} 9000 >/dev/null", timeout=120).stdout.split()[0])
    wait_until(lambda: receiver.exec("cat /tmp/kj-done", check=False).stdout.strip(), 120, f"the stream to {dst}")
    done = int(receiver.exec("cat /tmp/kj-done").stdout)
    assert int(receiver.exec("cat /tmp/kj-bytes").stdout) == megabytes * 1000000
    return megabytes / ((done - started) / 1e9)


def _our_processes(host: HostProcesses) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if host.marker() in text and "delayer" in text:
            found.append(text)
    return found


def assert_nothing_left(ctx: NemesisContext) -> None:
    for name, node in ctx.nodes.items():
        rules = node.remote.exec("iptables -w -S").stdout
        assert "HARNESS-WAN" not in rules and "NFQUEUE" not in rules, (name, rules)
        assert "4a4a" not in node.remote.exec("tc qdisc show").stdout, name
    assert ctx.host is not None
    assert not (ctx.host.directory.exists() and list(ctx.host.directory.glob("wan-*.pid")))
    assert not _our_processes(ctx.host)


def test_wan_latency_adds_twice_its_value_to_rtt_between_dcs_and_nothing_inside_one(wan: NemesisContext) -> None:
    before = {"same": rtt(wan, SAME_DC), "other": rtt(wan, OTHER_DC)}
    throughput_before = throughput_mb_s(wan, OTHER_DC)
    described = WanShaping().apply(wan, 40)
    during = {"same": rtt(wan, SAME_DC), "other": rtt(wan, OTHER_DC)}
    throughput = throughput_mb_s(wan, OTHER_DC)
    assert WanShaping().remove(wan) == []
    after = {"same": rtt(wan, SAME_DC), "other": rtt(wan, OTHER_DC)}
    print(f"\nwan 40ms via {described['mechanism']}: median RTT ms before {before}, during {during}, after {after}; "
          f"one TCP stream between DCs {throughput_before:.0f} MB/s before, {throughput:.1f} MB/s during")
    assert described["mechanism"] in MECHANISMS
    assert before["other"] < 10 and before["same"] < 10
    assert 70 <= during["other"] <= 140
    assert during["same"] < 10
    assert throughput > 2  # MB/s; a delay held against the sender's TCP small-queue budget gave ~0.15
    assert after["other"] < 10 and after["same"] < 10
    assert_nothing_left(wan)


def test_slow_dc_on_a_standing_wan_heals_back_to_the_standing_latency(wan: NemesisContext) -> None:
    WanShaping().apply(wan, 40)
    nemesis = slow_dc()  # +100 ms ± 20 ms on one DC's links
    fault = nemesis.start(wan)
    slowed = {"same": rtt(wan, SAME_DC), "other": rtt(wan, OTHER_DC)}
    nemesis.stop(wan, fault)
    healed = {"same": rtt(wan, SAME_DC), "other": rtt(wan, OTHER_DC)}
    assert WanShaping().remove(wan) == []
    print(f"\nslow-dc on {fault.details['dc']} via {fault.details['mechanism']} over wan 40ms: "
          f"median RTT ms slowed {slowed}, healed {healed}")
    assert fault.details["mechanism"] in MECHANISMS
    assert 220 <= slowed["other"] <= 420  # 2 × (40 + 100) ms, jitter keeps order so it only adds
    assert slowed["same"] < 10
    assert 70 <= healed["other"] <= 140  # the standing WAN, not an unshaped network
    assert healed["same"] < 10
    assert_nothing_left(wan)


def test_flaky_dc_loses_packets_between_dcs_only_and_heals(wan: NemesisContext) -> None:
    nemesis = flaky_dc(50.0)  # each direction: round trip survives 25% of the time
    fault = nemesis.start(wan)
    _, lost_other = ping(wan, OTHER_DC, count=60, interval=0.05)
    _, lost_same = ping(wan, SAME_DC, count=20, interval=0.05)
    nemesis.heal_all(wan)
    _, healed_other = ping(wan, OTHER_DC, count=20, interval=0.05)
    print(f"\nflaky-dc 50% on {fault.details['dc']} via {fault.details['mechanism']}: round-trip loss "
          f"other DC {lost_other:.0%}, same DC {lost_same:.0%}, healed {healed_other:.0%}")
    assert 0.5 <= lost_other <= 0.95  # expected 75%
    assert lost_same == 0
    assert healed_other == 0
    assert_nothing_left(wan)

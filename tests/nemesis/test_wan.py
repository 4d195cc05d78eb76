"""WAN shaping: the per-destination tables, the commands both mechanisms generate, and exact healing."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from core import topology
from core.errors import HarnessError
from core.topology import Topology
from core.units import parse_duration_ms, parse_percent
from infra.control.base import ExecResult
from infra.control.fake import FakeRemote
from infra.kafka_node import KafkaNode
from nemesis import netem, nfqueue, registry
from nemesis.base import NemesisContext
from nemesis.wan import WanShaping, detect_mechanism, flaky_dc, slow_dc
from nemesis.wan_plan import (
    LinkShape,
    Overlay,
    WanSpec,
    egress_tables,
    ingress_table,
    parse_pair_latencies,
)

# ---- fakes --------------------------------------------------------------------------------------------------


class FakeProcess:
    def __init__(self, exit_code: int | None) -> None:
        self.exit_code = exit_code

    def poll(self) -> int | None:
        return self.exit_code


class FakeHost:
    """Records delayers as HostProcesses would start them; a started delayer binds its queue at once."""

    def __init__(self, directory: Path, fail: bool = False) -> None:
        self.run_id = "kj-test"
        self.directory = directory
        self.fail = fail
        self.running: dict[str, list[str]] = {}
        self.bound: dict[str, set[int]] = {}

    def marker(self) -> str:
        return f"kafka-jepsen-run={self.run_id}"

    def start(self, name: str, argv: list[str], log: Path | None = None) -> FakeProcess:
        assert self.marker() in argv
        if self.fail:
            assert log is not None
            log.write_text("ImportError: No module named 'netfilterqueue'\n")
            return FakeProcess(1)
        self.running[name] = argv
        node, queue = re.fullmatch(r"wan-(.+)-q(\d+)", name).groups()  # type: ignore[union-attr]
        self.bound.setdefault(node, set()).add(int(queue))
        return FakeProcess(None)

    def stop(self, name: str) -> None:
        if self.running.pop(name, None):
            node, queue = re.fullmatch(r"wan-(.+)-q(\d+)", name).groups()  # type: ignore[union-attr]
            self.bound[node].discard(int(queue))

    def delays(self, node: str) -> list[str]:
        """The --delay-ms of each delayer running for `node`."""
        return sorted(argv[argv.index("--delay-ms") + 1] for name, argv in self.running.items()
                      if name.startswith(f"wan-{node}-q"))


class NetnsFakeRemote(FakeRemote):
    """A FakeRemote that, like DockerRemote, can be entered with nsenter."""

    def __init__(self, name: str, respond: object, pid: int) -> None:
        super().__init__(name, respond)  # type: ignore[arg-type]
        self.pid = pid

    def netns_pid(self) -> int:
        return self.pid


def three_dcs() -> Topology:
    return topology.default_topology()  # dc1..dc3, a broker and a controller in each


def two_dcs_two_brokers() -> Topology:
    return topology.uniform(dcs=2, brokers_per_dc=2, controllers=1)


def make_context(tmp_path: Path, t: Topology, netem_works: bool = False, netns: bool = True,
                 host: FakeHost | None = None) -> tuple[NemesisContext, dict[str, FakeRemote], FakeHost]:
    host = host or FakeHost(tmp_path)

    def respond_for(node: str):  # type: ignore[no-untyped-def]
        def respond(command: str) -> ExecResult | None:
            if command == netem.PROBE:
                return ExecResult(0, "", "") if netem_works else ExecResult(2, "", "Error: Specified qdisc kind "
                                                                                      "is unknown.")
            if command.startswith("ip -o route get"):
                return ExecResult(0, f"{command.split()[-1]} dev eth0 src 172.30.9.99 uid 0", "")
            if command == nfqueue.BOUND_QUEUES:
                bound = sorted(host.bound.get(node, ()))
                lines = [f"{q:5d}  1234     0 2    64     0     0        0  1\n" for q in bound]
                return ExecResult(0, "".join(lines), "")
            return None
        return respond

    remotes: dict[str, FakeRemote] = {}
    for i, n in enumerate(t.nodes):
        remotes[n.name] = NetnsFakeRemote(n.name, respond_for(n.name), 4000 + i) if netns else FakeRemote(
            n.name, respond_for(n.name))
    nodes = {n.name: KafkaNode(n, remotes[n.name]) for n in t.nodes}
    addresses = {n.name: f"172.30.9.{10 + i}" for i, n in enumerate(t.nodes)}
    ctx = NemesisContext(t, nodes, addresses, random.Random(7), host=host)  # type: ignore[arg-type]
    return ctx, remotes, host


@pytest.fixture(autouse=True)
def host_can_run_delayers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nfqueue, "host_unavailable", lambda: None)


def last_chains(remote: FakeRemote) -> str:
    return [c for c in remote.commands if "iptables-restore" in c][-1]


def dc_of(t: Topology, node: str) -> str:
    return t.node(node).dc


# ---- flags --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, ms", [("40ms", 40.0), ("0.5s", 500.0), ("40", 40.0), ("250us", 0.25), (" 5 ms", 5.0)])
def test_durations_are_read_in_milliseconds(text: str, ms: float) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["fast", "-5ms", "40min", "", "ms"])
def test_a_bad_duration_is_a_user_error(text: str) -> None:
    with pytest.raises(HarnessError, match="not a duration"):
        parse_duration_ms(text)


@pytest.mark.parametrize("text, pct", [("0.1%", 0.1), ("5", 5.0), ("100%", 100.0)])
def test_percentages(text: str, pct: float) -> None:
    assert parse_percent(text) == pct


@pytest.mark.parametrize("text", ["101%", "-1%", "lots", "0.1%%"])
def test_a_bad_percentage_is_a_user_error(text: str) -> None:
    with pytest.raises(HarnessError, match="not a percentage"):
        parse_percent(text)


def test_pair_latencies_are_unordered_pairs() -> None:
    assert parse_pair_latencies("dc2:dc1=1ms, dc1:dc3=30ms") == {("dc1", "dc2"): 1.0, ("dc1", "dc3"): 30.0}
    with pytest.raises(HarnessError):
        parse_pair_latencies("dc1-dc2=1ms")


# ---- tables -------------------------------------------------------------------------------------------------


def test_nothing_is_ever_added_inside_a_dc() -> None:
    t = two_dcs_two_brokers()
    tables = egress_tables(t, WanSpec.build(40, 5, 1), [Overlay("dc1", LinkShape(100, 20, 20))])
    for node, table in tables.items():
        assert table, node
        assert all(dc_of(t, peer) != dc_of(t, node) for peer in table)
        assert len(table) == sum(1 for n in t.nodes if n.dc != dc_of(t, node))


def test_two_cities_three_dcs_get_their_own_latency_per_pair() -> None:
    t = three_dcs()
    spec = WanSpec.build(30, pairs={("dc2", "dc1"): 1})
    tables = egress_tables(t, spec)
    assert tables["dc1-broker1"]["dc2-broker1"] == LinkShape(1.0)
    assert tables["dc2-controller1"]["dc1-broker1"] == LinkShape(1.0)
    assert tables["dc1-broker1"]["dc3-controller1"] == LinkShape(30.0)
    assert tables["dc3-broker1"]["dc2-broker1"] == LinkShape(30.0)


def test_a_pairs_own_jitter_replaces_the_default_on_that_pair_only() -> None:
    t = three_dcs()
    spec = WanSpec.build(30, 4, pairs={("dc1", "dc2"): 1}, pair_jitters={("dc2", "dc1"): 0.2})
    tables = egress_tables(t, spec)
    assert tables["dc1-broker1"]["dc2-broker1"] == LinkShape(1.0, 0.2)
    assert tables["dc2-broker1"]["dc1-broker1"] == LinkShape(1.0, 0.2)
    assert tables["dc1-broker1"]["dc3-broker1"] == LinkShape(30.0, 4.0)
    with pytest.raises(HarnessError, match="jitter dc1-dc2 must not be negative"):
        WanSpec.build(30, pair_jitters={("dc1", "dc2"): -1})


def test_an_overlay_stacks_on_the_standing_wan_of_its_dc_only() -> None:
    t = three_dcs()
    tables = egress_tables(t, WanSpec.build(40, 5, 20), [Overlay("dc3", LinkShape(100, 20, 20))])
    assert tables["dc1-broker1"]["dc2-broker1"] == LinkShape(40, 5, 20)
    assert tables["dc1-broker1"]["dc3-broker1"] == LinkShape(140, 25, 36)  # 1 - 0.8 * 0.8
    assert tables["dc3-broker1"]["dc1-controller1"] == LinkShape(140, 25, 36)


def test_unknown_dc_in_a_pair_is_a_user_error(tmp_path: Path) -> None:
    ctx, _, _ = make_context(tmp_path, three_dcs())
    with pytest.raises(HarnessError, match="'dc9'"):
        WanShaping().apply(ctx, 40, pairs={("dc1", "dc9"): 1})


# ---- netem --------------------------------------------------------------------------------------------------


def test_netem_filters_by_destination_into_one_class_per_shape() -> None:
    addresses = {"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3"}
    lines = netem.commands("eth0", {"a": LinkShape(40, 5, 0.1), "b": LinkShape(40, 5, 0.1), "c": LinkShape(1)},
                           addresses)
    assert lines[1] == "tc qdisc replace dev eth0 root handle 4a4a: htb default 1"
    assert "tc qdisc add dev eth0 parent 4a4a:10 handle 10: netem delay 1ms" in lines
    assert "tc qdisc add dev eth0 parent 4a4a:11 handle 11: netem delay 40ms 5ms loss 0.1%" in lines
    filters = [line for line in lines if " filter " in line]
    assert filters == [
        "tc filter add dev eth0 parent 4a4a: protocol ip prio 1 u32 match ip dst 10.0.0.3/32 flowid 4a4a:10",
        "tc filter add dev eth0 parent 4a4a: protocol ip prio 1 u32 match ip dst 10.0.0.1/32 flowid 4a4a:11",
        "tc filter add dev eth0 parent 4a4a: protocol ip prio 1 u32 match ip dst 10.0.0.2/32 flowid 4a4a:11",
    ]


def test_netem_path_shapes_only_peers_in_other_dcs(tmp_path: Path) -> None:
    t = two_dcs_two_brokers()
    ctx, remotes, host = make_context(tmp_path, t, netem_works=True)
    described = WanShaping().apply(ctx, 40, 5, 0.1)
    assert described["mechanism"] == "netem"
    assert not host.running
    for node, remote in remotes.items():
        script = remote.commands[-1]
        assert "netem delay 40ms 5ms loss 0.1%" in script
        for peer in t.nodes:
            expected = peer.dc != dc_of(t, node)
            assert (f"match ip dst {ctx.addresses[peer.name]}/32 " in script) == expected, (node, peer.name)


def test_netem_heal_of_slow_dc_gives_back_the_standing_latency(tmp_path: Path) -> None:
    ctx, remotes, _ = make_context(tmp_path, three_dcs(), netem_works=True)
    WanShaping().apply(ctx, 40)
    standing = {node: r.commands[-1] for node, r in remotes.items()}
    nemesis = slow_dc()
    fault = nemesis.start(ctx)
    assert fault.details["mechanism"] == "netem"
    assert any("netem delay 140ms 20ms" in r.commands[-1] for r in remotes.values())
    nemesis.stop(ctx, fault)
    assert {node: r.commands[-1] for node, r in remotes.items()} == standing


# ---- nfqueue ------------------------------------------------------------------------------------------------


def test_nfqueue_path_queues_only_traffic_to_other_dcs(tmp_path: Path) -> None:
    t = two_dcs_two_brokers()
    ctx, remotes, host = make_context(tmp_path, t)
    described = WanShaping().apply(ctx, 40, 5)
    assert described["mechanism"] == "nfqueue"
    assert described["links"] == {"dc1->dc2": {"delay_ms": 40.0, "jitter_ms": 5.0, "loss_pct": 0.0},
                                  "dc2->dc1": {"delay_ms": 40.0, "jitter_ms": 5.0, "loss_pct": 0.0}}
    for node, remote in remotes.items():
        script = last_chains(remote)
        for peer in t.nodes:
            rule = f"-A HARNESS-WAN -s {ctx.addresses[peer.name]}/32 -j NFQUEUE --queue-num 1000 --queue-bypass"
            assert (rule in script) == (peer.dc != dc_of(t, node)), (node, peer.name)
        assert "statistic" not in script
        assert "iptables -w -C INPUT -j HARNESS-WAN 2>/dev/null || iptables -w -I INPUT -j HARNESS-WAN" in script
        (argv,) = [argv for name, argv in host.running.items() if name == f"wan-{node}-q1000"]
        pid = str(remote.netns_pid())  # type: ignore[attr-defined]
        assert argv[:5] == ["nsenter", "-t", pid, "-n", "--"]
        assert argv[argv.index("--delay-ms") + 1] == "40" and argv[argv.index("--jitter-ms") + 1] == "5"
    assert len(host.running) == len(t.nodes)


def test_nfqueue_shapes_a_link_where_it_arrives_and_drops_before_it_delays() -> None:
    tables = {"a": {"b": LinkShape(40, 0, 20)}, "b": {"a": LinkShape(1)}}
    assert ingress_table(tables, "b") == {"a": LinkShape(40, 0, 20)}
    rules = nfqueue.chain_rules(ingress_table(tables, "b"), {"a": "10.0.0.1"}, {(40.0, 0.0): 1000})
    assert rules == ["-A HARNESS-WAN -s 10.0.0.1/32 -m statistic --mode random --probability 0.2 -j DROP",
                     "-A HARNESS-WAN -s 10.0.0.1/32 -j NFQUEUE --queue-num 1000 --queue-bypass"]


def test_nfqueue_per_pair_latencies_get_a_queue_and_delayer_each(tmp_path: Path) -> None:
    ctx, remotes, host = make_context(tmp_path, three_dcs())
    WanShaping().apply(ctx, 30, pairs={("dc1", "dc2"): 1})
    assert host.delays("dc1-broker1") == ["1", "30"]
    assert host.delays("dc3-broker1") == ["30"]
    script = last_chains(remotes["dc1-broker1"])
    dc2, dc3 = ctx.addresses["dc2-broker1"], ctx.addresses["dc3-broker1"]
    queue_of = dict(re.findall(r"-s (\S+)/32 -j NFQUEUE --queue-num (\d+)", script))
    delay_of_queue = {argv[argv.index("--queue") + 1]: argv[argv.index("--delay-ms") + 1]
                      for name, argv in host.running.items() if name.startswith("wan-dc1-broker1-q")}
    assert delay_of_queue[queue_of[dc2]] == "1"
    assert delay_of_queue[queue_of[dc3]] == "30"


def test_nfqueue_heal_of_slow_dc_restores_the_standing_latency_exactly(tmp_path: Path) -> None:
    ctx, remotes, host = make_context(tmp_path, three_dcs())
    WanShaping().apply(ctx, 40)
    standing_rules = {node: last_chains(r) for node, r in remotes.items()}
    standing_delayers = dict(host.running)
    nemesis = slow_dc()
    fault = nemesis.start(ctx)
    slow = fault.details["dc"]
    assert fault.details["mechanism"] == "nfqueue"
    assert set(fault.targets) == {n.name for n in ctx.topology.in_dc(slow)}
    for node in remotes:
        assert host.delays(node) == (["140"] if dc_of(ctx.topology, node) == slow else ["140", "40"])
    nemesis.stop(ctx, fault)
    assert host.running == standing_delayers  # the 140 ms delayers ended, the 40 ms ones never stopped
    assert {node: last_chains(r) for node, r in remotes.items()} == standing_rules


def test_flaky_dc_drops_on_arrival_from_the_other_dcs_and_heals_to_the_standing_wan(tmp_path: Path) -> None:
    ctx, remotes, host = make_context(tmp_path, three_dcs())
    WanShaping().apply(ctx, 40)
    standing_rules = {node: last_chains(r) for node, r in remotes.items()}
    nemesis = flaky_dc()
    fault = nemesis.start(ctx)
    flaky = fault.details["dc"]
    for node, remote in remotes.items():
        script = last_chains(remote)
        for peer in ctx.topology.nodes:
            lossy = peer.dc != dc_of(ctx.topology, node) and flaky in (peer.dc, dc_of(ctx.topology, node))
            rule = (f"-A HARNESS-WAN -s {ctx.addresses[peer.name]}/32 -m statistic --mode random "
                    f"--probability 0.2 -j DROP")
            assert (rule in script) == lossy, (node, peer.name)
        assert "--queue-num 1000" in script  # the standing delay stays
    nemesis.heal_all(ctx)
    assert {node: last_chains(r) for node, r in remotes.items()} == standing_rules
    nemesis.heal_all(ctx)  # idempotent: nothing more to do
    assert {node: last_chains(r) for node, r in remotes.items()} == standing_rules


def test_remove_clears_every_node_and_ends_every_delayer_twice_over(tmp_path: Path) -> None:
    ctx, remotes, host = make_context(tmp_path, three_dcs())
    shaping = WanShaping()
    shaping.apply(ctx, 40)
    slow_dc().start(ctx)
    assert shaping.remove(ctx) == []
    assert not host.running
    assert all(r.commands[-1] == nfqueue.CLEAR for r in remotes.values())
    assert shaping.remove(ctx) == []
    assert not host.running
    assert shaping.describe(ctx)["mechanism"] == "none"


def test_a_delayer_that_dies_at_start_rolls_the_change_back(tmp_path: Path) -> None:
    ctx, remotes, host = make_context(tmp_path, three_dcs(), host=FakeHost(tmp_path, fail=True))
    with pytest.raises(HarnessError, match="exited at start: ImportError"):
        WanShaping().apply(ctx, 40)
    assert not host.running
    assert WanShaping().describe(ctx)["latency_ms"] == 0.0
    assert not any("iptables-restore" in c for r in remotes.values() for c in r.commands)


# ---- choosing a mechanism -----------------------------------------------------------------------------------


def test_netem_is_preferred_where_the_kernel_has_it(tmp_path: Path) -> None:
    ctx, _, _ = make_context(tmp_path, three_dcs(), netem_works=True)
    assert detect_mechanism(ctx) == "netem"


def test_without_netem_a_machine_over_ssh_cannot_be_shaped_and_we_say_why(tmp_path: Path) -> None:
    ctx, _, _ = make_context(tmp_path, three_dcs(), netns=False)
    with pytest.raises(HarnessError) as raised:
        detect_mechanism(ctx)
    message = str(raised.value)
    assert "\n" not in message
    assert "Specified qdisc kind is unknown" in message and "not a container on this host" in message


def test_without_netem_or_netfilterqueue_we_say_what_to_install(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nfqueue, "host_unavailable", lambda: "the Python package netfilterqueue is missing")
    ctx, _, _ = make_context(tmp_path, three_dcs())
    with pytest.raises(HarnessError, match="netfilterqueue is missing"):
        WanShaping().apply(ctx, 40)


def test_zero_wan_touches_nothing(tmp_path: Path) -> None:
    ctx, remotes, host = make_context(tmp_path, three_dcs())
    assert WanShaping().apply(ctx, 0)["mechanism"] == "none"
    assert not any(r.commands for r in remotes.values())


# ---- nemeses ------------------------------------------------------------------------------------------------


def test_slow_dc_and_flaky_dc_are_registered() -> None:
    assert {"slow-dc", "flaky-dc"} <= set(registry.names())


def test_slow_dc_needs_two_dcs(tmp_path: Path) -> None:
    ctx, _, _ = make_context(tmp_path, topology.uniform(dcs=1, brokers_per_dc=3, controllers=1))
    with pytest.raises(HarnessError, match="at least two DCs"):
        slow_dc().start(ctx)


def test_slow_dc_without_a_standing_wan_heals_to_nothing(tmp_path: Path) -> None:
    ctx, remotes, host = make_context(tmp_path, three_dcs())
    nemesis = slow_dc()
    fault = nemesis.start(ctx)
    assert fault.details["added"] == {"delay_ms": 100.0, "jitter_ms": 20.0, "loss_pct": 0.0}
    assert len(host.running) == len(remotes)
    nemesis.stop(ctx, fault)
    assert not host.running
    assert all(r.commands[-1] == nfqueue.CLEAR for r in remotes.values())  # no chain of ours is left


def test_remove_tries_every_node_and_reports_the_ones_it_could_not_clean(tmp_path: Path) -> None:
    ctx, remotes, host = make_context(tmp_path, three_dcs())
    WanShaping().apply(ctx, 40)

    def gone(command: str, *, check: bool = True, timeout: float = 60.0) -> ExecResult:
        raise RuntimeError("No such container")

    remotes["dc2-broker1"].exec = gone  # type: ignore[method-assign]
    problems = WanShaping().remove(ctx)
    assert problems == ["dc2-broker1: No such container"]
    assert not host.running  # every other node's delayer ended, and dc2-broker1's too
    assert all(r.commands[-1] == nfqueue.CLEAR for n, r in remotes.items() if n != "dc2-broker1")

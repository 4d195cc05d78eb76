"""Power-loss nemeses over fake disks and nodes: the order of a power loss (every disk cut before any JVM dies,
every JVM dead before any disk drops its state), what is recorded, and a loss that dropped nothing."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from core import topology
from core.errors import HarnessError
from infra.control.base import ExecResult
from infra.control.fake import FakeRemote
from infra.kafka_node import KafkaNode
from nemesis import registry
from nemesis.base import NemesisContext
from nemesis.power import PowerLoss

EVENTS: list[tuple[str, str]] = []
LOCK = threading.Lock()


def note(what: str, node: str) -> None:
    with LOCK:
        EVENTS.append((what, node))


class FakeDisk:
    def __init__(self, node: str, dropped: int) -> None:
        self.node, self.dropped, self.powered = node, dropped, True

    def cut(self) -> None:
        note("cut", self.node)
        self.powered = False

    def lose(self) -> dict[str, int]:
        note("lose", self.node)
        return {"bytes_dropped": self.dropped, "files_reverted": int(self.dropped > 0), "files_lost": 0,
                "entries_reverted": 0}

    def power_on(self) -> None:
        self.powered = True


def context(dropped: int = 100, disks: bool = True) -> NemesisContext:
    EVENTS.clear()
    t = topology.default_topology()

    def respond(node: str):  # type: ignore[no-untyped-def]
        def answer(command: str) -> None:
            if command.endswith(" kill"):
                note("kill", node)
            if command.endswith(" start"):
                note("start", node)

        return answer

    nodes = {n.name: KafkaNode(n, FakeRemote(n.name, respond(n.name))) for n in t.nodes}
    fake = {b.name: FakeDisk(b.name, dropped) for b in t.brokers} if disks else {}
    return NemesisContext(t, nodes, {}, random.Random(5), disks=fake)  # type: ignore[arg-type]


def test_power_loss_all_cuts_every_disk_before_any_kill_and_kills_every_node_before_any_loss() -> None:
    ctx = context()
    fault = registry.parse("power-loss-all")[0].start(ctx)
    kinds = [kind for kind, _ in EVENTS]
    assert kinds == sorted(kinds, key=["cut", "kill", "lose"].index)
    assert {n for k, n in EVENTS if k == "kill"} == {n.name for n in ctx.topology.nodes}
    assert {n for k, n in EVENTS if k == "cut"} == {b.name for b in ctx.topology.brokers}
    assert fault.details["bytes_dropped"] == 100 * len(ctx.topology.brokers)
    assert fault.took_effect and "bytes" in fault.summary()


def test_power_loss_dc_hits_exactly_one_dc_and_heal_powers_it_on_and_starts_it() -> None:
    ctx = context()
    nemesis = registry.parse("power-loss-dc")[0]
    fault = nemesis.start(ctx)
    dcs = {ctx.topology.node(n).dc for n in fault.targets}
    assert len(dcs) == 1 and set(fault.targets) == {n.name for n in ctx.topology.in_dc(dcs.pop())}
    nemesis.stop(ctx, fault)
    assert {n for k, n in EVENTS if k == "start"} == set(fault.targets)
    assert all(d.powered for d in ctx.disks.values())  # type: ignore[attr-defined]


def test_power_loss_is_seeded() -> None:
    first = registry.parse("power-loss")[0].start(context()).targets
    assert first == registry.parse("power-loss")[0].start(context()).targets


def test_a_power_loss_that_dropped_nothing_does_not_count_as_a_fault_that_took_effect() -> None:
    fault = registry.parse("power-loss-all")[0].start(context(dropped=0))
    assert not fault.took_effect
    assert fault.details["no_effect"] and "nothing to drop" in fault.summary()


def test_without_the_filesystem_a_power_loss_refuses_with_one_line() -> None:
    with pytest.raises(HarnessError, match="not on the durable filesystem"):
        registry.parse("power-loss")[0].start(context(disks=False))


def test_every_power_loss_nemesis_declares_it_needs_the_filesystem() -> None:
    for name in ("power-loss", "power-loss-dc", "power-loss-all"):
        nemesis = registry.parse(name)[0]
        assert isinstance(nemesis, PowerLoss) and nemesis.requires.durable_fs


def test_the_runner_refuses_power_loss_on_ssh_targets(tmp_path: Path) -> None:
    from harness.runner import RunOptions, _validate_durable

    options = RunOptions(topology=topology.default_topology(), nemesis="kill,power-loss-dc", ssh=tmp_path / "h.toml")
    with pytest.raises(HarnessError, match="power-loss-dc needs the harness's own filesystem"):
        _validate_durable(options, registry.parse(options.nemesis))
    _validate_durable(RunOptions(topology=topology.default_topology(), nemesis="kill", ssh=tmp_path / "h.toml"),
                      registry.parse("kill"))


class FakeFaultDisk(FakeDisk):
    def __init__(self, node: str) -> None:
        super().__init__(node, 0)
        self.on: tuple[str, float] | None = None

    def fault(self, kind: str, delay_ms: float = 0.0) -> None:
        self.on = (kind, delay_ms)

    def clear(self) -> int:
        hit, self.on = self.on, None
        return 7 if hit else 0


@pytest.mark.parametrize("name,kind", [("disk-full", "full"), ("disk-eio", "eio-write"),
                                       ("disk-eio-read", "eio-read"), ("disk-slow", "slow")])
def test_a_disk_fault_hits_one_broker_and_its_stop_says_how_many_operations_it_hit(name: str, kind: str) -> None:
    ctx = context()
    ctx.disks = {b.name: FakeFaultDisk(b.name) for b in ctx.topology.brokers}  # type: ignore[misc]
    nemesis = registry.parse(name)[0]
    assert nemesis.requires.durable_fs
    fault = nemesis.start(ctx)
    (victim,) = fault.targets
    assert ctx.disks[victim].on[0] == kind  # type: ignore[attr-defined]
    assert [d.on for n, d in ctx.disks.items() if n != victim] == [None] * (len(ctx.disks) - 1)  # type: ignore[attr-defined]
    assert nemesis.stop(ctx, fault) == {"hits": {victim: 7}, "restarted": []}
    nemesis.heal_all(ctx)
    assert all(d.on is None for d in ctx.disks.values())  # type: ignore[attr-defined]


def test_a_broker_its_disk_fault_stopped_is_started_again_at_heal_and_the_stop_says_so() -> None:
    ctx = context()
    ctx.disks = {b.name: FakeFaultDisk(b.name) for b in ctx.topology.brokers}  # type: ignore[misc]
    nemesis = registry.parse("disk-full")[0]
    fault = nemesis.start(ctx)
    (victim,) = fault.targets
    remote = ctx.nodes[victim].remote
    remote._respond = lambda command: ExecResult(0, "stopped", "") if command.endswith(" status") else None  # type: ignore[attr-defined]
    assert nemesis.stop(ctx, fault) == {"hits": {victim: 7}, "restarted": [victim]}
    assert remote.commands[-1].endswith(" start")  # type: ignore[attr-defined]

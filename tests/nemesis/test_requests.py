"""Request nemeses: names, a hold through a real proxy (loopback, a fake broker) recorded with what it held, a
hold that met nothing not counted as injected, and the refusal when no proxy is in the path."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import orjson
import pytest

from core.errors import HarnessError
from core.topology import default_topology
from core.waiting import wait_until
from infra.recorder import HistoryRecorder
from infra.request_proxy import RequestProxy, request_bytes
from nemesis import registry
from nemesis.base import EffectOnStop, NemesisContext
from nemesis.requests import RequestHold
from nemesis.schedule import NemesisSchedule
from tests.infra.test_request_proxy import FakeBroker, _responses

END_TXN, PRODUCE = 26, 0


@pytest.mark.parametrize("name, keys, mode, limit", [
    ("delay-endtxn", {26}, "delay", None),
    ("delay-first-endtxn", {26}, "delay", 1),
    ("drop-produce", {0}, "drop", None),
    ("duplicate-add-partitions-to-txn+txn-offset-commit", {24, 28}, "duplicate", None),
    ("delay-api26", {26}, "delay", None),
    ("strand-first-endtxn", {26}, "strand", 1),
])
def test_a_name_says_the_mode_and_the_requests(name: str, keys: set[int], mode: str, limit: int | None) -> None:
    [nemesis] = registry.parse(name)
    assert isinstance(nemesis, RequestHold) and isinstance(nemesis, EffectOnStop)
    assert (nemesis.name, set(nemesis.api_keys), nemesis.mode, nemesis.limit) == (name, keys, mode, limit)
    assert nemesis.requires.request_proxy


def test_an_unknown_request_is_a_user_error_naming_the_known_ones() -> None:
    with pytest.raises(HarnessError, match="unknown request 'endtxnn'") as raised:
        registry.parse("delay-endtxnn")
    assert "endtxn" in (raised.value.hint or "")


def test_harness_nemeses_lists_the_request_families() -> None:
    patterns = [name for name, _ in registry.describe()]
    assert {"delay-<request>", "delay-first-<request>", "strand-first-<request>", "drop-<request>",
            "duplicate-<request>"} <= set(patterns)


@pytest.fixture
def dc1_proxy() -> Iterator[tuple[RequestProxy, FakeBroker]]:
    """The proxy in front of a fake broker named as the default topology's dc1-broker1, which the nemesis hits."""
    broker = FakeBroker()
    proxy = RequestProxy("127.0.0.1", {"dc1-broker1": ("127.0.0.1", broker.port)})
    proxy.start()
    yield proxy, broker
    proxy.stop()
    broker.close()


def _ctx(proxy: RequestProxy | None) -> NemesisContext:
    return NemesisContext(default_topology(), {}, {}, random.Random(3), requests=proxy)


def _nemesis_events(path):
    return [e for e in map(orjson.loads, path.read_bytes().splitlines()) if e["process"] == "nemesis"]


def test_a_hold_is_recorded_with_what_it_held_and_heal_all_releases_it(tmp_path, dc1_proxy) -> None:
    proxy, broker = dc1_proxy
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([], _ctx(proxy), history, 99)
        assert schedule.inject(registry.parse("delay-endtxn")[0]) == 0
        with socket.create_connection(("127.0.0.1", proxy.ports["dc1-broker1"]), timeout=5) as sock:
            sock.sendall(request_bytes(END_TXN, 3, 1) + request_bytes(PRODUCE, 9, 2))
            wait_until(lambda: proxy.holding() == 1, 5, "the EndTxn held")
            assert broker.keys() == []
            schedule.final_heal()  # stops the active fault: the held EndTxn and the Produce behind it go
            assert _responses(sock, 2) == [1, 2]
    assert schedule.injected == 1
    stop = next(e for e in _nemesis_events(tmp_path / "h.jsonl")
                if e["f"] == "stop-delay-endtxn" and e["type"] == "info")
    assert stop["value"]["held"] == {"26": 1} and stop["value"]["effective"] is True
    assert stop["value"]["api_keys"] == [26] and stop["value"]["targets"] == ["dc1-broker1"]
    assert proxy.active() == []


def test_a_hold_that_met_no_such_request_is_not_an_injected_fault(tmp_path, dc1_proxy) -> None:
    proxy, _ = dc1_proxy
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([], _ctx(proxy), history, 99)
        schedule.inject(registry.parse("delay-endtxn")[0])
        with socket.create_connection(("127.0.0.1", proxy.ports["dc1-broker1"]), timeout=5) as sock:
            sock.sendall(request_bytes(PRODUCE, 9, 1))
            assert _responses(sock, 1) == [1]
        schedule.final_heal()
    assert schedule.injected == 0
    stop = [e for e in _nemesis_events(tmp_path / "h.jsonl") if e["f"] == "stop-delay-endtxn"][-1]
    assert stop["value"]["held_total"] == 0 and stop["value"]["effective"] is False


def test_without_a_proxy_in_the_path_the_fault_fails_with_one_line_and_counts_nothing(tmp_path) -> None:
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([], _ctx(None), history, 99)
        assert schedule.inject(registry.parse("delay-first-endtxn")[0]) is None
        schedule.final_heal()
    assert schedule.injected == 0
    [error] = schedule.errors
    assert error.startswith("start-delay-first-endtxn: delay-first-endtxn: no request proxy between the clients "
                            "and the brokers in this run")

"""The request proxy on hand-built Kafka request byte streams, with a fake broker on loopback that records every
request it gets (on which connection) and answers each with its correlation id."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from core.waiting import wait_until
from infra.request_proxy import FrameReader, RequestProxy, request_bytes

PRODUCE, ADD_PARTITIONS, END_TXN, METADATA = 0, 24, 26, 3


class FakeBroker:
    """Accepts connections; records (connection number, api key, correlation id) per request, answers each."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[tuple[int, int, int]] = []
        self.connections = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.server.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        reader = FrameReader()
        with sock:
            while data := _recv(sock):
                for frame in reader.feed(data):
                    with self._lock:
                        self.received.append((number, frame.api_key, frame.correlation_id))
                    try:
                        sock.sendall(struct.pack(">ii", 4, frame.correlation_id))
                    except OSError:
                        return

    def keys(self) -> list[int]:
        with self._lock:
            return [key for _, key, _ in self.received]

    def close(self) -> None:
        self.server.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


@pytest.fixture
def broker() -> Iterator[FakeBroker]:
    fake = FakeBroker()
    yield fake
    fake.close()


@pytest.fixture
def proxy(broker: FakeBroker) -> Iterator[RequestProxy]:
    p = RequestProxy("127.0.0.1", {"b1": ("127.0.0.1", broker.port)})
    p.start()
    yield p
    p.stop()


def _client(proxy: RequestProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.ports["b1"]), timeout=5)
    return sock


def _responses(sock: socket.socket, n: int) -> list[int]:
    """Correlation ids of the next n responses."""
    data = b""
    while len(data) < 8 * n:
        chunk = sock.recv(65536)
        assert chunk, "the proxy closed the connection"
        data += chunk
    return [struct.unpack_from(">ii", data, 8 * i)[1] for i in range(n)]


def _wait_received(broker: FakeBroker, n: int) -> None:
    wait_until(lambda: len(broker.received) >= n, 5, f"{n} requests at the broker")


# ---- framing ---------------------------------------------------------------------------------------------------

def test_a_request_split_across_reads_is_one_frame_once_whole() -> None:
    raw = request_bytes(END_TXN, 3, 7, b"body")
    reader = FrameReader()
    assert reader.feed(raw[:3]) == []
    assert reader.feed(raw[3:9]) == []
    assert reader.pending == 9
    [frame] = reader.feed(raw[9:])
    assert (frame.api_key, frame.api_version, frame.correlation_id, frame.raw) == (END_TXN, 3, 7, raw)
    assert reader.pending == 0


def test_several_requests_in_one_read_come_out_in_order() -> None:
    stream = b"".join(request_bytes(key, 1, cid) for cid, key in enumerate((PRODUCE, END_TXN, METADATA)))
    frames = FrameReader().feed(stream + request_bytes(PRODUCE, 9, 3)[:5])
    assert [(f.api_key, f.correlation_id) for f in frames] == [(PRODUCE, 0), (END_TXN, 1), (METADATA, 2)]


def test_a_stream_that_is_not_kafka_is_refused() -> None:
    with pytest.raises(ValueError, match="frame size"):
        FrameReader().feed(b"GET / HTTP/1.1\r\n\r\n")


# ---- holding by api key ----------------------------------------------------------------------------------------

def test_unheld_requests_pass_and_answers_come_back(proxy: RequestProxy, broker: FakeBroker) -> None:
    with _client(proxy) as sock:
        sock.sendall(request_bytes(METADATA, 1, 1) + request_bytes(PRODUCE, 3, 2))
        assert _responses(sock, 2) == [1, 2]
    assert broker.keys() == [METADATA, PRODUCE]


def test_a_held_request_waits_and_later_requests_on_its_connection_wait_behind_it(
        proxy: RequestProxy, broker: FakeBroker) -> None:
    rule = proxy.hold(frozenset({END_TXN}))
    with _client(proxy) as sock, _client(proxy) as other:
        sock.sendall(request_bytes(PRODUCE, 3, 1) + request_bytes(END_TXN, 3, 2) + request_bytes(METADATA, 1, 3))
        other.sendall(request_bytes(METADATA, 1, 10))
        assert _responses(sock, 1) == [1]
        assert _responses(other, 1) == [10]  # another connection is not held
        time.sleep(0.3)
        assert sorted(broker.keys()) == [PRODUCE, METADATA]  # EndTxn and the Metadata behind it wait
        report = proxy.release(rule)
        assert _responses(sock, 2) == [2, 3]  # released in their order
    assert report["held"] == {str(END_TXN): 1} and report["held_total"] == 1
    assert report["versions"] == {str(END_TXN): [3]}  # EndTxn v3: transactions v1 (v5 would be KIP-890's v2)
    assert report["late_on_fresh_connection"] == 0
    assert [k for n, k, _ in broker.received if n == 1] == [PRODUCE, END_TXN, METADATA]


def test_only_the_first_matching_requests_are_held_with_a_limit(proxy: RequestProxy, broker: FakeBroker) -> None:
    rule = proxy.hold(frozenset({END_TXN}), limit=1)
    with _client(proxy) as first, _client(proxy) as second:
        first.sendall(request_bytes(END_TXN, 3, 1))
        time.sleep(0.2)
        second.sendall(request_bytes(END_TXN, 3, 2))
        assert _responses(second, 1) == [2]  # the retry passes while the first is still held
        report = proxy.release(rule)
        assert _responses(first, 1) == [1]
    assert report["held_total"] == 1


def test_a_request_held_when_its_client_closed_is_delivered_later_on_a_fresh_connection(
        proxy: RequestProxy, broker: FakeBroker) -> None:
    rule = proxy.hold(frozenset({END_TXN}))
    with _client(proxy) as sock:
        sock.sendall(request_bytes(ADD_PARTITIONS, 3, 1) + request_bytes(END_TXN, 3, 2) + request_bytes(PRODUCE, 3, 3))
        assert _responses(sock, 1) == [1]
    time.sleep(0.3)  # the client gave up: its connection is gone, the held bytes are not
    assert broker.keys() == [ADD_PARTITIONS]
    with _client(proxy) as sock:  # the client's next transaction, on a new connection
        sock.sendall(request_bytes(ADD_PARTITIONS, 3, 4))
        assert _responses(sock, 1) == [4]
    report = proxy.release(rule)
    _wait_received(broker, 4)
    assert broker.keys() == [ADD_PARTITIONS, ADD_PARTITIONS, END_TXN, PRODUCE]  # late, after the next one began
    late_connection = broker.received[2][0]
    assert late_connection not in (1, 2) and broker.received[3][0] == late_connection
    assert report["late_on_fresh_connection"] == 1


def test_drop_discards_the_held_requests_and_lets_the_rest_go(proxy: RequestProxy, broker: FakeBroker) -> None:
    rule = proxy.hold(frozenset({END_TXN}), mode="drop")
    with _client(proxy) as sock:
        sock.sendall(request_bytes(END_TXN, 3, 1) + request_bytes(METADATA, 1, 2))
        time.sleep(0.2)
        assert proxy.release(rule)["held_total"] == 1
        assert _responses(sock, 1) == [2]
    assert broker.keys() == [METADATA]


def test_duplicate_passes_the_request_and_delivers_a_copy_late(proxy: RequestProxy, broker: FakeBroker) -> None:
    rule = proxy.hold(frozenset({END_TXN}), mode="duplicate")
    with _client(proxy) as sock:
        sock.sendall(request_bytes(END_TXN, 3, 1))
        assert _responses(sock, 1) == [1]
        sock.sendall(request_bytes(PRODUCE, 3, 2))
        assert _responses(sock, 1) == [2]
        report = proxy.release(rule)
    _wait_received(broker, 3)
    assert broker.keys() == [END_TXN, PRODUCE, END_TXN]
    assert broker.received[2][0] != broker.received[0][0]
    assert report["late_on_fresh_connection"] == 1


def test_release_all_and_stop_let_everything_held_go(proxy: RequestProxy, broker: FakeBroker) -> None:
    proxy.hold(frozenset({END_TXN}))
    proxy.hold(frozenset({PRODUCE}))
    with _client(proxy) as sock:
        sock.sendall(request_bytes(PRODUCE, 3, 1))
        with _client(proxy) as other:
            other.sendall(request_bytes(END_TXN, 3, 2))
            time.sleep(0.2)
            assert broker.keys() == []
            reports = proxy.release_all()
            assert _responses(sock, 1) == [1] and _responses(other, 1) == [2]
    assert [r["held_total"] for r in reports] == [1, 1] and proxy.active() == []


def test_a_rule_holds_nothing_it_did_not_see(proxy: RequestProxy, broker: FakeBroker) -> None:
    rule = proxy.hold(frozenset({END_TXN}))
    with _client(proxy) as sock:
        sock.sendall(request_bytes(PRODUCE, 3, 1))
        assert _responses(sock, 1) == [1]
    assert proxy.release(rule)["held_total"] == 0


def test_stop_delivers_what_a_closed_client_left_held(broker: FakeBroker) -> None:
    p = RequestProxy("127.0.0.1", {"b1": ("127.0.0.1", broker.port)})
    p.start()
    p.hold(frozenset({END_TXN}))
    with socket.create_connection(("127.0.0.1", p.ports["b1"]), timeout=5) as sock:
        sock.sendall(request_bytes(END_TXN, 3, 1))
        time.sleep(0.2)
    p.stop()
    _wait_received(broker, 1)
    assert broker.keys() == [END_TXN]


def test_strand_cuts_the_clients_connection_and_delivers_the_request_at_release(
        proxy: RequestProxy, broker: FakeBroker) -> None:
    rule = proxy.hold(frozenset({END_TXN}), mode="strand", limit=1)
    with _client(proxy) as sock:
        sock.sendall(request_bytes(END_TXN, 3, 1))
        assert sock.recv(100) == b""  # the proxy cut the connection with the request unanswered
    with _client(proxy) as retry:
        retry.sendall(request_bytes(END_TXN, 3, 2))
        assert _responses(retry, 1) == [2]  # the retry passes: the limit is spent
    report = proxy.release(rule)
    _wait_received(broker, 2)
    assert [cid for _, _, cid in broker.received] == [2, 1]  # the stranded original lands after the retry
    assert report["late_on_fresh_connection"] == 1

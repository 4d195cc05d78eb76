"""A Kafka-protocol-aware TCP proxy between the clients and each broker, so a nemesis can hold back chosen
requests (by API key) and let them go later: the request-level faults (nemesis/requests.py).

It reads only the request framing and the first fields of the header (int32 size, int16 api_key, int16
api_version, int32 correlation_id); every byte is forwarded unchanged, responses are copied back untouched.

The semantics the bug class needs (KAFKA-17754: a late EndTxn lands in the producer's next transaction):
- A held request keeps its connection's order: later requests on that connection wait behind it, as they would
  behind a stalled TCP segment.
- A client that gives up and closes the connection while a request is held does not take the request back: at
  release the held bytes (and whatever queued behind them) go to the broker on a fresh connection, and the
  broker's responses are read and discarded. That is how a stale request arrives after the client moved on.
- `drop` discards the held requests instead; `duplicate` lets the request through at once and delivers a copy on
  a fresh connection at release; `strand` holds it and cuts the client's connection at once, so the client sees
  its request unanswered on a dead connection and retries on a new one, while the original waits for release.

It runs on an asyncio loop in a thread of the harness process; every public method is called from other threads.
"""

from __future__ import annotations

import asyncio
import collections
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

HEADER = struct.Struct(">ihhi")  # size, api_key, api_version, correlation_id
MAX_FRAME = 100 * 1024 * 1024  # Kafka's own socket.request.max.bytes is 100 MiB
MODES = ("delay", "drop", "duplicate", "strand")
STRAND_AFTER = 0.1  # seconds from holding a request to cutting its client's connection, in strand mode
LATE_READ_TIMEOUT = 5.0  # seconds a fresh upstream connection waits for the broker's answers before it closes


@dataclass(frozen=True)
class Frame:
    """One whole request as the client sent it: its raw bytes and the header fields we route on."""

    raw: bytes
    api_key: int
    api_version: int
    correlation_id: int


class FrameReader:
    """Cuts a client's byte stream into whole requests, however the reads split or join them."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 4:
            (size,) = struct.unpack_from(">i", self._buffer)
            if size < 8 or size > MAX_FRAME:
                raise ValueError(f"not a Kafka request: frame size {size}")
            if len(self._buffer) < 4 + size:
                break
            raw = bytes(self._buffer[:4 + size])
            del self._buffer[:4 + size]
            _, api_key, api_version, correlation_id = HEADER.unpack_from(raw)
            frames.append(Frame(raw, api_key, api_version, correlation_id))
        return frames

    @property
    def pending(self) -> int:
        """Bytes of a request not yet complete."""
        return len(self._buffer)


def request_bytes(api_key: int, api_version: int, correlation_id: int, body: bytes = b"",
                  client_id: str = "c") -> bytes:
    """A request frame (header v1: the client id as an int16-length string), for tests and probes."""
    cid = client_id.encode()
    payload = struct.pack(">hhih", api_key, api_version, correlation_id, len(cid)) + cid + body
    return struct.pack(">i", len(payload)) + payload


@dataclass
class Hold:
    """One active rule: requests of these API keys are held from now until release."""

    rule: int
    api_keys: frozenset[int]
    mode: str = "delay"
    limit: int | None = None  # hold at most this many requests (the first ones); None: every match
    held: collections.Counter[int] = field(default_factory=collections.Counter)  # api key -> requests held
    versions: set[tuple[int, int]] = field(default_factory=set)  # (api key, api version) held: EndTxn v5+ is TV2
    late: int = 0  # requests delivered on a fresh connection because their client had gone
    released: bool = False

    def matches(self, frame: Frame) -> bool:
        return (not self.released and frame.api_key in self.api_keys
                and (self.limit is None or sum(self.held.values()) < self.limit))

    def report(self) -> dict[str, object]:
        return {"api_keys": sorted(self.api_keys), "mode": self.mode, "limit": self.limit,
                "held": {str(k): n for k, n in sorted(self.held.items())}, "held_total": sum(self.held.values()),
                "versions": {str(k): sorted(v for key, v in self.versions if key == k) for k in sorted(self.held)},
                "late_on_fresh_connection": self.late}


@dataclass
class _Queued:
    frame: Frame
    hold: Hold | None  # the rule that holds it; None: it only waits behind a held one


class _Connection:
    """One client connection and its upstream connection to the broker."""

    def __init__(self, broker: str, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.broker = broker
        self.client = client
        self.upstream = upstream
        self.queue: collections.deque[_Queued] = collections.deque()
        self.closed = False


class RequestProxy:
    """One listener per broker on `listen_host`; each forwards to that broker's (host, port)."""

    def __init__(self, listen_host: str, upstreams: Mapping[str, tuple[str, int]]) -> None:
        self.listen_host = listen_host
        self.upstreams = dict(upstreams)
        self.ports: dict[str, int] = {}
        self.forwarded: collections.Counter[int] = collections.Counter()  # api key -> requests passed on
        self._holds: dict[int, Hold] = {}
        self._next_rule = 0
        self._connections: set[_Connection] = set()
        self._orphans: list[tuple[str, collections.deque[_Queued]]] = []  # held for clients that closed
        self._late_tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []

    # ---- lifecycle (any thread) --------------------------------------------------------------------------

    def start(self) -> dict[str, int]:
        """Bind every listener (an ephemeral port each) and serve; the ports by broker name."""
        self._thread = threading.Thread(target=self._loop.run_forever, name="request-proxy", daemon=True)
        self._thread.start()
        try:
            self._call(self._bind())
        except BaseException:
            self.stop()
            raise
        return dict(self.ports)

    def address(self, broker: str) -> str:
        return f"{self.listen_host}:{self.ports[broker]}"

    def stop(self) -> None:
        """Release everything held (late rather than lost), close every connection and the listeners."""
        if self._thread is None or not self._loop.is_running():
            return
        try:
            self._call(self._shutdown(), timeout=LATE_READ_TIMEOUT + 10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    # ---- the nemesis's interface (any thread) ------------------------------------------------------------

    def hold(self, api_keys: frozenset[int], mode: str = "delay", limit: int | None = None) -> int:
        """Start holding requests of `api_keys`; the rule's id, for `release`."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")

        async def add() -> int:
            self._next_rule += 1
            self._holds[self._next_rule] = Hold(self._next_rule, frozenset(api_keys), mode, limit)
            return self._next_rule

        return self._call(add())

    def release(self, rule: int) -> dict[str, object]:
        """Stop the rule and let what it held go on (or drop it); what it held, as recorded in the history."""
        return self._call(self._release(rule))

    def release_all(self) -> list[dict[str, object]]:
        return self._call(self._release_all())

    def active(self) -> list[int]:
        return sorted(self._holds)

    def holding(self) -> int:
        """Requests the active rules have held so far."""
        return sum(sum(h.held.values()) for h in list(self._holds.values()))

    # ---- the loop ----------------------------------------------------------------------------------------

    def _call(self, coroutine: object, timeout: float = 30.0):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)  # type: ignore[arg-type]

    async def _bind(self) -> None:
        for broker in self.upstreams:
            server = await asyncio.start_server(
                lambda r, w, b=broker: self._serve(b, r, w), self.listen_host, 0)
            self._servers.append(server)
            self.ports[broker] = server.sockets[0].getsockname()[1]

    async def _serve(self, broker: str, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        host, port = self.upstreams[broker]
        try:
            upstream_r, upstream_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()  # the broker is down: the client sees a refused connection, as without us
            return
        conn = _Connection(broker, client_w, upstream_w)
        self._connections.add(conn)
        back = asyncio.ensure_future(self._pipe(upstream_r, client_w))
        try:
            reader = FrameReader()
            while data := await client_r.read(65536):
                for frame in reader.feed(data):
                    self._on_request(conn, frame)
                await upstream_w.drain()
        except (OSError, ValueError):
            pass
        finally:
            conn.closed = True
            self._connections.discard(conn)
            if conn.queue:  # the client gave up while a request was held: it is delivered later anyway
                self._orphans.append((broker, conn.queue))
            back.cancel()
            for writer in (upstream_w, client_w):
                writer.close()

    def _on_request(self, conn: _Connection, frame: Frame) -> None:
        if conn.queue:
            conn.queue.append(_Queued(frame, None))  # order: it waits behind the held one
            return
        hold = next((h for h in self._holds.values() if h.matches(frame)), None)
        if hold is None:
            self._forward(conn.upstream, frame)
            return
        hold.held[frame.api_key] += 1
        hold.versions.add((frame.api_key, frame.api_version))
        if hold.mode == "strand":
            self._loop.call_later(STRAND_AFTER, conn.client.close)
        if hold.mode == "duplicate":
            self._forward(conn.upstream, frame)
            self._orphans.append((conn.broker, collections.deque([_Queued(frame, hold)])))
        else:
            conn.queue.append(_Queued(frame, hold))

    def _forward(self, writer: asyncio.StreamWriter, frame: Frame) -> None:
        self.forwarded[frame.api_key] += 1
        writer.write(frame.raw)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _ready(self, queue: collections.deque[_Queued]) -> list[Frame]:
        """Pop what may go now: everything up to the next request a still-active rule holds; drops dropped."""
        out = []
        while queue and (queue[0].hold is None or queue[0].hold.released):
            item = queue.popleft()
            if item.hold is not None and item.hold.mode == "drop":
                continue
            out.append(item.frame)
        return out

    async def _release(self, rule: int) -> dict[str, object]:
        hold = self._holds.pop(rule, None)
        if hold is None:
            return {}
        hold.released = True
        for conn in list(self._connections):
            for frame in self._ready(conn.queue):
                self._forward(conn.upstream, frame)
        still: list[tuple[str, collections.deque[_Queued]]] = []
        for broker, queue in self._orphans:
            before = list(queue)
            frames = self._ready(queue)
            for item in before[:len(before) - len(queue)]:
                if item.hold is not None and item.hold.mode != "drop":
                    item.hold.late += 1
            if frames:
                task = asyncio.ensure_future(self._deliver_late(broker, frames))
                self._late_tasks.add(task)
                task.add_done_callback(self._late_tasks.discard)
            if queue:
                still.append((broker, queue))
        self._orphans = still
        return hold.report()

    async def _release_all(self) -> list[dict[str, object]]:
        return [await self._release(rule) for rule in sorted(self._holds)]

    async def _deliver_late(self, broker: str, frames: list[Frame]) -> None:
        """A fresh connection to the broker, the frames in their order, the answers read and thrown away."""
        host, port = self.upstreams[broker]
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            return  # the broker is down: lost, as the original connection's bytes would be
        try:
            for frame in frames:
                self._forward(writer, frame)
            await writer.drain()
            expected = sum(1 for f in frames if not _no_response(f))
            async with asyncio.timeout(LATE_READ_TIMEOUT):
                for _ in range(expected):
                    (size,) = struct.unpack(">i", await reader.readexactly(4))
                    await reader.readexactly(size)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _shutdown(self) -> None:
        await self._release_all()
        for task in list(self._late_tasks):
            try:
                await task
            except Exception:  # noqa: BLE001 - a late delivery that failed is lost, as on a real network
                pass
        for server in self._servers:
            server.close()
        for conn in list(self._connections):
            conn.client.close()
            conn.upstream.close()


def _no_response(frame: Frame) -> bool:
    """A Produce with acks=0 gets no response; reading for one would only wait out the timeout."""
    if frame.api_key != 0:
        return False
    # Produce v3+: transactional_id (nullable string) before acks; v0-2: acks first. Header v1 client id first.
    raw = frame.raw
    try:
        at = 4 + 8
        (cid,) = struct.unpack_from(">h", raw, at)
        at += 2 + max(cid, 0)
        if frame.api_version >= 9:
            return False  # flexible versions (tagged fields, compact strings): acks=0 is not used by our clients
        if frame.api_version >= 3:
            (tid,) = struct.unpack_from(">h", raw, at)
            at += 2 + max(tid, 0)
        (acks,) = struct.unpack_from(">h", raw, at)
        return acks == 0
    except struct.error:
        return False

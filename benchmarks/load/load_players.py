"""One client process of the load test: an asyncio loop playing its share of the rooms.

A room lives wholly in one process, so every batch a player sends and every copy its peers get
are timed on the same clock and matched in memory, with nothing added to the payload:

- `peer_points`: a server relays one sender's batches to one receiver in order (one TCP
  stream each way, one event loop), so the k-th `peer_points` from user U at receiver R is U's
  k-th batch. Each match is checked, not assumed: the relayed `bin` must equal the bytes sent,
  byte for byte, and `stroke` the sender's stroke id; anything else counts as a mismatch, and
  a copy beyond the batches sent counts as a duplicate.
- `feedback`: the server sends exactly one per applied batch (it is also the batch's ack), so
  feedback is matched to the oldest batch still waiting for one (its `stroke` is checked too).
- A `batch` frame (several messages the server had queued for this connection) is unpacked
  and each message handled as if it came alone; `frames` counts the frames themselves.

Latency is `time.monotonic()` when the frame is read minus the same clock just before `send`.
Frames are decoded with `msgpack` directly, not the strict codec: the bots share two cores with
the server, and the codec's checks would only make them slower.

Transport: with `compression=None` (run.py's `--compression none`) each connection is a
`wire.WireClient`, a bare `asyncio.Protocol` whose `data_received` parses the frames and calls
`on_frame` synchronously, with the time read once per read; sends are a synchronous
`transport.write`. That is several times cheaper per message than `websockets`. With
`compression="deflate"` the bots use `websockets` as before (one reader task per connection
calling the same `on_frame`), because `wire` speaks no extensions.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import msgpack  # type: ignore[import-untyped]
import numpy as np
import wire
from load_strokes import load_shapes, stroke_rows
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from wire import WireClient

from lessons import load_catalog
from server.codec import encode
from server.protocol import (
    CreateRoom,
    DeviceInfo,
    EndRoom,
    Hello,
    JoinRoom,
    Message,
    Points,
    Retry,
    StartRoom,
    StrokeBegin,
    StrokeEnd,
    pack_points,
)

STYLUS: Final = DeviceInfo("stylus", True, True, "load bot")
STROKES_PER_RETRY: Final = 20  # well under the step's 200 strokes: `retry` starts it over
SETUP_TIMEOUT_S: Final = 60.0
DRAIN_TIMEOUT_S: Final = 15.0
_HOT: Final = frozenset({"peer_points", "feedback", "ack"})
_CLOSED: Final = (ConnectionClosed, ConnectionError)  # websockets' and wire's


@dataclass(frozen=True)
class Plan:
    index: int
    ws_url: str
    rooms: list[list[str]]  # each room's tokens; the first one hosts
    lesson: str
    seconds: float
    batches_per_s: float
    points_per_batch: int
    answers: bool  # the real server acks and sends feedback; the bare relay does neither
    compression: str | None
    seed: int


@dataclass
class Sent:
    at: float
    data: bytes
    stroke: int


@dataclass
class Player:
    token: str
    ws: ClientConnection | None = None  # compression="deflate": websockets
    wire: WireClient | None = None  # compression=None: the bare protocol
    user: int = 0
    seq: int = 0
    stroke: int = -1
    sent: list[Sent] = field(default_factory=list)
    next_feedback: int = 0
    acked: int = 0
    closing: bool = False
    setup: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    from_peer: dict[int, int] = field(default_factory=dict)  # sender's user -> next index


@dataclass
class Tally:
    peer_ms: list[float] = field(default_factory=list)
    feedback_ms: list[float] = field(default_factory=list)
    received: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    mismatched: int = 0
    duplicates: int = 0
    unexpected_closes: int = 0
    late_ticks: int = 0
    frames: int = 0  # WebSocket frames received (a batch frame holds several messages)


class Bots:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tally = Tally()
        self.rooms = [[Player(token) for token in tokens] for tokens in plan.rooms]
        self.by_user: dict[int, Player] = {}
        self.readers: list[asyncio.Task[None]] = []

    @property
    def players(self) -> list[Player]:
        return [p for room in self.rooms for p in room]

    async def send(self, player: Player, message: Message) -> None:
        await self.send_frame(player, encode(message))

    async def send_frame(self, player: Player, frame: bytes) -> None:
        if player.wire is not None:
            player.wire.send(frame)
        else:
            assert player.ws is not None
            await player.ws.send(frame)

    async def sequenced(self, player: Player, make: type[Message]) -> None:
        player.seq += 1
        await self.send(player, make(player.seq))  # type: ignore[call-arg]

    async def expect(self, player: Player, kind: str) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(player.setup.get(), SETUP_TIMEOUT_S)
            if message["type"] == "error":
                raise RuntimeError(f"setup: error {message.get('code')}: {message.get('message')}")
            if message["type"] == kind:
                return message

    # -- receiving ---------------------------------------------------------------------------

    def on_frame(self, player: Player, frame: bytes, now: float) -> None:
        """One frame from the server, read at `now`: handled inline (no task, no queue), except
        the messages the set-up awaits, which go to the player's queue."""
        tally = self.tally
        value = msgpack.unpackb(frame, raw=False)
        tally.frames += 1
        messages = value["messages"] if value["type"] == "batch" else (value,)
        for message in messages:
            kind = message["type"]
            tally.received[kind] += 1
            if kind == "peer_points":
                self.on_peer_points(player, message, now)
            elif kind == "feedback":  # also the batch's ack
                self.on_feedback(player, message, now)
                player.acked = max(player.acked, message["seq"])
            elif kind == "ack":
                player.acked = max(player.acked, message["seq"])
            elif kind == "error":
                tally.errors[str(message.get("code"))] += 1
                player.setup.put_nowait(message)
            elif kind not in _HOT:
                player.setup.put_nowait(message)

    def on_close(self, player: Player) -> None:
        if not player.closing:
            self.tally.unexpected_closes += 1

    async def read(self, player: Player) -> None:
        """The websockets path's reader task (compression="deflate")."""
        assert player.ws is not None
        with contextlib.suppress(ConnectionClosed):
            async for frame in player.ws:
                self.on_frame(player, frame, time.monotonic())  # type: ignore[arg-type]
        self.on_close(player)

    def on_peer_points(self, player: Player, message: dict[str, Any], now: float) -> None:
        sender = self.by_user.get(message["user"])
        if sender is None:
            self.tally.mismatched += 1
            return
        k = player.from_peer.get(sender.user, 0)
        player.from_peer[sender.user] = k + 1
        if k >= len(sender.sent):
            self.tally.duplicates += 1
            return
        batch = sender.sent[k]
        if batch.data != message["bin"] or batch.stroke != message["stroke"]:
            self.tally.mismatched += 1
            return
        self.tally.peer_ms.append((now - batch.at) * 1000.0)

    def on_feedback(self, player: Player, message: dict[str, Any], now: float) -> None:
        k = player.next_feedback
        player.next_feedback = k + 1
        if k >= len(player.sent):
            self.tally.duplicates += 1
            return
        batch = player.sent[k]
        if batch.stroke != message["stroke"]:
            self.tally.mismatched += 1
            return
        self.tally.feedback_ms.append((now - batch.at) * 1000.0)

    # -- setting up --------------------------------------------------------------------------

    async def hello(self, player: Player) -> None:
        if self.plan.compression is None:
            player.wire = await wire.connect(
                self.plan.ws_url,
                lambda frame, now: self.on_frame(player, frame, now),
                lambda _code: self.on_close(player),
                max_size=2**20,
                open_timeout=30,
            )
        else:
            player.ws = await connect(
                self.plan.ws_url, max_size=2**20, compression=self.plan.compression, open_timeout=30
            )
            self.readers.append(asyncio.create_task(self.read(player)))
        await self.send(player, Hello(player.token, STYLUS))
        player.user = (await self.expect(player, "welcome"))["user"]
        self.by_user[player.user] = player

    async def form(self, room: list[Player]) -> None:
        await asyncio.gather(*(self.hello(p) for p in room))
        host, *guests = room
        await self.send(host, CreateRoom(self.plan.lesson))
        code = (await self.expect(host, "room_joined"))["code"]
        for guest in guests:
            await self.send(guest, JoinRoom(code))
            await self.expect(guest, "room_joined")
        await self.sequenced(host, StartRoom)
        for player in room:
            await self.expect(player, "step_started")

    async def set_up(self) -> None:
        gate = asyncio.Semaphore(8)

        async def one(room: list[Player]) -> None:
            async with gate:
                await self.form(room)

        await asyncio.gather(*(one(room) for room in self.rooms))

    # -- drawing -----------------------------------------------------------------------------

    async def draw(self, player: Player, target: Any, start: float, seed: int) -> None:
        plan = self.plan
        strokes = stroke_rows(SHAPES, target, plan.batches_per_s * plan.points_per_batch, seed)
        period = 1.0 / plan.batches_per_s
        rng = np.random.default_rng(seed)
        tick = start + float(rng.uniform(0.0, period))  # players are not in lockstep
        end = start + plan.seconds
        n = plan.points_per_batch
        rows = next(strokes)
        data = pack_points(rows)  # the stroke's `bin` bytes: a batch's `bin` is a slice
        size = len(data) // len(rows)  # bytes a point
        at = 0
        drawn = 0
        pack = msgpack.Packer(use_bin_type=True).pack
        fast = player.wire
        while tick < end:
            delay = tick - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -period:  # the bot fell behind: no catching up in a burst
                self.tally.late_ticks += 1
                tick = time.monotonic()
            if at == 0:
                await self.sequenced(player, StrokeBegin)
                player.stroke += 1
            player.seq += 1
            # the bytes `encode(Points.of(seq, rows[at : at + n]))` gives, built directly
            bin_ = data[at * size : (at + n) * size]
            frame = pack({"seq": player.seq, "bin": bin_, "type": "points"})
            if at == 0 and drawn == 0:  # checked once a player, off the clock's hot path
                assert frame == encode(Points.of(player.seq, rows[:n])), "points frame differs"
            player.sent.append(Sent(time.monotonic(), bin_, player.stroke))
            if fast is not None:
                fast.send(frame)
            else:
                await self.send_frame(player, frame)
            at += n
            if at >= len(rows):
                await self.sequenced(player, StrokeEnd)
                drawn += 1
                if drawn % STROKES_PER_RETRY == 0:
                    await self.sequenced(player, Retry)
                rows, at = next(strokes), 0
                data = pack_points(rows)
            tick += period
        if at:
            await self.sequenced(player, StrokeEnd)

    def settled(self) -> bool:
        for room in self.rooms:
            for player in room:
                if self.plan.answers and (
                    player.acked < player.seq or player.next_feedback < len(player.sent)
                ):
                    return False
                for peer in room:
                    if peer is not player and player.from_peer.get(peer.user, 0) < len(peer.sent):
                        return False
        return True

    async def drain(self) -> bool:
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.settled():
                return True
            await asyncio.sleep(0.05)
        return self.settled()

    async def close(self) -> None:
        for room in self.rooms:
            host = room[0]
            if self.plan.answers and (host.ws is not None or host.wire is not None):
                with contextlib.suppress(*_CLOSED):
                    await self.sequenced(host, EndRoom)
        await asyncio.sleep(0.2)
        for player in self.players:
            player.closing = True
            if player.ws is not None:
                await player.ws.close()
        closing = [p.wire.close() for p in self.players if p.wire is not None]
        await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 10)
        await asyncio.wait_for(asyncio.gather(*self.readers, return_exceptions=True), 10)

    def summary(self, cpu_s: float, settled: bool) -> dict[str, Any]:
        t = self.tally
        expected_peer = sum(len(p.sent) * (len(room) - 1) for room in self.rooms for p in room)
        received_peer = sum(
            min(n, len(self.by_user[u].sent))
            for room in self.rooms
            for p in room
            for u, n in p.from_peer.items()
            if u in self.by_user
        )
        batches = sum(len(p.sent) for p in self.players)
        return {
            "peer_ms": np.asarray(t.peer_ms, np.float64),
            "feedback_ms": np.asarray(t.feedback_ms, np.float64),
            "received": dict(t.received),
            "errors": dict(t.errors),
            "mismatched": t.mismatched,
            "duplicates": t.duplicates,
            "unexpected_closes": t.unexpected_closes,
            "late_ticks": t.late_ticks,
            "frames": t.frames,
            "batches_sent": batches,
            "peer_expected": expected_peer,
            "peer_received": received_peer,
            "feedback_expected": batches if self.plan.answers else 0,
            "feedback_received": sum(min(p.next_feedback, len(p.sent)) for p in self.players),
            "unacked": sum(max(0, p.seq - p.acked) for p in self.players)
            if self.plan.answers
            else 0,
            "settled": settled,
            "client_cpu_s": cpu_s,
        }


SHAPES: list[Any] = []


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _run(plan: Plan, ready: Any, go: Any, start_at: Any) -> dict[str, Any]:
    shapes, _source = load_shapes(plan.batches_per_s * plan.points_per_batch)
    SHAPES[:] = shapes
    target = load_catalog().lesson(plan.lesson).steps[0].targets[0].astype(np.float64)
    bots = Bots(plan)
    try:
        await bots.set_up()
        ready.put(("ready", plan.index, None))
        if not await asyncio.to_thread(go.wait, SETUP_TIMEOUT_S * 2):
            raise RuntimeError("no start signal")
        start = float(start_at.value)
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu0 = _cpu()
        await asyncio.gather(
            *(
                bots.draw(p, target, start, plan.seed * 10_000 + i)
                for i, p in enumerate(bots.players)
            )
        )
        cpu = _cpu() - cpu0
        settled = await bots.drain()
        return bots.summary(cpu, settled)
    finally:
        with contextlib.suppress(Exception):
            await bots.close()


def work(plan: Plan, ready: Any, go: Any, start_at: Any, results: Any) -> None:
    """A client process's entry point (multiprocessing, spawn)."""
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        loop_factory = None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            summary = runner.run(_run(plan, ready, go, start_at))
        results.put(("done", plan.index, summary))
    except Exception as exc:
        ready.put(("failed", plan.index, repr(exc)))
        results.put(("failed", plan.index, repr(exc)))

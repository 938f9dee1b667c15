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
Frames are decoded with `msgpack` directly (`raw=True`: no UTF-8 decoding), not the strict
codec: the bots share two cores with the server, and the codec's checks would only make them
slower. For the same reason every player's strokes are fitted and packed during set-up (`Pen`).

Transport: with `compression=None` (run.py's `--compression none`) each connection is a
`wire.WireClient`, a bare `asyncio.Protocol` whose `data_received` parses the frames and calls
`on_frame` synchronously, with the time read once per read; sends are a synchronous
`transport.write`, and all the players' ticks run on one loop timer (`draw_on_timer`). That is
several times cheaper per message than `websockets`. With
`compression="deflate"` the bots use `websockets` as before (one reader task per connection
calling the same `on_frame`, one drawing coroutine per player), because `wire` speaks no
extensions.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import msgpack  # type: ignore[import-untyped]
import numpy as np
import wire
from load_strokes import Rows, load_shapes, stroke_rows
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
# messages of the drawing window that are only counted, as unpacked (raw: their type is bytes)
_COUNTED: Final = frozenset(
    {b"peer_stroke_begin", b"peer_stroke_end", b"peer_retry", b"stroke_score"}
)
_CLOSED: Final = (ConnectionClosed, ConnectionError)  # websockets' and wire's
TIMER_SLACK_S: Final = 0.0005  # a tick this close is due now: the loop's timers round to 1 ms


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


@dataclass(slots=True)
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


@dataclass(frozen=True)
class Stroke:
    """A stroke ready to send: its rows and each batch's `bin`, a slice of `pack_points(rows)`
    (the last batch may hold fewer points)."""

    rows: Rows
    bins: tuple[bytes, ...]

    @classmethod
    def of(cls, rows: Rows, n: int) -> Stroke:
        data = pack_points(rows)
        size = len(data) // len(rows)  # bytes a point
        return cls(rows, tuple(data[at * size : (at + n) * size] for at in range(0, len(rows), n)))


@dataclass
class Pen:
    """One player's strokes, made during set-up, and its place in them while it draws.

    The strokes are the ones `stroke_rows(SHAPES, target, rate, seed)` gives, in order, fitted
    and packed in advance: enough for every tick of the drawing window and one more."""

    player: Player
    strokes: list[Stroke]
    phase: float  # the first tick's offset from the start: players are not in lockstep
    drawn: int = 0  # strokes finished
    at: int = 0  # the next batch in strokes[drawn]

    @classmethod
    def of(cls, player: Player, target: Any, plan: Plan, seed: int) -> Pen:
        n = plan.points_per_batch
        supply = stroke_rows(SHAPES, target, plan.batches_per_s * n, seed)
        ticks = math.ceil(plan.seconds * plan.batches_per_s) + 1  # no window holds more
        strokes: list[Stroke] = []
        batches = 0
        while batches < ticks:
            strokes.append(Stroke.of(next(supply), n))
            batches += len(strokes[-1].bins)
        phase = float(np.random.default_rng(seed).uniform(0.0, 1.0 / plan.batches_per_s))
        return cls(player, strokes, phase)

    def advance(self) -> bool:
        """Past the batch just sent; True if it was its stroke's last."""
        self.at += 1
        if self.at < len(self.strokes[self.drawn].bins):
            return False
        self.drawn += 1
        self.at = 0
        return True


@dataclass
class Tally:
    peer_ms: list[float] = field(default_factory=list)
    feedback_ms: list[float] = field(default_factory=list)
    received: dict[bytes, int] = field(default_factory=dict)  # by type, as unpacked
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
        self.pens: list[Pen] = []  # made by `prepare`
        self.pack: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True).pack

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

    def sequenced_now(self, player: Player, make: type[Message]) -> None:
        """`sequenced` on the wire path, synchronously (its timer callback cannot await)."""
        assert player.wire is not None
        player.seq += 1
        player.wire.send(encode(make(player.seq)))  # type: ignore[call-arg]

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
        the messages the set-up awaits, which go to the player's queue.

        The frame is unpacked with `raw=True`: its keys and strings stay bytes, which saves a
        third of the unpacking (no UTF-8 decoding). A message that is neither matched nor only
        counted (the set-up's, errors) is unpacked again as text for the queue."""
        tally = self.tally
        value = msgpack.unpackb(frame, raw=True)
        tally.frames += 1
        batch = value[b"type"] == b"batch"
        messages = value[b"messages"] if batch else (value,)
        received = tally.received
        for i, message in enumerate(messages):
            kind = message[b"type"]
            received[kind] = received.get(kind, 0) + 1
            if kind == b"peer_points":
                self.on_peer_points(player, message, now)
            elif kind == b"feedback":  # also the batch's ack
                self.on_feedback(player, message, now)
                player.acked = max(player.acked, message[b"seq"])
            elif kind == b"ack":
                player.acked = max(player.acked, message[b"seq"])
            elif kind not in _COUNTED:
                text = msgpack.unpackb(frame, raw=False)
                self.on_text(player, text["messages"][i] if batch else text)

    def on_text(self, player: Player, message: dict[str, Any]) -> None:
        """A message for the set-up's queue, with str keys and strings; errors counted by code."""
        if message["type"] == "error":
            self.tally.errors[str(message.get("code"))] += 1
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

    def on_peer_points(self, player: Player, message: dict[bytes, Any], now: float) -> None:
        sender = self.by_user.get(message[b"user"])
        if sender is None:
            self.tally.mismatched += 1
            return
        k = player.from_peer.get(sender.user, 0)
        player.from_peer[sender.user] = k + 1
        if k >= len(sender.sent):
            self.tally.duplicates += 1
            return
        batch = sender.sent[k]
        if batch.data != message[b"bin"] or batch.stroke != message[b"stroke"]:
            self.tally.mismatched += 1
            return
        self.tally.peer_ms.append((now - batch.at) * 1000.0)

    def on_feedback(self, player: Player, message: dict[bytes, Any], now: float) -> None:
        k = player.next_feedback
        player.next_feedback = k + 1
        if k >= len(player.sent):
            self.tally.duplicates += 1
            return
        batch = player.sent[k]
        if batch.stroke != message[b"stroke"]:
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

    def prepare(self, target: Any) -> None:
        """Set-up: every player's strokes, fitted onto `target` and packed now, before the clock
        starts, so the drawing window does no fitting (see `Pen`)."""
        seed = self.plan.seed * 10_000
        self.pens = [Pen.of(p, target, self.plan, seed + i) for i, p in enumerate(self.players)]

    async def draw(self, start: float) -> None:
        """Every player draws from `start` for `plan.seconds`: on one shared timer with `wire`,
        else one coroutine per player."""
        if self.plan.compression is None:
            await self.draw_on_timer(start)
        else:
            await asyncio.gather(*(self.draw_alone(pen, start) for pen in self.pens))

    async def draw_on_timer(self, start: float) -> None:
        """The wire path: one loop timer for the whole process, not an `asyncio.sleep` per player
        a tick. A heap holds each player's next tick (its phase plus whole periods). When the
        timer fires, every batch due by then is sent, each stamped just before its send, and the
        timer is set for the next tick still ahead. "Due" allows `TIMER_SLACK_S`: the loop's
        timers have a 1 ms resolution, as each player's `asyncio.sleep` had. A player more than a
        period behind counts a late tick and goes on from now: no catching up in a burst."""
        loop = asyncio.get_running_loop()
        period = 1.0 / self.plan.batches_per_s
        end = start + self.plan.seconds
        done: asyncio.Future[None] = loop.create_future()
        heap = [(start + pen.phase, i, pen) for i, pen in enumerate(self.pens)]
        heapq.heapify(heap)
        tally = self.tally
        monotonic = time.monotonic

        def fire() -> None:
            if done.done():  # cancelled
                return
            try:
                while heap:
                    tick, i, pen = heap[0]
                    now = monotonic()
                    if tick > now + TIMER_SLACK_S:
                        # not call_at: uvloop's loop.time() is floored to the millisecond, and
                        # a call_at fires 0.5 ms late on average; this one rounds to the nearest
                        loop.call_later(tick - now, fire)
                        return
                    if tick < now - period:
                        tally.late_ticks += 1
                        tick = now
                    self.send_tick(pen)
                    tick += period
                    if tick < end:
                        heapq.heapreplace(heap, (tick, i, pen))
                    else:
                        heapq.heappop(heap)
                        if pen.at:
                            self.sequenced_now(pen.player, StrokeEnd)
                done.set_result(None)
            except Exception as exc:  # a connection gone: the run fails, as a draw task would
                done.set_exception(exc)

        fire()
        await done

    def send_tick(self, pen: Pen) -> None:
        """One tick of the wire path, sent synchronously: `stroke_begin` if a stroke starts, the
        batch, and after a stroke's last batch `stroke_end` (and every 20 strokes `retry`)."""
        player = pen.player
        fast = player.wire
        assert fast is not None
        if pen.at == 0:
            self.sequenced_now(player, StrokeBegin)
            player.stroke += 1
        frame, bin_ = self.points_frame(pen)
        player.sent.append(Sent(time.monotonic(), bin_, player.stroke))
        fast.send(frame)
        if pen.advance():
            self.sequenced_now(player, StrokeEnd)
            if pen.drawn % STROKES_PER_RETRY == 0:
                self.sequenced_now(player, Retry)

    async def draw_alone(self, pen: Pen, start: float) -> None:
        """The websockets path (compression="deflate"): one coroutine per player, one
        `asyncio.sleep` a tick, the same messages as `send_tick`."""
        player = pen.player
        period = 1.0 / self.plan.batches_per_s
        tick = start + pen.phase
        end = start + self.plan.seconds
        while tick < end:
            delay = tick - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -period:  # the bot fell behind: no catching up in a burst
                self.tally.late_ticks += 1
                tick = time.monotonic()
            if pen.at == 0:
                await self.sequenced(player, StrokeBegin)
                player.stroke += 1
            frame, bin_ = self.points_frame(pen)
            player.sent.append(Sent(time.monotonic(), bin_, player.stroke))
            await self.send_frame(player, frame)
            if pen.advance():
                await self.sequenced(player, StrokeEnd)
                if pen.drawn % STROKES_PER_RETRY == 0:
                    await self.sequenced(player, Retry)
            tick += period
        if pen.at:
            await self.sequenced(player, StrokeEnd)

    def points_frame(self, pen: Pen) -> tuple[bytes, bytes]:
        """The next `points` frame (its seq taken) and its `bin`: the bytes
        `encode(Points.of(seq, rows))` gives, packed directly from the precomputed slice."""
        player = pen.player
        player.seq += 1
        stroke = pen.strokes[pen.drawn]
        bin_ = stroke.bins[pen.at]
        frame: bytes = self.pack({"seq": player.seq, "bin": bin_, "type": "points"})
        if pen.at == 0 and pen.drawn == 0:  # checked once a player, off the clock's hot path
            rows = stroke.rows[: self.plan.points_per_batch]
            assert frame == encode(Points.of(player.seq, rows)), "points frame differs"
        return frame, bin_

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
            "received": {kind.decode(): n for kind, n in t.received.items()},
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
    bots.prepare(target)
    try:
        await bots.set_up()
        ready.put(("ready", plan.index, None))
        if not await asyncio.to_thread(go.wait, SETUP_TIMEOUT_S * 2):
            raise RuntimeError("no start signal")
        start = float(start_at.value)
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu0 = _cpu()
        await bots.draw(start)
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

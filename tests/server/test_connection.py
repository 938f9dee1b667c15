"""The connection's outbound side, without a socket: frames waiting together leave as a batch."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

from scoring import Device
from server.codec import decode_frames, encode
from server.connection import BATCH_MAX_BYTES, Connection, FlushClock
from server.protocol import Ack, PeerPoints, Pong
from server.rate_limit import TokenBucket


class FakeSocket:
    """A sink that takes every write at once (or, with `holding`, keeps what it is given
    unsent, as a transport does for a client that stopped reading)."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed_with: int | None = None
        self.aborted_with: int | None = None
        self.holding = False
        self.buffered = 0

    def write_message(self, payload: bytes) -> None:
        self.frames.append(payload)
        if self.holding:
            self.buffered += len(payload)

    def buffered_bytes(self) -> int:
        return self.buffered

    def close(self, code: int) -> None:
        self.closed_with = code

    def abort(self, code: int) -> None:
        self.aborted_with = code


async def settle() -> None:
    """Let the flush scheduled with the loop run."""
    for _ in range(10):
        await asyncio.sleep(0)


def connection(socket: FakeSocket, interval_s: float = 0.0) -> Connection:
    return Connection(
        1, socket, 7, Device(True, True), TokenBucket(10, 10), 1024 * 1024, interval_s
    )


async def test_a_busy_client_gets_one_write_per_interval_an_idle_one_at_once() -> None:
    socket = FakeSocket()
    c = connection(socket, interval_s=0.2)
    c.send(encode(Pong(1)))
    await settle()
    assert len(socket.frames) == 1  # idle until now: at once
    for n in range(2, 6):  # within the interval of that write: they wait ...
        c.send(encode(Pong(n)))
        await settle()
    assert len(socket.frames) == 1
    await asyncio.sleep(0.5)  # ... and leave together when it has passed
    assert len(socket.frames) == 2
    assert decode_frames(socket.frames[1]) == [Pong(n) for n in range(2, 6)]
    await asyncio.sleep(0.5)  # quiet for an interval: the next frame leaves at once
    c.send(encode(Pong(6)))
    await settle()
    assert decode_frames(socket.frames[-1]) == [Pong(6)]
    c.lost()


async def test_a_lone_frame_goes_out_as_it_is() -> None:
    socket = FakeSocket()
    c = connection(socket)
    frame = encode(Pong(3))
    c.send(frame)
    await settle()
    assert socket.frames == [frame]
    assert c.sent == 1 and c.queued_bytes == 0
    c.lost()


async def test_frames_queued_together_leave_as_one_batch_in_order() -> None:
    socket = FakeSocket()
    c = connection(socket)
    messages = [Ack(n) for n in range(1, 41)]
    for m in messages:
        c.send(encode(m))
    await settle()
    assert len(socket.frames) == 1
    assert decode_frames(socket.frames[0]) == messages
    assert c.sent == 40 and c.queued_bytes == 0
    c.close(1000)
    await settle()
    assert socket.closed_with == 1000


async def test_a_batch_never_passes_the_client_frame_limit() -> None:
    socket = FakeSocket()
    c = connection(socket)
    big = PeerPoints(1, 2, 3, bytes(24 * 1000))  # about 24 KB each
    frames = [encode(PeerPoints(n, 2, 3, big.bin)) for n in range(1, 8)]
    for frame in frames:
        c.send(frame)
    await settle()
    assert all(len(f) <= BATCH_MAX_BYTES + 16 for f in socket.frames)
    received: list[Any] = [m for f in socket.frames for m in decode_frames(f)]
    assert [m.rseq for m in received] == list(range(1, 8))
    assert 1 < len(socket.frames) < len(frames)
    c.lost()


async def test_a_backlog_past_the_bound_cuts_the_client_off_as_slow() -> None:
    socket = FakeSocket()
    c = Connection(1, socket, 7, Device(True, True), TokenBucket(10, 10), 4096, 0.0)
    socket.holding = True  # the client reads nothing: the transport keeps what it is given
    for _ in range(2):
        assert c.send(bytes(1500))
        await settle()
    assert socket.buffered == 3000 and socket.aborted_with is None
    assert c.send(bytes(1000))  # queued + unsent: 4000 bytes, within the bound
    assert not c.send(bytes(1000))  # 5000: over it
    assert socket.aborted_with == 4408  # slow_consumer
    assert not c.send(bytes(10))  # and nothing more is queued


async def test_the_bound_counts_what_the_transport_holds_however_it_got_there() -> None:
    socket = FakeSocket()
    c = Connection(1, socket, 7, Device(True, True), TokenBucket(10, 10), 4096, 0.0)
    assert c.send(bytes(1000))
    socket.buffered = 3500  # the transport's own frames (pongs to a ping flood, say), unsent,
    c.pause_writing()  # past its high-water mark
    assert not c.send(bytes(1000))
    assert socket.aborted_with == 4408


async def test_frames_wait_while_the_transport_is_paused_and_leave_as_one_batch() -> None:
    socket = FakeSocket()
    c = connection(socket)
    c.pause_writing()
    for n in range(1, 4):
        c.send(encode(Pong(n)))
    await settle()
    assert socket.frames == []
    c.resume_writing()
    await settle()
    assert [decode_frames(f) for f in socket.frames] == [[Pong(1), Pong(2), Pong(3)]]


async def test_close_waits_for_the_queued_frames_and_lost_ends_the_wait() -> None:
    socket = FakeSocket()
    c = connection(socket)
    c.send(encode(Pong(1)))
    c.close(1001)
    assert not c.send(encode(Pong(2)))  # nothing after a close
    await settle()
    assert decode_frames(socket.frames[0]) == [Pong(1)] and socket.closed_with == 1001
    waiter = asyncio.create_task(c.wait_closed(5.0))
    await settle()
    assert not waiter.done()
    c.lost()
    await asyncio.wait_for(waiter, 1.0)
    assert c.closed


async def test_timed_flushes_due_within_one_tick_share_one_timer_and_none_runs_early() -> None:
    loop = asyncio.get_running_loop()
    clock = FlushClock(loop)
    sockets = [FakeSocket() for _ in range(5)]
    conns = [
        Connection(i, s, 7, Device(), TokenBucket(10, 10), 1 << 20, 0.05, clock)
        for i, s in enumerate(sockets)
    ]
    for c in conns:  # the first write of each goes at once ...
        c.send(encode(Pong(1)))
    await settle()
    assert all(len(s.frames) == 1 for s in sockets)
    written = loop.time()
    for c in conns:  # ... the next ones wait for the interval: all in the same tick or two
        c.send(encode(Pong(2)))
    assert 1 <= clock.waiting <= 2
    conns[4].pause_writing()  # its flush is cancelled while it waits
    await asyncio.sleep(0.03)
    assert all(len(s.frames) == 1 for s in sockets)  # not before the interval
    await asyncio.sleep(0.1)
    assert [len(s.frames) for s in sockets] == [2, 2, 2, 2, 1]
    assert loop.time() - written >= 0.05
    assert clock.waiting == 0


async def test_shutdown_waits_for_every_client_at_once_not_one_after_another(
    monkeypatch: Any,
) -> None:
    """Clients that never answer the close cost the shutdown one wait, not one wait each."""
    from server import hub as hub_module

    monkeypatch.setattr(hub_module, "SHUTDOWN_CLOSE_S", 0.01)
    hub = hub_module.Hub(cast(Any, None), cast(Any, None), cast(Any, None))
    sockets = [FakeSocket() for _ in range(5)]
    waiting = [0, 0]  # now, most at once

    for i, socket in enumerate(sockets):
        c = connection(socket)
        real_wait = c.wait_closed

        async def wait_closed(timeout: float, real: Any = real_wait) -> None:
            waiting[0] += 1
            waiting[1] = max(waiting)
            await real(timeout)
            waiting[0] -= 1

        c.wait_closed = wait_closed  # type: ignore[method-assign]
        hub.users[i] = hub_module.UserState(i, uuid.uuid4(), f"p{i}", "player", "t", c)
    await hub.shutdown()
    await settle()
    assert waiting == [0, 5]
    assert all(s.closed_with == 1001 for s in sockets)
    notices = [decode_frames(s.frames[0])[0].TYPE for s in sockets]
    assert notices == ["going_away"] * 5

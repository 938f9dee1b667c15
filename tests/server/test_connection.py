"""The connection's outbound side, without a socket: frames waiting together leave as a batch."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from starlette.websockets import WebSocket

from scoring import Device
from server.codec import decode_frames, encode
from server.connection import BATCH_MAX_BYTES, Connection
from server.protocol import Ack, PeerPoints, Pong
from server.rate_limit import TokenBucket


class FakeSocket:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed_with: int | None = None

    async def send_bytes(self, data: bytes) -> None:
        self.frames.append(data)

    async def close(self, code: int = 1000) -> None:
        self.closed_with = code


async def settle() -> None:
    """Let the drain task run to the end of what is queued."""
    for _ in range(10):
        await asyncio.sleep(0)


def connection(socket: FakeSocket, interval_s: float = 0.0) -> Connection:
    ws = cast(WebSocket, socket)
    return Connection(1, ws, 7, Device(True, True), TokenBucket(10, 10), 1024 * 1024, interval_s)


async def test_a_busy_client_gets_one_write_per_interval_an_idle_one_at_once() -> None:
    socket = FakeSocket()
    c = connection(socket, interval_s=0.2)
    c.start()
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
    c.cancel()


async def test_a_lone_frame_goes_out_as_it_is() -> None:
    socket = FakeSocket()
    c = connection(socket)
    c.start()
    frame = encode(Pong(3))
    c.send(frame)
    await settle()
    assert socket.frames == [frame]
    assert c.sent == 1 and c.queued_bytes == 0
    c.cancel()


async def test_frames_queued_together_leave_as_one_batch_in_order() -> None:
    socket = FakeSocket()
    c = connection(socket)
    c.start()
    messages = [Ack(n) for n in range(1, 41)]
    for m in messages:
        c.send(encode(m))
    await settle()
    assert len(socket.frames) == 1
    assert decode_frames(socket.frames[0]) == messages
    assert c.sent == 40 and c.queued_bytes == 0
    c.close(1000)
    await c.wait_closed(1.0)
    assert socket.closed_with == 1000


async def test_a_batch_never_passes_the_client_frame_limit() -> None:
    socket = FakeSocket()
    c = connection(socket)
    c.start()
    big = PeerPoints(1, 2, 3, bytes(24 * 1000))  # about 24 KB each
    frames = [encode(PeerPoints(n, 2, 3, big.bin)) for n in range(1, 8)]
    for frame in frames:
        c.send(frame)
    await settle()
    assert all(len(f) <= BATCH_MAX_BYTES + 16 for f in socket.frames)
    received: list[Any] = [m for f in socket.frames for m in decode_frames(f)]
    assert [m.rseq for m in received] == list(range(1, 8))
    assert 1 < len(socket.frames) < len(frames)
    c.cancel()

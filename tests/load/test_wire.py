"""benchmarks/load/wire.py, the load bots' WebSocket client, against a real `websockets` server."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve

# the load test's modules are not a package (pytest puts only tests/ on the path)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "load"))
import wire  # type: ignore[import-not-found]

TIMEOUT_S = 10.0


async def _handler(ws: ServerConnection) -> None:
    """Echo binary messages; a few commands make the server fragment, ping or close."""
    async for message in ws:
        assert isinstance(message, bytes)
        if message == b"fragments":
            await ws.send([b"ab", b"", b"cd" * 40_000, b"ef"])  # an iterable: one frame each
        elif message == b"ping":
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, TIMEOUT_S)
            await ws.send(b"pong seen")
        elif message == b"close":
            await ws.close(4001, "bye")
        else:
            await ws.send(message)


class Inbox:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[bytes] = asyncio.Queue()
        self.stamps: list[float] = []
        self.codes: list[int] = []

    def on_message(self, payload: bytes, now: float) -> None:
        self.stamps.append(now)
        self.messages.put_nowait(payload)

    def on_close(self, code: int) -> None:
        self.codes.append(code)

    async def next(self) -> bytes:
        return await asyncio.wait_for(self.messages.get(), TIMEOUT_S)


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with serve(_handler, "127.0.0.1", 0, max_size=2**20, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"


async def test_round_trips_every_length_encoding(url: str) -> None:
    inbox = Inbox()
    client = await wire.connect(url, inbox.on_message, inbox.on_close)
    assert client.is_open
    for size in (0, 1, 125, 126, 65_535, 65_536, 200_000):
        payload = os.urandom(size)
        client.send(payload)
        assert await inbox.next() == payload
    assert inbox.stamps == sorted(inbox.stamps)
    assert await client.close() == wire.CLOSE_NORMAL
    assert inbox.codes == [wire.CLOSE_NORMAL]


async def test_many_messages_in_flight_arrive_in_order(url: str) -> None:
    inbox = Inbox()
    client = await wire.connect(url, inbox.on_message, inbox.on_close)
    sent = [os.urandom(i % 300) + i.to_bytes(4, "big") for i in range(2_000)]
    for payload in sent:
        client.send(payload)
    assert [await inbox.next() for _ in sent] == sent
    await client.close()


async def test_fragmented_message_is_reassembled(url: str) -> None:
    inbox = Inbox()
    client = await wire.connect(url, inbox.on_message, inbox.on_close)
    client.send(b"fragments")
    assert await inbox.next() == b"ab" + b"cd" * 40_000 + b"ef"
    client.send(b"after")
    assert await inbox.next() == b"after"
    await client.close()


async def test_ping_is_answered(url: str) -> None:
    inbox = Inbox()
    client = await wire.connect(url, inbox.on_message, inbox.on_close)
    client.send(b"ping")
    assert await inbox.next() == b"pong seen"
    await client.close()


async def test_server_close_code_is_seen(url: str) -> None:
    inbox = Inbox()
    client = await wire.connect(url, inbox.on_message, inbox.on_close)
    client.send(b"close")
    assert await asyncio.wait_for(asyncio.shield(client.closed), TIMEOUT_S) == 4001
    assert inbox.codes == [4001]
    assert not client.is_open
    with pytest.raises(ConnectionError):
        client.send(b"too late")
    assert await client.close() == 4001  # already closed: nothing more to do


async def test_refused_upgrade_raises() -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(plain_http, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        inbox = Inbox()
        with pytest.raises(wire.HandshakeError, match="101"):
            await wire.connect(f"ws://127.0.0.1:{port}/ws", inbox.on_message, inbox.on_close)


def test_under_uvloop() -> None:
    """The bots run under uvloop, whose transports are not asyncio.Transport subclasses."""
    uvloop = pytest.importorskip("uvloop")

    async def round_trip() -> list[bytes]:
        async with serve(_handler, "127.0.0.1", 0, compression=None) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            inbox = Inbox()
            client = await wire.connect(f"ws://127.0.0.1:{port}/", inbox.on_message)
            for payload in (b"", b"x" * 126, b"fragments"):
                client.send(payload)
            got = [await inbox.next() for _ in range(3)]
            await client.close()
            return got

    assert uvloop.run(round_trip()) == [b"", b"x" * 126, b"ab" + b"cd" * 40_000 + b"ef"]

"""The `/ws` transport end to end: the handshake's refusals, frames a client may send and may
not, pings and the close handshake, against a real server over real sockets."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from ws_harness import STYLUS, LiveServer, Raw, closed_with, live, open_raw

from server import ws_frames as wf
from server.codec import encode
from server.protocol import Error, Hello, Ping, Pong, Welcome

__all__ = ["live"]  # the fixture, imported to be found


async def http_upgrade(live: LiveServer, path: str, headers: dict[str, str]) -> bytes:
    """Send an upgrade request by hand; the server's whole answer until it closes."""
    host, port = live.base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    return answer


def upgrade_headers(**changes: str) -> dict[str, str]:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }
    headers.update(changes)
    return headers


@pytest.mark.parametrize(
    ("path", "changes", "status"),
    [
        ("/elsewhere", {}, b"404"),
        ("/ws", {"Sec-WebSocket-Version": "8"}, b"426"),
        ("/ws", {"Sec-WebSocket-Key": "short"}, b"400"),
    ],
)
async def test_ws_handshake_refusals_are_http_errors(
    live: LiveServer, path: str, changes: dict[str, str], status: bytes
) -> None:
    answer = await http_upgrade(live, path, upgrade_headers(**changes))
    assert answer.split(b" ", 2)[1] == status, answer


async def test_ws_handshake_answers_101_with_the_accept_key(live: LiveServer) -> None:
    headers = upgrade_headers(**{"Sec-WebSocket-Extensions": "permessage-deflate"})
    answer = await http_upgrade(live, "/ws?v=1", headers)
    head = answer.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert head.startswith("http/1.1 101")
    accept = wf.accept_for(headers["Sec-WebSocket-Key"]).lower()
    assert f"sec-websocket-accept: {accept}" in head
    assert "sec-websocket-extensions" not in head  # no extension is ever agreed


async def test_ws_pings_are_answered_and_a_fragmented_hello_is_read_whole(
    live: LiveServer,
) -> None:
    ws = await connect(live.ws_url)
    frame = encode(Hello(live.signup("frag"), STYLUS))
    await ws.send([frame[:5], frame[5:9], frame[9:]])  # three fragments
    pong_waiter = await ws.ping(b"nonce")
    await asyncio.wait_for(pong_waiter, 10)
    raw = Raw(ws)
    assert isinstance(await raw.expect(Welcome), Welcome)
    await raw.send(Ping(4))
    assert (await raw.expect(Pong)).nonce == 4
    await ws.close(1000)
    assert ws.close_code == 1000  # the server echoed our close


async def test_ws_text_frames_and_oversized_frames_are_refused_with_codes(
    live: LiveServer,
) -> None:
    token = live.signup("frames")
    raw, _ = await open_raw(live, token)
    await raw.send_bytes("text is not the protocol")
    assert (await raw.expect(Error)).code == "bad_frame"
    assert await closed_with(raw) == 4400

    raw, welcome = await open_raw(live, token)
    limit = int(welcome.limits["max_frame_bytes"])
    await raw.send_bytes(bytes(limit + 1))
    assert (await raw.expect(Error)).code == "too_large"
    assert await closed_with(raw) == 4413


async def test_ws_a_frame_that_breaks_rfc_6455_fails_the_connection_with_1002(
    live: LiveServer,
) -> None:
    raw, _ = await open_raw(live, live.signup("rsv"))
    transport = raw.ws.transport
    transport.write(bytes((0xC2, 0x80)) + os.urandom(4))  # RSV1 set, no extension agreed
    assert await closed_with(raw) == 1002


async def test_ws_a_bad_handshake_does_not_stop_a_good_one(live: LiveServer) -> None:
    with pytest.raises(InvalidStatus):
        await connect(live.ws_url.replace("/ws", "/nope"))
    raw, _ = await open_raw(live, live.signup("after"))
    await raw.send(Ping(1))
    assert (await raw.expect(Pong)).nonce == 1
    await raw.ws.close()

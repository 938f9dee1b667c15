"""A minimal WebSocket client for the load bots: an `asyncio.Protocol`, no task per connection.

RFC 6455 over plain TCP (`ws://` only), no extensions (the servers under test run without
permessage-deflate). Everything a bot does not need is left out: no TLS, no proxies, no
redirects, no text-message API (a text message is delivered as its UTF-8 bytes).

- **Receiving.** Frames are parsed incrementally in `data_received`. Each complete message is
  handed to `on_message(payload, now)` synchronously, inside `data_received`: no queue, no task
  switch. `now` is `time.monotonic()`, read once per `data_received` call, so every message of
  one read carries the time the bytes reached the process. Fragmented messages are reassembled,
  a ping is answered with a pong, and a close frame is echoed.
- **Sending.** `send(payload)` writes one masked binary frame with `transport.write`,
  synchronously. The mask key is 4 random bytes per frame (from a pool refilled with
  `os.urandom`). While the transport asks to pause writing, frames wait in a list and leave in
  order on `resume_writing`.
- **Closing.** `await close(code)` runs the close handshake; `on_close(code)` is called once when
  the connection is gone: the code of the server's close frame, or 1006 without one.

Framing is the server's own sans-I/O codec (`server.ws_frames`), read here in the client's
role (unmasked frames in, masked frames out).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable
from typing import Final, cast
from urllib.parse import urlsplit

from server import ws_frames as wf
from server.ws_frames import (
    CLOSE_ABNORMAL,
    CLOSE_NORMAL,
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
)

MAX_HANDSHAKE_BYTES: Final = 16_384
CLOSE_WAIT_S: Final = 5.0  # how long the client waits for the server to drop TCP after a close
_KEY_POOL_BYTES: Final = 4096

OnMessage = Callable[[bytes, float], None]
OnClose = Callable[[int], None]


class HandshakeError(Exception):
    """The server did not accept the WebSocket upgrade."""


class _Keys:
    """Mask keys: 4 bytes at a time from a pool of `os.urandom` bytes (one syscall per 1024)."""

    def __init__(self) -> None:
        self.pool = b""
        self.at = 0

    def take(self) -> bytes:
        at = self.at
        if at >= len(self.pool):
            self.pool, at = os.urandom(_KEY_POOL_BYTES), 0
        self.at = at + 4
        return self.pool[at : at + 4]


_KEYS: Final = _Keys()


def frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One client frame: header, a fresh mask key, the masked payload."""
    return wf.encode_frame(opcode, payload, key=_KEYS.take(), fin=fin)


class WireClient(asyncio.Protocol):
    """One client connection. Make it with `connect()`."""

    def __init__(
        self,
        host: str,
        path: str,
        on_message: OnMessage,
        on_close: OnClose | None = None,
        max_size: int = 2**20,
    ) -> None:
        self.host = host
        self.path = path
        self.on_message = on_message
        self.on_close = on_close
        self.max_size = max_size
        self.key = base64.b64encode(os.urandom(16)).decode()
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[int] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.is_open = False
        self.close_sent = False
        self.close_code: int | None = None  # from the server's close frame
        self._head = b""  # the handshake response, until its blank line
        self._reader = wf.FrameReader(masked=False, max_size=max_size)
        self._paused = False
        self._pending: list[bytes] = []

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        request = (
            f"GET {self.path} HTTP/1.1\r\n"
            f"Host: {self.host}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "User-Agent: inkroom-load-wire\r\n"
            "\r\n"
        )
        self.transport.write(request.encode("ascii"))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.is_open:
            data = self._handshake(data)
            if not data:
                return
        try:
            frames = self._reader.feed(data)
        except wf.FrameError as error:
            self._frames(error.frames, now)
            if self.is_open:
                self._fail(error.code)
            return
        self._frames(frames, now)

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.is_open = False
        self._pending.clear()
        if not self.opened.done():
            self.opened.set_exception(exc or HandshakeError("connection closed in the handshake"))
        code = self.close_code if self.close_code is not None else CLOSE_ABNORMAL
        if not self.closed.done():
            self.closed.set_result(code)
            if self.on_close is not None:
                self.on_close(code)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._pending and self.transport is not None:
            pending, self._pending = self._pending, []
            self.transport.write(b"".join(pending))

    # -- the handshake -----------------------------------------------------------------------

    def _handshake(self, data: bytes) -> bytes:
        """Consume the 101 response; return the bytes after it (frames already sent)."""
        head = self._head + data
        end = head.find(b"\r\n\r\n")
        if end < 0:
            if len(head) > MAX_HANDSHAKE_BYTES:
                self._refuse("handshake response too long")
            self._head = head
            return b""
        self._head = b""
        lines = head[:end].decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            self._refuse(f"expected 101, got {lines[0]!r}")
            return b""
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("upgrade", "").lower() != "websocket":
            self._refuse("no Upgrade: websocket")
        elif "upgrade" not in headers.get("connection", "").lower():
            self._refuse("no Connection: Upgrade")
        elif headers.get("sec-websocket-accept") != wf.accept_for(self.key):
            self._refuse("wrong Sec-WebSocket-Accept")
        elif headers.get("sec-websocket-extensions"):
            self._refuse("the server chose an extension none was offered")
        if self.opened.done():  # refused
            return b""
        self.is_open = True
        self.opened.set_result(None)
        return head[end + 4 :]

    def _refuse(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeError(why))
        if self.transport is not None:
            self.transport.abort()

    # -- receiving ---------------------------------------------------------------------------

    def _frames(self, frames: list[wf.Frame], now: float) -> None:
        on_message = self.on_message
        for f in frames:
            if not self.is_open:
                return
            opcode = f.opcode
            if opcode in (OP_BINARY, OP_TEXT):
                on_message(f.payload, now)
            elif opcode == OP_PING:
                self._write(frame(OP_PONG, f.payload))
            elif opcode == OP_CLOSE:
                self._closing(f.payload)

    def _closing(self, payload: bytes) -> None:
        """The server's close frame: remember its code, echo it, wait for TCP to end."""
        try:
            code, _ = wf.parse_close(payload)
        except wf.FrameError as error:
            code = error.code
        self.close_code = code
        self.is_open = False
        if not self.close_sent:
            self.close_sent = True
            echo = payload[:2] if payload else b""
            self._write(frame(OP_CLOSE, echo))
        self._abort_later()

    def _fail(self, code: int) -> None:
        self.is_open = False
        if not self.close_sent:
            self.close_sent = True
            self._write(frame(OP_CLOSE, code.to_bytes(2, "big")))
        if self.close_code is None:
            self.close_code = code
        self._abort_later()

    def _abort_later(self) -> None:
        transport = self.transport
        if transport is not None:
            asyncio.get_running_loop().call_later(CLOSE_WAIT_S, transport.abort)

    # -- sending -----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._paused:
            self._pending.append(data)
        elif self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send(self, payload: bytes) -> None:
        """Send one binary message (a single frame). Raises ConnectionError once closed."""
        if not self.is_open or self.close_sent:
            raise ConnectionError("the WebSocket is closed")
        if self._paused:
            self._pending.append(frame(OP_BINARY, payload))
        else:
            assert self.transport is not None
            self.transport.write(frame(OP_BINARY, payload))

    def ping(self, payload: bytes = b"") -> None:
        self._write(frame(OP_PING, payload))

    async def close(self, code: int = CLOSE_NORMAL, timeout: float = CLOSE_WAIT_S) -> int:
        """Run the close handshake; return the code the connection closed with."""
        if not self.close_sent and self.transport is not None and not self.closed.done():
            self.close_sent = True
            self._write(frame(OP_CLOSE, code.to_bytes(2, "big")))
        try:
            return await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()
            return await self.closed


async def connect(
    url: str,
    on_message: OnMessage,
    on_close: OnClose | None = None,
    *,
    max_size: int = 2**20,
    open_timeout: float = 30.0,
) -> WireClient:
    """Open a `ws://` connection; messages go to `on_message(payload, now)` from then on."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname:
        raise ValueError(f"only ws:// URLs: {url!r}")
    port = parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if port == 80 else f"{parts.hostname}:{port}"
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(
            lambda: WireClient(host, path, on_message, on_close, max_size),
            parts.hostname,
            port,
        ),
        open_timeout,
    )
    try:
        await asyncio.wait_for(asyncio.shield(client.opened), open_timeout)
    except BaseException:
        if client.transport is not None:
            client.transport.abort()
        raise
    return client

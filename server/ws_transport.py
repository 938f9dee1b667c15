"""The `/ws` endpoint: a lean WebSocket server protocol that uvicorn hands upgrades to.

uvicorn parses the HTTP request (httptools) and, on `Upgrade: websocket`, gives the socket to
the class in `Config(ws=...)` (`server.serving.uvicorn_config` passes this one). From there no
ASGI is involved: this protocol answers the handshake itself, parses frames in `data_received`
(`server.ws_frames`), hands each whole binary message to the socket's `LiveSession`
synchronously, and writes frames with one `transport.write` each. That saves, per message, the
ASGI receive queue, Starlette's WebSocket wrapper and a task switch each way, which were most
of what a points batch cost the server under load (docs/load.md).

Only `/ws` upgrades (any other path gets a 404); no extension or subprotocol is ever agreed.
A close frame from the client is echoed and the TCP connection closed; a close we start waits
at most CLOSE_TIMEOUT_S for the echo. Keepalive: a ping every `ws_ping_interval` seconds of
uvicorn's config, and a link that has said nothing for two of them is dropped (the user is then
away, and may resume). uvicorn's graceful shutdown calls `shutdown`: close with 1001.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final, cast

from starlette.applications import Starlette

from server import ws_frames as wf
from server.ws import LiveSession

log = logging.getLogger(__name__)

MAX_HANDSHAKE_BYTES: Final = 16_384
CLOSE_TIMEOUT_S: Final = 2.0
# a client that stopped reading gets its close frame behind what it has not read yet
SLOW_CLOSE_TIMEOUT_S: Final = 10.0
PATH: Final = "/ws"
_REASONS: Final = {400: "Bad Request", 404: "Not Found", 426: "Upgrade Required",
                   503: "Service Unavailable"}  # fmt: skip


def _headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def _refusal(head: bytes) -> tuple[int, str, bytes] | None:
    """Why an upgrade request (without its blank line) is refused: status, text, headers."""
    request = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    headers = _headers(head)
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    if len(request) != 3 or request[0] != "GET":
        return 400, "a WebSocket handshake is a GET", b""
    if request[1].split("?", 1)[0] != PATH:
        return 404, f"no WebSocket endpoint here: the live protocol is at {PATH}", b""
    if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in tokens:
        return 400, "expected Upgrade: websocket and Connection: Upgrade", b""
    if headers.get("sec-websocket-version") != "13":
        return 426, "only WebSocket version 13", b"Sec-WebSocket-Version: 13\r\n"
    if not wf.valid_key(headers.get("sec-websocket-key", "")):
        return 400, "Sec-WebSocket-Key is not 16 bytes of base64", b""
    return None


class WebSocketProtocol(asyncio.Protocol):
    def __init__(self, config: Any, server_state: Any, app: Starlette, **_: Any) -> None:
        self.config = config
        self.server_state = server_state
        self.app = app
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.reader: wf.FrameReader | None = None
        self.session: LiveSession | None = None
        self._head = b""
        self._failed = False  # a framing error: nothing more is read
        self.close_sent = False
        self._heard = True
        self._ping_sent = False
        self._timers: list[asyncio.TimerHandle] = []
        self._keepalive: asyncio.TimerHandle | None = None
        self._reading_paused = False

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.server_state.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self._failed:
            return
        reader = self.reader
        if reader is None:
            self._handshake(data)
            return
        self._heard = True
        try:
            frames = reader.feed(data)
        except wf.FrameError as error:
            self._failed = True
            self._frames(error.frames)
            if error.code == wf.CLOSE_TOO_BIG and self.session is not None:
                self.session.on_too_large(error.reason)
            else:
                self.close(error.code, error.reason)
            return
        self._frames(frames)

    def _frames(self, frames: list[wf.Frame]) -> None:
        session = self.session
        assert session is not None
        for frame in frames:
            opcode = frame.opcode
            if opcode == wf.OP_BINARY:
                session.on_message(frame.payload)
            elif opcode == wf.OP_TEXT:
                session.on_text()
            elif opcode == wf.OP_PING:
                self._write(wf.encode_frame(wf.OP_PONG, frame.payload))
            elif opcode == wf.OP_PONG:
                self._ping_sent = False
            elif opcode == wf.OP_CLOSE:
                self._closed_by_peer(frame.payload)
                return

    def _closed_by_peer(self, payload: bytes) -> None:
        try:
            code, _ = wf.parse_close(payload)
        except wf.FrameError as error:
            code = error.code
        if not self.close_sent:
            self.close_sent = True
            echo = b"" if code == wf.CLOSE_NO_STATUS else wf.close_payload(code)
            self._write(wf.encode_frame(wf.OP_CLOSE, echo))
        self._failed = True  # nothing is read after a close
        if self.transport is not None:
            self.transport.close()  # the server ends TCP once both close frames are sent

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        for timer in self._timers:
            timer.cancel()
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self.session is not None:
            self.session.on_lost()

    def pause_writing(self) -> None:
        if self.session is not None:
            self.session.connection.pause_writing()

    def resume_writing(self) -> None:
        if self.session is not None:
            self.session.connection.resume_writing()

    # -- the handshake -----------------------------------------------------------------------

    def _handshake(self, data: bytes) -> None:
        head = self._head + data
        end = head.find(b"\r\n\r\n")
        if end < 0:
            if len(head) > MAX_HANDSHAKE_BYTES:
                self._http_error(400, "handshake too long")
            self._head = head
            return
        self._head = b""
        refused = _refusal(head[:end])
        if refused is not None:
            self._http_error(*refused)
            return
        key = _headers(head[:end])["sec-websocket-key"]
        state = self.app.state
        hub = getattr(state, "hub", None)
        services = getattr(state, "services", None)
        if hub is None or services is None:
            self._http_error(503, "the server is starting or stopping")
            return
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + wf.accept_for(key).encode() + b"\r\n\r\n"
        )
        self.reader = wf.FrameReader(masked=True, max_size=hub.limits.max_frame_bytes)
        self.session = LiveSession(hub, services, self)
        interval = self.config.ws_ping_interval
        if interval:
            self._keepalive = self.loop.call_later(interval, self._keep_alive, float(interval))
        rest = head[end + 4 :]
        if rest:
            self.data_received(rest)

    def _http_error(self, status: int, message: str, extra: bytes = b"") -> None:
        body = message.encode()
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status].encode())
            + b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n" % len(body)
            + extra
            + b"Connection: close\r\n\r\n"
            + body
        )
        self._failed = True  # nothing more is read
        self.transport.close()

    def _keep_alive(self, interval: float) -> None:
        if not self._heard and self._ping_sent:
            log.info("websocket: no answer for %.0f s, dropping the link", 2 * interval)
            if self.transport is not None:
                self.transport.abort()
            return
        self._heard = False
        self._ping_sent = True
        self._write(wf.encode_frame(wf.OP_PING, b""))
        self._keepalive = self.loop.call_later(interval, self._keep_alive, interval)

    # -- the sink the session's connection writes to -------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def write_message(self, payload: bytes) -> None:
        if not self.close_sent:
            self._write(wf.header(wf.OP_BINARY, len(payload)) + payload)

    def buffered_bytes(self) -> int:
        transport = self.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def close(self, code: int, reason: str = "", timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Send a close frame (after what is buffered); drop the link if no echo comes."""
        if self.close_sent or self.transport is None:
            return
        self.close_sent = True
        self._write(wf.encode_frame(wf.OP_CLOSE, wf.close_payload(code, reason)))
        self._timers.append(self.loop.call_later(timeout, self.transport.abort))

    def abort(self, code: int) -> None:
        """A client that stopped reading: its close comes after what it has not read, and the
        link is dropped if it has not read it all in SLOW_CLOSE_TIMEOUT_S."""
        if self._reading_paused:
            self.resume_reading()  # its close echo must be read
        self.close(code, timeout=SLOW_CLOSE_TIMEOUT_S)

    def pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()

    # -- uvicorn's graceful shutdown ---------------------------------------------------------

    def shutdown(self) -> None:
        if self.session is not None and not self.close_sent:
            self.session.connection.close(wf.CLOSE_GOING_AWAY)
        elif self.transport is not None and not self.close_sent:
            self.transport.close()

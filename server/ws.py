"""The `/ws` endpoint: the glue between a socket and the hub.

A connection must say `hello` with a valid token within HELLO_TIMEOUT_S; then every frame is
rate-limited, decoded (a `ProtocolError` becomes an `error` message, and a close where the
code demands one) and handed to the hub. Nothing a client sends can raise out of here: an
unexpected failure on one message is logged and answered with `internal`, and the
connection goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import asdict
from typing import Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from schema import repository as repo
from scoring import Device
from server.auth import InvalidToken, TokenClaims
from server.codec import decode, encode
from server.connection import CLOSE_GOING_AWAY, Connection
from server.http_api import Services
from server.hub import Hub
from server.protocol import Error, GoingAway, Hello, Welcome
from server.protocol_errors import CLOSE_CODES, ProtocolError
from server.rate_limit import TokenBucket

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S: Final = 10.0


async def _refuse(websocket: WebSocket, code: str, message: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await websocket.send_bytes(encode(Error(code, message)))
        await websocket.close(CLOSE_CODES.get(code, 1008))


async def _frame(websocket: WebSocket, timeout: float | None = None) -> bytes | None:
    """The next binary frame; None when the peer closed. A text frame is a protocol error."""
    if timeout is None:  # the hot path: no wrapper around every receive
        event = await websocket.receive()
    else:
        event = await asyncio.wait_for(websocket.receive(), timeout)
    if event["type"] == "websocket.disconnect":
        return None
    data = event.get("bytes")
    if data is None:
        raise ProtocolError("bad_frame", "text frames are not part of the protocol")
    return bytes(data)


async def _hello(
    websocket: WebSocket, services: Services
) -> tuple[Hello, TokenClaims, str, str] | None:
    """The hello, its token's claims, the user's name and role; None (refused, closed) if not."""
    try:
        frame = await _frame(websocket, HELLO_TIMEOUT_S)
        if frame is None:
            return None
        message = decode(frame)
        if not isinstance(message, Hello):
            raise ProtocolError(
                "hello_first", f"the first message must be hello, not {message.TYPE}"
            )
        claims = services.tokens.verify(message.token)
    except TimeoutError:
        await _refuse(websocket, "hello_first", f"no hello within {HELLO_TIMEOUT_S:g} s")
        return None
    except InvalidToken as exc:
        await _refuse(websocket, "auth_failed", f"token {exc.reason}")
        return None
    except ProtocolError as error:
        await _refuse(websocket, error.code if error.close else "hello_first", error.message)
        return None
    async with services.sessions() as db:
        user = await repo.get_user(db, claims.user_id)
    if user is None or not user.is_active:
        await _refuse(websocket, "auth_failed", "no such active user")
        return None
    return message, claims, user.display_name, user.role


async def websocket_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    if hub.closing:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await websocket.send_bytes(encode(GoingAway("server shutting down", True, 1.0)))
            await websocket.close(CLOSE_GOING_AWAY)
        return
    said = await _hello(websocket, services)
    if said is None:
        return
    hello, claims, name, role = said
    d = hello.device
    limits = hub.limits
    rate = TokenBucket(limits.max_messages_per_second, limits.max_messages_per_second)
    cid = hub.next_cid()
    settings = services.settings
    connection = Connection(
        cid, websocket, 0, Device(d.pressure, d.tilt), rate, settings.send_queue_bytes,
        settings.send_interval_ms / 1000.0,
    )  # fmt: skip
    state = hub.attach(claims.user_id, name, role, connection)
    connection.user = state.user
    connection.start()
    welcome = Welcome(
        state.user, name, state.resume_token, {k: float(v) for k, v in asdict(limits).items()}
    )
    connection.send(encode(welcome))
    try:
        await _serve(websocket, hub, services, connection)
    finally:
        await hub.detach(connection)
        await connection.wait_closed(1.0)
        connection.cancel()


async def _serve(
    websocket: WebSocket, hub: Hub, services: Services, connection: Connection
) -> None:
    metrics = services.metrics
    while not connection.closed:
        try:
            frame = await _frame(websocket)
        except ProtocolError as error:
            connection.send(encode(Error(error.code, error.message)))
            connection.close(CLOSE_CODES[error.code] if error.close else 1008)
            return
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        if frame is None:
            return
        if not connection.rate.take(time.monotonic()):
            connection.send(
                encode(Error("rate_limited", "too many messages: this one was dropped"))
            )
            continue
        try:
            message = decode(frame, limits=hub.limits)
        except ProtocolError as error:
            connection.send(encode(Error(error.code, error.message)))
            if error.close:
                connection.close(CLOSE_CODES[error.code])
                return
            continue
        metrics.messages_in.inc(labels=(message.TYPE,))
        started = time.perf_counter()
        try:
            await hub.handle(connection, message)
        except Exception:
            log.exception("connection %d: %s failed", connection.cid, message.TYPE)
            seq = getattr(message, "seq", None)
            connection.send(encode(Error("internal", "the server failed on this message", seq)))
        if message.TYPE == "points":
            metrics.scoring_latency.observe(time.perf_counter() - started)

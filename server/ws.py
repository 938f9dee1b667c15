"""One live socket's session: hello first, then every message to the hub, one at a time, in order.

The transport (`server/ws_transport.py`) hands each whole binary message to `on_message`, inside
its `data_received`. A connection must say `hello` with a valid token within HELLO_TIMEOUT_S;
then every message is rate-limited, decoded (a `ProtocolError` becomes an `error` message, and
a close where the code demands one) and handed to the hub, which handles it at once where it
needs no await (drawing: nearly every message) and else hands back the rest, which runs in a
task. One message is handled at a time: the messages read while such a task runs wait in a
small inbox and are then handled in order; once INBOX_PAUSE wait, the socket is not read until the
inbox is empty (TCP pushes back on a client that sends faster than it is served). Nothing a
client sends can raise out of here: an unexpected failure on one message is logged and
answered with `internal`, and the connection goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import asdict
from typing import Any, Final, Protocol

from schema import repository as repo
from scoring import Device
from server.auth import InvalidToken
from server.codec import decode, encode
from server.connection import Connection, Sink
from server.http_api import Services
from server.hub import Hub
from server.protocol import Error, GoingAway, Hello, Message, Welcome
from server.protocol_errors import CLOSE_CODES, CLOSE_GOING_AWAY, ERROR_CODES, ProtocolError
from server.rate_limit import TokenBucket

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S: Final = 10.0
# messages waiting for the handler before the socket stops being read (pausing and resuming
# are system calls: not for every message that arrives while its predecessor is handled)
INBOX_PAUSE: Final = 32
# encoded once: a flood gets this answer many times a second
RATE_LIMITED: Final = encode(Error("rate_limited", "too many messages: this one was dropped"))


class Link(Sink, Protocol):
    """The transport as the session sees it: a sink that can also stop reading for a while."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class LiveSession:
    def __init__(self, hub: Hub, services: Services, link: Link) -> None:
        self.hub = hub
        self.services = services
        self.link = link
        limits = hub.limits
        rate = TokenBucket(limits.max_messages_per_second, limits.max_messages_per_second)
        settings = services.settings
        self.connection = Connection(
            hub.next_cid(), link, 0, Device(), rate, settings.send_queue_bytes,
            settings.send_interval_ms / 1000.0, hub.flushes,
        )  # fmt: skip
        self.attached = False
        self.ended = False
        self._inbox: deque[bytes] = deque()
        self._busy: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        self._hello_timer: asyncio.TimerHandle | None = loop.call_later(
            HELLO_TIMEOUT_S, self._no_hello
        )
        if hub.closing:
            self.connection.send(encode(GoingAway("server shutting down", True, 1.0)))
            self.connection.close(CLOSE_GOING_AWAY)

    # -- what the transport tells ----------------------------------------------------------------

    def on_message(self, payload: bytes) -> None:
        if self.ended or self.connection.closing:
            return  # a client told to go away (or refused) is not served meanwhile
        if self._busy is not None:
            self._inbox.append(payload)
            if len(self._inbox) >= INBOX_PAUSE:
                self.link.pause_reading()
            return
        self._process(payload)

    def on_text(self) -> None:
        self.refuse("bad_frame", "text frames are not part of the protocol")

    def on_too_large(self, reason: str) -> None:
        self.refuse("too_large", reason)

    def on_lost(self) -> None:
        """The socket is gone. The hub hears of it after the message being handled, if any."""
        if self.ended:
            return
        self.ended = True
        self._inbox.clear()
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        self.connection.lost()
        if self._busy is not None:
            self._busy.add_done_callback(lambda _task: self._detach())
        else:
            self._detach()

    # -- messages ----------------------------------------------------------------------------

    def refuse(self, code: str, message: str) -> None:
        """Send an error; close the connection too where the code says so."""
        self.connection.send(encode(Error(code, message)))
        if ERROR_CODES[code][0]:  # the code closes the connection
            self.connection.close(CLOSE_CODES.get(code, 1008))

    def _process(self, payload: bytes) -> None:
        if not self.attached:
            if self._hello_timer is None:
                return  # refused already: the close is under way
            self._hello_timer.cancel()
            self._hello_timer = None
            self._run(self._hello(payload))
            return
        connection = self.connection
        if not connection.rate.take(time.monotonic()):
            connection.send(RATE_LIMITED)
            return
        try:
            message = decode(payload, limits=self.hub.limits)
        except ProtocolError as error:
            self.refuse(error.code, error.message)
            return
        self.services.metrics.messages_in.inc(labels=(message.TYPE,))
        started = time.perf_counter()
        try:
            pending = self.hub.handle_now(connection, message)
        except Exception:
            self._failed(message)
            return
        if pending is not None:
            self._run(self._finish(message, pending))
        elif message.TYPE == "points":
            self.services.metrics.scoring_latency.observe(time.perf_counter() - started)

    async def _finish(self, message: Message, pending: Coroutine[Any, Any, None]) -> None:
        """What a message has left to await (persisting, or asking the database), in a task:
        the messages that arrive meanwhile wait for it in the inbox."""
        try:
            await pending
        except Exception:
            self._failed(message)

    def _failed(self, message: Message) -> None:
        log.exception("connection %d: %s failed", self.connection.cid, message.TYPE)
        seq = getattr(message, "seq", None)
        self.connection.send(encode(Error("internal", "the server failed on this message", seq)))

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        self._busy = task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._busy = None
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            log.error("connection %d: handler failed", self.connection.cid, exc_info=failure)
        while self._inbox and self._busy is None and not self.ended:
            self._process(self._inbox.popleft())
        if self._busy is None and not self.ended:
            self.link.resume_reading()

    # -- hello and goodbye ----------------------------------------------------------------------

    def _no_hello(self) -> None:
        self._hello_timer = None
        if not self.attached and not self.ended:
            self.refuse("hello_first", f"no hello within {HELLO_TIMEOUT_S:g} s")

    async def _hello(self, payload: bytes) -> None:
        try:
            message = decode(payload)
            if not isinstance(message, Hello):
                raise ProtocolError(
                    "hello_first", f"the first message must be hello, not {message.TYPE}"
                )
            claims = self.services.tokens.verify(message.token)
        except InvalidToken as exc:
            self.refuse("auth_failed", f"token {exc.reason}")
            return
        except ProtocolError as error:
            self.refuse(error.code if error.close else "hello_first", error.message)
            return
        async with self.services.sessions() as db:
            user = await repo.get_user(db, claims.user_id)
        if user is None or not user.is_active:
            self.refuse("auth_failed", "no such active user")
            return
        if self.ended:
            return  # the socket dropped while the user was looked up
        d = message.device
        connection = self.connection
        connection.device = Device(d.pressure, d.tilt)
        hub = self.hub
        state = hub.attach(claims.user_id, user.display_name, user.role, connection)
        connection.user = state.user
        self.attached = True
        limits = {k: float(v) for k, v in asdict(hub.limits).items()}
        connection.send(encode(Welcome(state.user, user.display_name, state.resume_token, limits)))

    def _detach(self) -> None:
        if not self.attached:
            return

        async def detach() -> None:
            try:
                await self.hub.detach(self.connection)
            except Exception:
                log.exception("connection %d: detach failed", self.connection.cid)

        task = asyncio.get_running_loop().create_task(detach())
        _DETACHING.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(_DETACHING.discard)


_DETACHING: Final[set[asyncio.Task[None]]] = set()

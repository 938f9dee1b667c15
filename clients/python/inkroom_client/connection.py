"""`InkroomClient`: the asyncio glue around `ClientSession` and one WebSocket at a time.

Theory of operation. One reader task per socket decodes every frame (`server.codec.decode`,
`sent_by="server"`), lets the session update its bookkeeping, and appends the message to the
*inbox*: one ordered, bounded stream of everything the server sent, read either with
`async for message in client` or with `wait_for`, which both consume it. Sends go through one
lock, so seq order on the wire is numbering order and a reconnect's resends go out before
anything sent after them.

`wait_for(kind, predicate)` reads the inbox in order and returns the first message of that
kind that satisfies the predicate, consuming (dropping) everything before it, like reading a
stream. The error rule: an `error` it meets before the match is raised as `ServerError` (and
consumed), unless the caller waits for `Error` itself or passes `raise_errors=False`. The server
never forwards another participant's errors and answers in order, so an `error` that comes
before the awaited answer is about a message this client sent before that answer was due.
`wait_acked(seq)` watches the ack instead of the inbox: it returns once `seq` is acknowledged and
raises `ServerError` if an `error` refused that very seq.

A dropped socket: with `auto_reconnect`, the client reconnects in the background (honouring
`going_away.retry_after_s`) exactly as `reconnect()` does; sequenced messages sent meanwhile are
kept and go out after the resume. Without it, the inbox ends with `ConnectionLostError`; sequenced
messages are still kept, so a later `reconnect()` sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final, TypeVar

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from inkroom_client.errors import (
    ConnectionLostError,
    InkroomClientError,
    ServerError,
    ServerFrameError,
)
from inkroom_client.session import ClientSession, Latency
from server.codec import decode_frames, encode
from server.protocol import (
    POINT_COLUMNS,
    POINT_DTYPE,
    CreateRoom,
    DeviceInfo,
    EndRoom,
    Error,
    Hello,
    Hint,
    JoinRoom,
    LeaveRoom,
    Message,
    NextStep,
    Ping,
    Points,
    Resume,
    Resumed,
    Retry,
    StartAttempt,
    StartRoom,
    StepEnd,
    StrokeBegin,
    StrokeEnd,
    Undo,
    Welcome,
)
from server.protocol_errors import CLOSE_CODES, ProtocolError

M = TypeVar("M", bound=Message)

DEFAULT_DEVICE: Final = DeviceInfo(kind="mouse", pressure=False, tilt=False)
# Closes after which reconnecting cannot help: the same frame or token would fail again.
FATAL_CLOSE_CODES: Final = frozenset(
    CLOSE_CODES[code] for code in ("bad_frame", "too_large", "hello_first", "auth_failed")
)
MAX_BACKOFF_S: Final = 5.0


class InkroomClient:
    def __init__(
        self,
        url: str,
        token: str,
        device: DeviceInfo = DEFAULT_DEVICE,
        *,
        auto_reconnect: bool = False,
        reconnect_attempts: int = 5,
        reconnect_backoff_s: float = 0.25,
        open_timeout_s: float = 10.0,
        inbox_size: int = 4096,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.url = url
        self.token = token
        self.device = device
        self.auto_reconnect = auto_reconnect
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_backoff_s = reconnect_backoff_s
        self.open_timeout_s = open_timeout_s
        self.clock = clock
        self.session = ClientSession()
        self.inbox_dropped = 0  # messages pushed out of a full inbox, unread
        self.reconnects = 0
        self._inbox: deque[Message] = deque(maxlen=inbox_size)
        self._ws: ClientConnection | None = None
        self._readers: set[asyncio.Task[None]] = set()
        self._reconnecting: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._failure: InkroomClientError | None = None
        self._closed = False

    # -- opening and closing ---------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        url: str,
        token: str,
        *,
        device: DeviceInfo = DEFAULT_DEVICE,
        auto_reconnect: bool = False,
        reconnect_attempts: int = 5,
        reconnect_backoff_s: float = 0.25,
        open_timeout_s: float = 10.0,
        inbox_size: int = 4096,
    ) -> AsyncIterator[InkroomClient]:
        """Connect, send `hello`, wait for `welcome` (`ServerError` on `auth_failed`, ...)."""
        client = cls(
            url,
            token,
            device,
            auto_reconnect=auto_reconnect,
            reconnect_attempts=reconnect_attempts,
            reconnect_backoff_s=reconnect_backoff_s,
            open_timeout_s=open_timeout_s,
            inbox_size=inbox_size,
        )
        await client.open()
        try:
            yield client
        finally:
            await client.close()

    async def open(self) -> Welcome:
        async with self._send_lock:
            ws, welcome = await self._hello()
            self._install(ws)
        return welcome

    async def close(self) -> None:
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        if self._reconnecting is not None:
            await asyncio.gather(self._reconnecting, return_exceptions=True)
        self._notify()

    async def reconnect(self) -> Resumed | None:
        """A new socket, `hello`, and if an attempt or room is open, `resume {resume_token,
        last_rseq}` and a resend of every kept message after `resumed.acked_seq`, in order.
        Returns `resumed` (None when there was nothing to resume). `ServerError` on
        `resume_failed`: the new connection stays up, the kept messages are dropped."""
        return await self._reconnect(surface_errors=False)

    @property
    def connected(self) -> bool:
        return self._ws is not None

    # -- the protocol's state, for callers -------------------------------------------------

    @property
    def welcome(self) -> Welcome | None:
        return self.session.welcome

    @property
    def next_seq(self) -> int:
        return self.session.next_seq

    @property
    def acked_seq(self) -> int:
        return self.session.acked_seq

    @property
    def last_rseq(self) -> int:
        return self.session.last_rseq

    @property
    def unacked(self) -> Mapping[int, Message]:
        return self.session.unacked

    @property
    def points_sent_at(self) -> Mapping[int, float]:
        """Send time (the client's `clock`) of each `points` seq of the current stream."""
        return self.session.points_sent_at

    @property
    def latency(self) -> Latency:
        return self.session.latency

    # -- sending ---------------------------------------------------------------------------

    async def start_attempt(self, lesson: str) -> None:
        await self._send_opener(StartAttempt(lesson))

    async def create_room(self, lesson: str, step_time_s: float | None = None) -> None:
        await self._send_opener(CreateRoom(lesson, step_time_s))

    async def join_room(self, code: str, spectator: bool = False) -> None:
        await self._send_opener(JoinRoom(code, spectator))

    async def stroke_begin(self) -> int:
        return await self._send_sequenced(StrokeBegin)

    async def send_points(self, rows: np.ndarray[Any, Any]) -> int:
        """Send an (n, 6) batch `x, y, t, pressure, tilt_x, tilt_y`; returns its seq.
        `ValueError`, before anything is numbered or sent, for a wrong shape, a non-numeric
        dtype, NaN or infinity, or more rows than the server's `max_points_per_batch`."""
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] != len(POINT_COLUMNS):
            raise ValueError(f"rows: expected shape (n, {len(POINT_COLUMNS)}), got {rows.shape}")
        if not (np.issubdtype(rows.dtype, np.floating) or np.issubdtype(rows.dtype, np.integer)):
            raise ValueError(f"rows: expected a numeric array, got dtype {rows.dtype}")
        limit = self.session.max_points_per_batch
        if rows.shape[0] > limit:
            raise ValueError(f"rows: {rows.shape[0]} points, more than {limit} a batch")
        wire = np.ascontiguousarray(rows, dtype=POINT_DTYPE)  # converted once, checked, packed
        if not np.isfinite(wire).all():
            raise ValueError("rows: a point holds NaN or infinity (or overflows float32)")
        return await self._send_sequenced(lambda seq: Points.of(seq, wire))

    async def stroke_end(self) -> int:
        return await self._send_sequenced(StrokeEnd)

    async def step_end(self) -> int:
        return await self._send_sequenced(StepEnd)

    async def next_step(self) -> int:
        return await self._send_sequenced(NextStep)

    async def undo(self) -> int:
        return await self._send_sequenced(Undo)

    async def retry(self) -> int:
        return await self._send_sequenced(Retry)

    async def hint(self) -> int:
        return await self._send_sequenced(Hint)

    async def start_room(self) -> int:
        return await self._send_sequenced(StartRoom)

    async def end_room(self) -> int:
        return await self._send_sequenced(EndRoom)

    async def leave_room(self) -> int:
        return await self._send_sequenced(LeaveRoom)

    async def ping(self) -> int:
        """Send `ping`; returns its nonce. The round trip lands in `latency.pong`."""
        nonce = self.session.next_nonce()
        await self._send_plain(Ping(nonce))
        return nonce

    async def _send_opener(self, message: Message) -> None:
        await self._send_plain(message, opens_stream=True)

    async def _send_sequenced(self, build: Callable[[int], Message]) -> int:
        async with self._send_lock:
            seq = self.session.next_seq
            await self._transmit(self.session.number(build), sequenced=True)
        return seq

    async def _send_plain(self, message: Message, opens_stream: bool = False) -> None:
        if self.auto_reconnect:
            await self._until(lambda: self._ws is not None)
        async with self._send_lock:
            if opens_stream:
                self.session.open_stream()
            await self._transmit(message, sequenced=False)

    async def _transmit(self, message: Message, sequenced: bool) -> None:
        # A sequenced message stays in session.unacked whatever happens here: a reconnect
        # resends it.
        ws = self._ws
        if ws is None:
            if sequenced and self.auto_reconnect and not self._closed and self._failure is None:
                return
            raise self._failure or ConnectionLostError("not connected")
        try:
            await ws.send(encode(message))
        except ConnectionClosed as exc:
            if sequenced and self.auto_reconnect and not self._closed:
                return
            code = exc.rcvd.code if exc.rcvd else None
            raise ConnectionLostError("the connection closed", code) from exc
        self.session.sent(message, self.clock())

    # -- receiving -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        """The next server message. Ends after `close()`; raises the failure (`ConnectionLostError`,
        `ServerError`) once the connection is gone for good and the inbox is read."""
        while not self._inbox:
            if self._closed:
                raise StopAsyncIteration
            if self._failure is not None:
                raise self._failure
            await self._changed.wait()
        return self._inbox.popleft()

    async def wait_for(
        self,
        kind: type[M],
        predicate: Callable[[M], bool] | None = None,
        *,
        timeout: float | None = 10.0,
        raise_errors: bool = True,
    ) -> M:
        """The first message in the inbox of type `kind` (satisfying `predicate`), consuming it
        and everything before it. `ServerError` for an `error` met first (see the module's
        rule); `TimeoutError` after `timeout` seconds (None: no limit)."""
        async with asyncio.timeout(timeout):
            while True:
                while self._inbox:
                    message = self._inbox.popleft()
                    if isinstance(message, kind) and (predicate is None or predicate(message)):
                        return message
                    if raise_errors and isinstance(message, Error):
                        raise ServerError.of(message)
                if self._closed:
                    raise ConnectionLostError("the client is closed")
                if self._failure is not None:
                    raise self._failure
                await self._changed.wait()

    async def wait_acked(self, seq: int, *, timeout: float | None = 10.0) -> None:
        """Until the server acknowledged `seq`. `ServerError` if an `error` refused it."""

        def done() -> bool:
            refused = self.session.refused.get(seq)
            if refused is not None:
                raise ServerError.of(refused)
            return self.session.acked_seq >= seq

        async with asyncio.timeout(timeout):
            await self._until(done)

    def drain(self) -> list[Message]:
        """Everything in the inbox now, consumed, without waiting."""
        messages = list(self._inbox)
        self._inbox.clear()
        return messages

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            if self._closed:
                raise ConnectionLostError("the client is closed")
            if self._failure is not None:
                raise self._failure
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _deliver(self, message: Message) -> None:
        self.session.receive(message, self.clock())
        if len(self._inbox) == self._inbox.maxlen:
            self.inbox_dropped += 1
        self._inbox.append(message)
        self._notify()

    def _fail(self, failure: InkroomClientError) -> None:
        self._failure = failure
        self._notify()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                try:
                    messages = _decode(frame)
                except ServerFrameError as exc:
                    self._ws = None if self._ws is ws else self._ws
                    self._fail(exc)
                    await ws.close()
                    return
                for message in messages:
                    self._deliver(message)
        except ConnectionClosed:
            pass
        if ws is not self._ws or self._closed:
            return  # replaced by a reconnect, or closed by us
        self._ws = None
        code = ws.close_code
        if self.auto_reconnect and code not in FATAL_CLOSE_CODES:
            self._reconnecting = asyncio.create_task(self._reconnect_in_background())
        else:
            self._fail(ConnectionLostError("the server closed the connection", code))
        self._notify()

    def _install(self, ws: ClientConnection) -> None:
        self._ws = ws
        task = asyncio.create_task(self._read(ws))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)
        self._notify()

    # -- connecting and resuming -----------------------------------------------------------

    async def _hello(self) -> tuple[ClientConnection, Welcome]:
        ws = await connect(self.url, open_timeout=self.open_timeout_s, compression=None)
        try:
            async with asyncio.timeout(self.open_timeout_s):
                await ws.send(encode(Hello(self.token, self.device)))
                welcome = await self._expect(ws, Welcome)
        except BaseException:
            await ws.close()
            raise
        return ws, welcome

    async def _expect(self, ws: ClientConnection, kind: type[M]) -> M:
        """Read the socket directly (its reader is not started yet) until a `kind`."""
        while True:
            try:
                frame = await ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                raise ConnectionLostError(f"closed while waiting for {kind.TYPE}", code) from None
            found: M | None = None
            for message in _decode(frame):  # every message of a batch is delivered
                if isinstance(message, Error) and found is None:
                    raise ServerError.of(message)
                self._deliver(message)
                if found is None and isinstance(message, kind):
                    found = message
            if found is not None:
                return found

    async def _reconnect(self, surface_errors: bool) -> Resumed | None:
        async with self._send_lock:
            old, self._ws = self._ws, None
            if old is not None:
                await old.close()
            token, resume = self.session.resume_token, self.session.in_stream
            ws, _ = await self._hello()
            self._failure = None
            self.reconnects += 1
            if not resume or token is None:
                self._install(ws)
                return None
            try:
                await ws.send(encode(Resume(token, self.session.last_rseq)))
                async with asyncio.timeout(self.open_timeout_s):
                    resumed = await self._expect(ws, Resumed)
            except ServerError as exc:
                self.session.resume_failed()
                self._install(ws)
                if surface_errors:
                    self._deliver(Error(exc.code, exc.message, exc.seq))
                    return None
                raise
            except BaseException:
                await ws.close()
                raise
            self._install(ws)
            for message in self.session.pending():
                await self._transmit(message, sequenced=True)
            return resumed

    async def _reconnect_in_background(self) -> None:
        away = self.session.going_away
        delay = max(self.reconnect_backoff_s, away.retry_after_s if away is not None else 0.0)
        last: Exception | None = None
        for _ in range(self.reconnect_attempts):
            await asyncio.sleep(delay)
            try:
                await self._reconnect(surface_errors=True)
            except ServerError as exc:  # auth_failed and the like: trying again will not help
                self._fail(exc)
                return
            except (OSError, TimeoutError, WebSocketException, InkroomClientError) as exc:
                last = exc
                delay = min(delay * 2, MAX_BACKOFF_S)
            else:
                return
        self._fail(ConnectionLostError(f"could not reconnect: {last}"))


def _decode(frame: str | bytes) -> list[Message]:
    """A frame's messages: one, or a `batch` of them in order."""
    if isinstance(frame, str):
        raise ServerFrameError("the server sent a text frame")
    try:
        return decode_frames(frame)
    except ProtocolError as exc:
        raise ServerFrameError(str(exc)) from None

"""A small scripted Inkroom server for the client tests: a real WebSocket on 127.0.0.1.

Loaded by the test modules with `pytest_plugins = ["fake_inkroom"]` (a second conftest.py would
clash with tests/schema/conftest.py under mypy); they import its names for type checking only.

It decodes every frame with `server.codec.decode(sent_by="client")`, records it, and answers as
a minimal solo-attempt server built on the real `ClientSeq`: `hello` -> `welcome` (or
`auth_failed` and close 4403); `start_attempt` -> `attempt_started` + `step_started`
(`no_such_lesson` for a lesson named `no-such-...`); each new sequenced message applied once and
acked (`points` with a `feedback` first); `resume` -> `resumed {acked_seq}` and the room
messages after `last_rseq`. Tests steer it with `swallow` (seqs received but treated as lost on
the way), `mute_acks` (applied, ack lost), `refuse` (seq -> error code), `resumed_acked_seq`
(claim an older `acked_seq` than the truth), and send scripted frames with `send`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from server.client_seq import ClientSeq
from server.codec import decode, encode
from server.protocol import (
    POINT_ROW_BYTES,
    Ack,
    AttemptStarted,
    Error,
    Hello,
    LiveFeedback,
    Message,
    Ping,
    Points,
    Pong,
    Resume,
    Resumed,
    StartAttempt,
    StepStarted,
    Welcome,
)
from server.protocol_errors import CLOSE_CODES, ProtocolError

GOOD_TOKEN = "good-token"
LIMITS = {"max_frame_bytes": 65536.0, "max_points_per_batch": 8.0}


@dataclass
class FakeConnection:
    ws: ServerConnection
    received: list[Message] = field(default_factory=list)
    resume_token: str = ""


class FakeServer:
    def __init__(self) -> None:
        self.url = ""
        self.connections: list[FakeConnection] = []
        self.received: list[Message] = []  # every decoded client message, all connections
        self.answered = 0  # client messages fully answered
        self.applied: list[Message] = []  # sequenced messages applied, in order
        self.refused_frames: list[ProtocolError] = []
        self.swallow: set[int] = set()
        self.mute_acks: set[int] = set()
        self.refuse: dict[int, str] = {}
        self.resumed_acked_seq: int | None = None  # set: claim this in `resumed`, not the truth
        self.seq = ClientSeq()
        self.rseq = 0
        self.history: list[Message] = []  # room messages (with rseq), for resume
        self.tokens: list[str] = []
        self._changed = asyncio.Event()

    @property
    def last(self) -> FakeConnection:
        return self.connections[-1]

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                event = self._changed
                await event.wait()

    async def send(self, message: Message, connection: FakeConnection | None = None) -> None:
        if hasattr(message, "rseq"):
            self.history.append(message)
        await (connection or self.last).ws.send(encode(message))

    def next_rseq(self) -> int:
        self.rseq += 1
        return self.rseq

    async def drop(self, code: int = 1011) -> None:
        """Close the newest connection from the server's side, as a crash or network loss."""
        await self.last.ws.close(code)
        await self.until(lambda: self.last.ws.state.name == "CLOSED")

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def handle(self, ws: ServerConnection) -> None:
        connection = FakeConnection(ws)
        self.connections.append(connection)
        self._notify()
        try:
            async for frame in ws:
                try:
                    message = decode(frame, sent_by="client")  # type: ignore[arg-type]
                except ProtocolError as exc:
                    self.refused_frames.append(exc)
                    await ws.send(encode(Error(exc.code, exc.message)))
                    continue
                connection.received.append(message)
                self.received.append(message)
                await self.answer(connection, message)
                self.answered += 1
                self._notify()
        except ConnectionClosed:
            pass
        finally:
            self._notify()

    async def answer(self, connection: FakeConnection, message: Message) -> None:
        send = connection.ws.send
        if isinstance(message, Hello):
            if message.token != GOOD_TOKEN:
                await send(encode(Error("auth_failed", "bad token")))
                await connection.ws.close(CLOSE_CODES["auth_failed"])
                return
            connection.resume_token = f"resume-{len(self.connections)}"
            self.tokens.append(connection.resume_token)
            await send(encode(Welcome(7, "Ann", connection.resume_token, LIMITS)))
        elif isinstance(message, Ping):
            await send(encode(Pong(message.nonce)))
        elif isinstance(message, Resume):
            if message.resume_token not in self.tokens:
                await send(encode(Error("resume_failed", "unknown resume token")))
                return
            missed = [m for m in self.history if getattr(m, "rseq", 0) > message.last_rseq]
            acked = self.seq.applied if self.resumed_acked_seq is None else self.resumed_acked_seq
            await send(encode(Resumed(acked, False, len(missed))))
            for m in missed:
                await send(encode(m))
        elif isinstance(message, StartAttempt) and message.lesson.startswith("no-such"):
            await send(encode(Error("no_such_lesson", f"no lesson {message.lesson}")))
        elif isinstance(message, StartAttempt):
            self.seq = ClientSeq()
            await self.send(AttemptStarted(self.next_rseq(), 301, message.lesson, 2), connection)
            await self.send(StepStarted(self.next_rseq(), 0, True), connection)
        else:
            await self._sequenced(connection, getattr(message, "seq"))  # noqa: B009

    async def _sequenced(self, connection: FakeConnection, seq: int) -> None:
        send = connection.ws.send
        if seq in self.swallow:
            return
        try:
            fresh = self.seq.admit(seq)
        except ProtocolError as exc:
            await send(encode(Error(exc.code, exc.message, seq)))
            return
        if fresh:
            message = connection.received[-1]
            self.applied.append(message)
            if seq in self.refuse:
                await send(encode(Error(self.refuse[seq], "refused by the test", seq)))
                return
            if isinstance(message, Points):  # its feedback is its ack, as the server does
                if seq not in self.mute_acks:
                    rows = len(message.bin) // POINT_ROW_BYTES
                    await send(encode(LiveFeedback(seq, 0, 0, 0.5, 1.0, False, rows)))
                return
        if seq not in self.mute_acks:
            await send(encode(Ack(self.seq.applied)))

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls) -> AsyncIterator[FakeServer]:
        fake = cls()
        server: Server = await serve(fake.handle, "127.0.0.1", 0, compression=None)
        port = next(iter(server.sockets)).getsockname()[1]
        fake.url = f"ws://127.0.0.1:{port}/ws"
        try:
            yield fake
        finally:
            server.close()
            await server.wait_closed()


@pytest.fixture
async def fake_server() -> AsyncIterator[FakeServer]:
    async with FakeServer.running() as fake:
        yield fake

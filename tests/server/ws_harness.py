"""A real `inkroom` server (uvicorn, in a thread) on SQLite and on Postgres, and a tiny raw client.

Test modules load this with `pytest_plugins = ["ws_harness"]`. The client speaks the protocol
with the project's own codec over the `websockets` library, frame by frame, so the tests see
exactly what a third-party client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest
import uvicorn
from http_harness import CHEAP_HASHER, SECRET_KEY
from postgres_support import app_database
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from lessons import load_catalog
from server.app import create_app
from server.codec import decode_frames, encode
from server.config import Settings
from server.protocol import Ack, DeviceInfo, Hello, LiveFeedback, Message, Welcome
from server.serving import uvicorn_config

M = TypeVar("M", bound=Message)
PASSWORD = "Correct horse 7"
STYLUS = DeviceInfo("stylus", True, True, "test pen")
CATALOG = load_catalog()


@dataclass
class LiveServer:
    base: str
    backend: str

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"

    def signup(self, name: str = "player") -> str:
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": PASSWORD, "display_name": name}
        response = httpx.post(f"{self.base}/api/auth/signup", json=body, timeout=10)
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token

    def get(self, path: str, token: str) -> Any:
        response = httpx.get(
            f"{self.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def serving(backend: str, folder: Path, **overrides: Any) -> Iterator[LiveServer]:
    """A real server on a free port (uvicorn in a thread) until the block ends."""
    with app_database(backend, folder, "inkroom_live") as (url, options):
        yield from _run(url, options, backend, **overrides)


def _run(url: str, options: dict[str, Any], backend: str, **overrides: Any) -> Iterator[LiveServer]:
    app = create_app(
        Settings(database_url=url, secret_key=SECRET_KEY, **overrides),
        engine_options=options,
        password_hasher=CHEAP_HASHER,
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{backend}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the server failed to start"
        assert time.monotonic() < deadline, "the server did not start in 60 s"
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", backend)
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="session", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with serving(request.param, tmp_path_factory.mktemp("live")) as server:
        yield server


class Raw:
    """One WebSocket, frames in and out through the project's codec; no cleverness."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.inbox: list[Message] = []
        self._unread: deque[Message] = deque()

    async def send(self, message: Message) -> None:
        await self.ws.send(encode(message))

    async def send_bytes(self, frame: bytes | str) -> None:
        await self.ws.send(frame)

    async def recv(self, timeout: float = 10.0) -> Message:
        """The next message: from the frame being read (a batch holds several), or a new one."""
        if not self._unread:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            assert isinstance(frame, bytes)
            self._unread.extend(decode_frames(frame))
        message = self._unread.popleft()
        self.inbox.append(message)
        return message

    async def acked(self, seq: int, timeout: float = 10.0) -> None:
        """Read until the server has acknowledged `seq`: an `ack`, or a batch's `feedback`."""
        while True:
            message = await self.recv(timeout)
            if isinstance(message, Ack | LiveFeedback) and message.seq >= seq:
                return

    async def expect(self, kind: type[M], timeout: float = 10.0) -> M:
        """Read until a message of `kind` arrives (the ones before it stay in `inbox`)."""
        while True:
            message = await self.recv(timeout)
            if isinstance(message, kind):
                return message

    def seen(self, kind: type[M]) -> list[M]:
        return [m for m in self.inbox if isinstance(m, kind)]


async def closed_with(raw: Raw) -> int | None:
    """Read until the server closes; the code of its close frame (None: no close frame)."""
    try:
        while True:
            await raw.recv(10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def open_raw(
    live: LiveServer, token: str, device: DeviceInfo = STYLUS
) -> tuple[Raw, Welcome]:
    ws = await connect(live.ws_url, max_size=2**20)
    raw = Raw(ws)
    await raw.send(Hello(token, device))
    welcome = await raw.expect(Welcome)
    return raw, welcome


def stroke_rows(target: np.ndarray, n: int = 40, duration: float = 800.0) -> np.ndarray:
    """A clean stylus stroke along a target polyline, as wire rows (float32, 6 columns)."""
    seg = np.hypot(*np.diff(target, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    tau = np.linspace(0.0, 1.0, n)
    at = (10 * tau**3 - 15 * tau**4 + 6 * tau**5) * cum[-1]
    x = np.interp(at, cum, target[:, 0])
    y = np.interp(at, cum, target[:, 1])
    t = np.linspace(0.0, duration, n)
    rows = np.column_stack((x, y, t, np.full(n, 0.6), np.full(n, 20.0), np.zeros(n)))
    return rows.astype(np.float32)

"""End to end: slow consumers, floods and shutdown do not slow or break anyone else."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from ws_harness import CATALOG, PASSWORD, STYLUS, Raw, _free_port, open_raw, serving, stroke_rows

from server.codec import encode
from server.protocol import (
    Ack,
    CreateRoom,
    Error,
    GoingAway,
    Hello,
    JoinRoom,
    Ping,
    Points,
    Pong,
    RoomJoined,
    StartAttempt,
    StartRoom,
    StepStarted,
    StrokeBegin,
    StrokeEnd,
)
from server.protocol_errors import CLOSE_CODES

LESSON = "steady-lines"


async def test_ws_slow_consumer_is_cut_off_and_the_room_goes_on(tmp_path: Path) -> None:
    with serving("sqlite", tmp_path, send_queue_bytes=64 * 1024) as live:
        host, _ = await open_raw(live, live.signup("fast"))
        await host.send(CreateRoom(LESSON))
        code = (await host.expect(RoomJoined)).code
        # A client that stops reading, with a tiny receive buffer.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(live.base.rsplit(":", 1)[1])))
        slow_ws = await connect(live.ws_url, sock=sock, max_queue=1, max_size=2**22)
        slow = Raw(slow_ws)
        await slow.send(Hello(live.signup("slow"), STYLUS))
        await slow.send(JoinRoom(code))
        await host.send(StartRoom(1))
        await host.expect(StepStarted)
        big = np.tile(stroke_rows(CATALOG.lesson(LESSON).steps[0].targets[0], n=100), (10, 1))
        seq = 1
        for _stroke in range(12):  # ~2.9 MB relayed to a client reading nothing
            seq += 1
            await host.send(StrokeBegin(seq))
            for _ in range(10):
                seq += 1
                await host.send(Points.of(seq, big))
            seq += 1
            await host.send(StrokeEnd(seq))
            while (await host.expect(Ack, timeout=20)).seq < seq:
                pass  # the fast player is answered in full, whatever the slow one does
        codes = []
        try:
            while True:
                message = await slow.recv(10)
                if isinstance(message, Error):
                    codes.append(message.code)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            assert closed.rcvd.code == CLOSE_CODES["slow_consumer"]
        await host.send(Ping(3))
        assert (await host.expect(Pong)).nonce == 3
        await host.ws.close()


async def test_ws_flood_is_rate_limited_without_closing(tmp_path: Path) -> None:
    with serving("sqlite", tmp_path) as live:
        raw, welcome = await open_raw(live, live.signup("flood"))
        burst = int(welcome.limits["max_messages_per_second"])
        frame = encode(Ping(1))
        # Four seconds' worth at once: however slowly this machine serves them (the bucket
        # refills as they are read), some are over the limit unless serving took over 3 s.
        sent = 4 * burst
        for _ in range(sent):
            await raw.send_bytes(frame)
        errors = pongs = 0
        while pongs + errors < sent:
            message = await raw.recv()
            pongs += isinstance(message, Pong)
            errors += isinstance(message, Error) and message.code == "rate_limited"
        assert errors > 0  # the excess was dropped with an error ...
        assert pongs >= burst  # ... the burst answered, every message one or the other
        # ... and the connection lives on: once the bucket has refilled (one second at the
        # limit's rate), a ping is answered again.
        await asyncio.sleep(1.1)
        await raw.send(Ping(2))
        while not isinstance(message := await raw.recv(), Pong) or message.nonce != 2:
            assert not isinstance(message, Error), message
        await raw.ws.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
async def test_ws_sigterm_sends_going_away_and_flushes_accepted_writes(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "INKROOM_SECRET_KEY": "k" * 40}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--database-url",
         f"sqlite:///{tmp_path / 'inkroom.db'}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        body = {"email": "term@example.com", "password": PASSWORD, "display_name": "term"}
        token = httpx.post(f"{base}/api/auth/signup", json=body, timeout=10).json()["token"]
        ws = await connect(f"ws://127.0.0.1:{port}/ws")
        raw = Raw(ws)
        await raw.send(Hello(token, STYLUS))
        await raw.send(StartAttempt(LESSON))
        await raw.expect(StepStarted)
        rows = stroke_rows(CATALOG.lesson(LESSON).steps[0].targets[0])
        await raw.send(StrokeBegin(1))
        await raw.send(Points.of(2, rows))
        await raw.send(StrokeEnd(3))
        await raw.acked(3)
        server.send_signal(signal.SIGTERM)
        notice = await raw.expect(GoingAway)
        assert notice.reconnect
        with pytest.raises(ConnectionClosed) as closed:
            await raw.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    # the accepted stroke was written before the process exited
    with sqlite3.connect(tmp_path / "inkroom.db") as db:
        (n,) = db.execute("SELECT count(*) FROM strokes").fetchone()
    assert n == 1

"""The live server's whole path per message, without sockets (issue 4, "Speed"; docs/load.md).

    python3 -m pytest benchmarks/test_session.py --benchmark-only

The real app on a temporary SQLite file (its services, its hub, its batched writer thread),
and four `LiveSession`s, one per player of a room of four, each on a fake link that only counts
what it is given. Everything the load test's server does per message is here (the rate check,
the strict decode, the task per message, the room, live scoring, the feedback and the peers'
copy, the send queues and their `batch` frames, persistence of every finished stroke) except
the sockets: the transport's frame parsing and the system calls.

The players draw real pen strokes (`shared/data/`, as the load bots do; synthesised strokes
without it), 4 points a batch, each stroke `stroke_begin`, its batches, `stroke_end`, with a
`retry` every 20 strokes. A round is one message from each player, then the loop runs until
every flush it scheduled is done. The figure is the time per message; the peer is the load
test's server CPU per batch (docs/load.md), which adds the sockets to this.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import numpy as np
import pytest
from argon2 import PasswordHasher, profiles
from inkroom_client.strokes import load_shapes, stroke_rows
from pytest_benchmark.fixture import BenchmarkFixture

from lessons import load_catalog
from schema import repository as repo
from server.app import create_app
from server.codec import encode
from server.config import Settings
from server.protocol import (
    CreateRoom,
    DeviceInfo,
    Hello,
    JoinRoom,
    Points,
    Retry,
    StartRoom,
    StrokeBegin,
    StrokeEnd,
)
from server.rate_limit import TokenBucket
from server.ws import LiveSession

LESSON = "steady-lines"
PLAYERS = 4
ROUNDS_PER_CALL = 50  # one message from every player, that many times a timed call (1 room)
CALLS = int(os.environ.get("BENCH_CALLS", "40"))
STROKES_PER_RETRY = 20


class CountingLink:
    """The transport as a session sees it, minus the socket: it keeps the last few messages
    (the set-up reads them) and counts the rest."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.recent: list[bytes] = []
        self.closed: int | None = None
        self.reading = True

    def write_message(self, payload: bytes) -> None:
        self.messages += 1
        self.bytes += len(payload)
        if len(self.recent) < 64:
            self.recent.append(payload)

    def buffered_bytes(self) -> int:
        return 0

    def close(self, code: int) -> None:
        self.closed = code

    abort = close

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def received(self) -> Iterator[dict[str, Any]]:
        """Every message written since the last call, `batch` frames opened."""
        for payload in self.recent:
            value = msgpack.unpackb(payload)
            yield from value["messages"] if value["type"] == "batch" else (value,)
        self.recent.clear()


class Player:
    def __init__(self, session: LiveSession, link: CountingLink, strokes: Iterator[Any]) -> None:
        self.session = session
        self.link = link
        self.seq = itertools.count(1)
        self.strokes = strokes

    def script(self, messages: int) -> Iterator[bytes]:
        """This player's next messages, encoded before the clock starts: strokes of 4-point
        batches, a retry now and then."""
        return iter(list(itertools.islice(self._script(), messages)))

    def _script(self) -> Iterator[bytes]:
        strokes = self.strokes
        for n in itertools.count(1):
            rows = next(strokes)
            yield encode(StrokeBegin(next(self.seq)))
            for i in range(0, len(rows) - 3, 4):
                yield encode(Points.of(next(self.seq), rows[i : i + 4]))
            yield encode(StrokeEnd(next(self.seq)))
            if n % STROKES_PER_RETRY == 0:
                yield encode(Retry(next(self.seq)))


async def _settle() -> None:
    """Let the loop run every task and callback the last messages started."""
    for _ in range(3):
        await asyncio.sleep(0)


async def _expect(link: CountingLink, kind: str) -> dict[str, Any]:
    """The first `kind` message the link is given from now on (waiting up to 5 s); no error."""
    got: list[dict[str, Any]] = []
    for _ in range(1000):
        got += link.received()
        errors = [m for m in got if m["type"] == "error"]
        assert not errors, errors
        found = [m for m in got if m["type"] == kind]
        if found:
            return found[0]
        await asyncio.sleep(0.005)
    raise AssertionError(f"no {kind} among {[m['type'] for m in got]}")


@contextlib.asynccontextmanager
async def _rooms(db_dir: Path, rooms: int) -> AsyncIterator[list[Player]]:
    """`rooms` active rooms of 4 players each, every player's session on a counting link."""
    settings = Settings(
        database_url=f"sqlite:///{db_dir / 'bench.db'}",
        secret_key="bench-" + "k" * 40,
        send_interval_ms=0,
    )
    app = create_app(settings, password_hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    async with app.router.lifespan_context(app):
        services, hub = app.state.services, app.state.hub
        async with services.sessions.begin() as db:
            users = [
                await repo.create_user(db, email=f"bench{i}@example.com", display_name=f"p{i}")
                for i in range(PLAYERS * rooms)
            ]
        shapes, _ = load_shapes(240.0, limit=400)
        target = load_catalog().lesson(LESSON).steps[0].targets[0].astype(np.float64)
        players = []
        for i, user in enumerate(users):
            link = CountingLink()
            session = LiveSession(hub, services, link)
            # the bench sends far faster than a person: the rate limit is not what it measures
            session.connection.rate = TokenBucket(1e12, 1e12)
            token = services.tokens.issue(user.id, user.role)
            session.on_message(encode(Hello(token, DeviceInfo("stylus", True, True, "bench"))))
            await _expect(link, "welcome")
            players.append(Player(session, link, stroke_rows(shapes, target, 240.0, seed=i)))
        for r in range(rooms):
            host, *guests = players[PLAYERS * r : PLAYERS * (r + 1)]
            host.session.on_message(encode(CreateRoom(LESSON)))
            code = (await _expect(host.link, "room_joined"))["code"]
            for guest in guests:
                guest.session.on_message(encode(JoinRoom(code)))
                await _expect(guest.link, "room_joined")
            host.session.on_message(encode(StartRoom(next(host.seq))))
            for p in (host, *guests):
                await _expect(p.link, "step_started")
        yield players


@pytest.mark.parametrize("rooms", [1, 25])
def test_points_path_in_rooms_of_four(
    benchmark: BenchmarkFixture, report: Callable[[str], None], rooms: int
) -> None:
    loop = asyncio.new_event_loop()
    per_call = ROUNDS_PER_CALL // rooms or 1  # rounds a timed call
    with tempfile.TemporaryDirectory() as tmp:
        setup = _rooms(Path(tmp), rooms)
        players = loop.run_until_complete(setup.__aenter__())
        try:
            scripts = [p.script(CALLS * per_call + 1) for p in players]

            async def rounds() -> None:
                for _ in range(per_call):
                    for p, script in zip(players, scripts, strict=True):
                        p.session.on_message(next(script))
                    await _settle()

            sent = [p.link.messages for p in players]
            cpu = time.process_time()
            benchmark.pedantic(  # type: ignore[no-untyped-call]
                lambda: loop.run_until_complete(rounds()), rounds=CALLS, iterations=1
            )
            cpu = time.process_time() - cpu
            # every player received something: nothing was refused, nobody was cut off
            got = list(players[0].link.received())
            assert not [m for m in got if m["type"] == "error"], got
            assert all(p.link.messages > s for p, s in zip(players, sent, strict=True))
            # a session may be held up by the writer's backpressure at the last round (its link
            # paused meanwhile): once everything queued is written, every link reads again
            loop.run_until_complete(players[0].session.hub.writer.flush())
            loop.run_until_complete(_settle())
            states = [(p.link.closed, p.link.reading, len(p.session._inbox)) for p in players]
            assert all(s[:2] == (None, True) for s in states), [
                (i, s) for i, s in enumerate(states) if s[:2] != (None, True)
            ]
        finally:
            loop.run_until_complete(setup.__aexit__(None, None, None))
            loop.close()
    messages = per_call * len(players)
    median = float(benchmark.stats.stats.median)  # type: ignore[union-attr]
    report(
        f"whole path, {rooms} room(s) of 4, one message (mostly 4-point batches): "
        f"{median * 1e6 / messages:.1f} us wall, {cpu * 1e6 / (CALLS * messages):.1f} us CPU "
        "(the writer thread's included); peer: the load test's server CPU per batch "
        "(docs/load.md)"
    )

"""`inkroom bot` run in-process against a real server (uvicorn in a thread, SQLite), checked
against what the server stored."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from inkroom_client import InkroomClient

from server.cli import main
from server.protocol import FinalResults, PeerPoints, PresenceUpdate, RoomJoined, StepStarted

# The live server harness of tests/server (pytest puts only tests/ on the path). It is
# imported when a test runs, not when this module is collected: collected first, it would
# import http_harness before the server tests register it as a plugin (pytest refuses that).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
if TYPE_CHECKING:
    from ws_harness import LiveServer


def _harness() -> ModuleType:
    return importlib.import_module("ws_harness")


LESSON = "steady-lines"  # first-marks, free, 6 steps of one target each
STEPS = 6
FAST = ["--speed", "25", "--quiet", "--json", "--timeout", "120", "--start-after", "30"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    with _harness().serving("sqlite", tmp_path) as live:
        yield live, tmp_path / "inkroom.db"


def _bot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["bot", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _stored(db: Path, want: int) -> tuple[int, int]:
    """(strokes, points) the server stored, waiting up to 20 s for its writer to get to `want`."""
    deadline = time.monotonic() + 20
    while True:
        with sqlite3.connect(db) as conn:
            strokes, points = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(n_points), 0) FROM strokes"
            ).fetchone()
        if strokes >= want or time.monotonic() > deadline:
            return int(strokes), int(points)
        time.sleep(0.1)


def test_bot_room_of_three_completes_a_lesson(
    served: tuple[LiveServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    live, db = served
    code, s = _bot(capsys, "--server", live.base, "--lesson", LESSON, "--players", "3", *FAST)
    assert code == 0, s
    assert s["mode"] == "room" and s["finished"] == 3 and s["failures"] == 0
    assert s["errors"] == {} and s["disconnects"] == 0
    assert s["strokes_sent"] == 3 * STEPS and s["steps_ended"] == 3 * STEPS
    assert s["scores"]["strokes_scored"] == s["strokes_sent"]
    assert s["scores"]["steps_scored"] == 3 * STEPS
    assert s["scores"]["final_total_mean"] is not None
    assert 0.0 <= s["scores"]["stroke_total_min"] <= s["scores"]["stroke_total_max"] <= 1.0
    feedback, peer = s["latency_ms"]["feedback"], s["latency_ms"]["peer"]
    assert feedback["n"] == s["batches_sent"] > 0  # one feedback per batch
    assert peer["n"] == 2 * s["batches_sent"]  # every batch reached both other players
    assert 0 <= peer["p50"] <= peer["p99"] <= peer["max"]
    assert any(note.startswith("room ") for note in s["notes"])  # the join code, printed
    assert _stored(db, s["strokes_sent"]) == (s["strokes_sent"], s["points_sent"])


def test_bot_synthetic_strokes_without_the_data_file(
    served: tuple[LiveServer, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    live, db = served
    missing = str(tmp_path / "no-such-strokes.jsonl.gz")
    code, s = _bot(capsys, "--server", live.base, "--lesson", LESSON, "--players", "2",
                   "--solo", "--strokes", missing, *FAST)  # fmt: skip
    assert code == 0, s
    assert s["source"] == "synthetic" and s["mode"] == "solo"
    assert s["finished"] == 2 and s["strokes_sent"] == 2 * STEPS
    assert s["scores"]["stroke_total_mean"] > 0.6  # synthetic strokes follow the targets
    assert _stored(db, s["strokes_sent"]) == (s["strokes_sent"], s["points_sent"])


async def test_bot_join_a_room_made_by_a_person(
    served: tuple[LiveServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    live, db = served
    stylus = _harness().STYLUS
    async with InkroomClient.connect(live.ws_url, live.signup("ann"), device=stylus) as ann:
        await ann.create_room(LESSON)
        room = (await ann.wait_for(RoomJoined)).code
        bots = asyncio.create_task(
            asyncio.to_thread(
                main,
                ["bot", "--server", live.base, "--join", room.lower(), "--players", "2", *FAST],
            )
        )
        await ann.wait_for(
            PresenceUpdate,
            lambda p: sum(x.role == "guest" and x.presence == "here" for x in p.participants) == 2,
            timeout=60,
        )
        await ann.start_room()
        peer_batches, late, holding = 0, None, False
        async for message in ann:  # Ann ends every step without drawing; the bots draw
            if isinstance(message, StepStarted):
                if message.step == 1 and late is None:  # the room is active: one more bot,
                    holding = True  # and Ann holds step 1 open until it is in
                    late = asyncio.create_task(
                        asyncio.to_thread(
                            main,
                            ["bot", "--server", live.base, "--join", room, "--players", "1", *FAST],
                        )
                    )
                else:
                    await ann.step_end()
            elif isinstance(message, PresenceUpdate) and holding:
                if any(p.role == "spectator" for p in message.participants):
                    holding = False
                    await ann.step_end()
            elif isinstance(message, PeerPoints):
                peer_batches += 1
            elif isinstance(message, FinalResults):
                assert message.reason == "completed"
                assert len(message.results) == 3
                break
        assert await asyncio.wait_for(bots, 60) == 0
        assert late is not None and await asyncio.wait_for(late, 60) == 0
    first, second = capsys.readouterr().out.split("\n}\n", 1)
    s, spectator = json.loads(first + "}"), json.loads(second)
    if s["spectators"]:  # the two runs printed in either order
        s, spectator = spectator, s
    assert s["mode"] == "join" and s["finished"] == 2 and s["spectators"] == 0
    assert s["strokes_sent"] == 2 * STEPS and s["errors"] == {}
    assert peer_batches == s["batches_sent"]  # Ann saw every batch the bots sent
    assert s["latency_ms"]["peer"]["n"] == s["batches_sent"]  # each bot saw the other's
    assert spectator["spectators"] == 1 and spectator["finished"] == 1
    assert spectator["strokes_sent"] == 0
    assert any("spectator" in note for note in spectator["notes"])
    assert _stored(db, s["strokes_sent"]) == (s["strokes_sent"], s["points_sent"])


def test_bot_refuses_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["--server", "ftp://x", "--lesson", LESSON],
        ["--lesson", LESSON, "--players", "0"],
        ["--join", "no!such"],
        ["--join", "ABCDEF", "--lesson", LESSON],
        ["--players", "2"],  # no lesson
        ["--lesson", LESSON, "--speed", "nan"],
    ):
        assert main(["bot", *args]) == 2, args
    assert "inkroom bot:" in capsys.readouterr().err


def test_bot_reports_a_lesson_it_may_not_open(
    served: tuple[LiveServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    live, _ = served
    code, s = _bot(capsys, "--server", live.base, "--lesson", "hatching", "--players", "2", *FAST)
    assert code == 1  # a VIP lesson: the room is refused, and the guest is told
    assert s["errors"] == {"no_such_lesson": 1} and s["failures"] == 2 and s["finished"] == 0


class CuttingProxy:
    """A TCP proxy in front of the server that drops every connection once, mid-run: when the
    WebSocket clients have sent `cut_after` bytes (an unannounced network drop)."""

    def __init__(self, upstream_port: int, cut_after: int) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.sent = 0
        self.cut = False
        self.writers: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        pair = {writer, up_writer}
        self.writers |= pair

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            websocket = False
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    websocket = websocket or data.startswith(b"GET /ws")
                    dst.write(data)
                    if up and websocket:
                        self.sent += len(data)
                        if not self.cut and self.sent >= self.cut_after:
                            self.cut = True
                            for w in list(self.writers):
                                w.transport.abort()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))
        self.writers -= pair


async def test_bot_reconnects_and_resumes_after_a_dropped_connection(
    served: tuple[LiveServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    live, db = served
    proxy = CuttingProxy(int(live.base.rsplit(":", 1)[1]), cut_after=6_000)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        args = ["bot", "--server", f"http://127.0.0.1:{port}", "--lesson", LESSON,
                "--players", "3", *FAST, "--speed", "5"]  # fmt: skip
        code = await asyncio.to_thread(main, args)
    finally:
        server.close()
    s = json.loads(capsys.readouterr().out)
    assert proxy.cut, "the run ended before the proxy cut it"
    assert code == 0, s
    assert s["reconnects"] >= 3 and s["disconnects"] == 0 and s["errors"] == {}
    assert s["finished"] == 3 and s["strokes_sent"] == 3 * STEPS
    assert _stored(db, s["strokes_sent"]) == (s["strokes_sent"], s["points_sent"])

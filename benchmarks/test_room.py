"""The live server's own work per message, without sockets: what the load test's CPU per batch
is made of, apart from the WebSocket stack (issue 4; docs/load.md).

    python3 -m pytest benchmarks/test_room.py --benchmark-only

- a `points` batch of 4 points in a room of 4: decode the frame, apply it to the room (live
  scoring, the feedback and the peers' copy, each encoded once), as the hub does;
- a `stroke_end` after a 40-point stroke, with 1 and with 10 strokes already in the step.

Each prints its median; the load test's server CPU per batch (docs/load.md) is the peer: what
is left of it after these is the WebSocket stack, the kernel and the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from lessons import load_catalog
from scoring import Device, warm_up
from server.codec import decode, encode
from server.outputs import Send
from server.protocol import Error, Points, StartRoom, StrokeBegin, StrokeEnd
from server.protocol_errors import DEFAULT_LIMITS
from server.room_state import Room

PEN = Device(pressure=True, tilt=True)
PLAYERS = (1, 2, 3, 4)
LESSON = "steady-lines"


def _median_us(benchmark: BenchmarkFixture) -> float:
    return float(benchmark.stats.stats.median) * 1e6  # type: ignore[union-attr]


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warm_up()


def _room() -> tuple[Room, np.ndarray]:
    """An active room of 4 pen players on step 0, and a 40-point stroke along its target."""
    lesson = next(
        le for course in load_catalog().courses for le in course.lessons if le.slug == LESSON
    )
    room = Room(1, "BENCH1", lesson, PLAYERS[0], None, DEFAULT_LIMITS)
    for user in PLAYERS:
        room.join(user, f"p{user}", PEN, user, 0.0, False)
    room.handle(PLAYERS[0], StartRoom(1), 0.0)
    target = np.asarray(lesson.steps[0].to_spec().targets[0])
    s = np.linspace(0.0, 1.0, 40)[:, None]
    rows = np.zeros((40, 6), np.float32)
    rows[:, :2] = target[0] + (target[-1] - target[0]) * s
    rows[:, 2] = np.arange(40) * (1000.0 / 240.0)
    rows[:, 3] = 0.6
    return room, rows


def _frames(outputs: Sequence[object]) -> int:
    """How many frames the outputs send; none of them may be an error."""
    sends = [o for o in outputs if isinstance(o, Send)]
    assert not any(isinstance(o.message, Error) for o in sends), sends
    return len(sends)


def test_points_batch_in_a_room_of_four(
    benchmark: BenchmarkFixture, report: Callable[[str], None]
) -> None:
    room, rows = _room()
    user, seq = PLAYERS[1], iter(range(1, 10**9))  # a guest's seqs start at 1
    room.handle(user, StrokeBegin(next(seq)), 1.0)
    state = room.members[user].drawing
    assert state is not None

    def one_batch() -> int:
        if state.scorer._n > 4000:  # stay inside the stroke's point limit
            room.handle(user, StrokeEnd(next(seq)), 1.0)
            room.handle(user, StrokeBegin(next(seq)), 1.0)
        frame = encode(Points.of(next(seq), rows[8:12]))
        return _frames(room.handle(user, decode(frame, limits=DEFAULT_LIMITS), 1.0))

    assert one_batch() == 2  # the sender's feedback, one frame for the peers
    benchmark(one_batch)
    median = _median_us(benchmark)
    report(f"room: a 4-point batch, decoded and applied in a room of 4: {median:.1f} us")


@pytest.mark.parametrize("before", [0, 9])
def test_stroke_end_in_a_room(
    benchmark: BenchmarkFixture, report: Callable[[str], None], before: int
) -> None:
    room, rows = _room()
    user, seq = PLAYERS[2], iter(range(1, 10**9))

    def stroke() -> None:
        room.handle(user, StrokeBegin(next(seq)), 1.0)
        for i in range(0, 40, 4):
            room.handle(user, Points.of(next(seq), rows[i : i + 4]), 1.0)

    for _ in range(before):
        stroke()
        room.handle(user, StrokeEnd(next(seq)), 1.0)

    def setup() -> tuple[tuple[()], dict[str, object]]:
        drawing = room.members[user].drawing
        assert drawing is not None
        if len(drawing.stroke_ids) > before:  # keep `before` strokes kept, then draw one more
            drawing.undo()
        stroke()
        return (), {}

    def end() -> int:
        return _frames(room.handle(user, StrokeEnd(next(seq)), 1.0))

    setup()
    assert end() == 3  # the stroke's score, the peers' stroke_end, the ack (and a record)

    benchmark.pedantic(end, setup=setup, rounds=300, warmup_rounds=5)  # type: ignore[no-untyped-call]
    report(
        f"room: stroke_end of a 40-point stroke with {before} strokes before it in the step: "
        f"{_median_us(benchmark):.1f} us"
    )

"""The bots' pure parts: the lesson they read, rooms and processes, matching, counting."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from inkroom_client.bot import BotConfig, PeerClock, groups
from inkroom_client.bot_stats import BotStats, Tally, format_summary, live_line, summary
from inkroom_client.lesson_plan import LessonError, lesson_plan
from inkroom_client.strokes import profile_for

from server.cli_bot import _plain, shares

LINE = [[100, 300], [700, 300]]


def _lesson(*steps: Any) -> dict[str, Any]:
    return {"lesson": {"steps": list(steps)}}


def test_bot_lesson_plan_reads_targets_and_profiles() -> None:
    curved = {"targets": [LINE], "pressure_profile": "downstrokes"}
    plan = lesson_plan(_lesson({"targets": [LINE, LINE]}, curved))
    assert [len(s.targets) for s in plan] == [2, 1]
    assert plan[0].targets[0].shape == (2, 2) and plan[1].pressure_profile == "downstrokes"


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"lesson": None},
        _lesson(),
        _lesson({"targets": []}),
        _lesson({"targets": [[[1, 2]]]}),  # one point
        _lesson({"targets": [[[1, 2, 3], [4, 5, 6]]]}),
        _lesson({"targets": [[[1, float("nan")], [4, 5]]]}),
        _lesson({"targets": [["a", "b"]]}),
        _lesson({"targets": "M 0 0 L 1 1"}),
        _lesson(["not", "a", "step"]),
        _lesson({"targets": [LINE] * 300}),
    ],
)
def test_bot_lesson_plan_refuses_what_cannot_be_drawn(answer: dict[str, Any]) -> None:
    with pytest.raises(LessonError):
        lesson_plan(answer)


def test_bot_profile_for_refuses_hostile_values() -> None:
    assert profile_for([[0.1, float("inf")]], 0) is None
    assert profile_for([[-1, 5]], 0) == [0.0, 1.0]


def test_bot_rooms_and_processes() -> None:
    assert groups(10, 4) == [4, 4, 2] and groups(3, 0) == [3] and groups(0, 4) == []
    room = BotConfig("http://x", "steady-lines", players=10, room_size=4)
    parts = shares(room, 2)
    assert [p.players for p in parts] == [6, 4]  # whole rooms: 4+2 and 4
    assert [p.first for p in parts] == [0, 6] and {p.tag for p in parts} == {room.tag}
    assert [groups(p.players, p.room_size) for p in parts] == [[4, 2], [4]]
    one_room = BotConfig("http://x", "steady-lines", players=5)
    assert [p.players for p in shares(one_room, 4)] == [5]  # a room is never split
    solo = BotConfig("http://x", "steady-lines", players=5, solo=True)
    assert [p.players for p in shares(solo, 2)] == [3, 2]


def test_bot_peer_clock_matches_each_copy_once() -> None:
    clock = PeerClock()
    clock.sent(7, b"batch", copies=2, now=10.0)
    clock.sent(7, b"alone", copies=0, now=10.0)  # nobody here to receive it
    assert clock.received(7, b"batch", 10.25) == pytest.approx(0.25)
    assert clock.received(8, b"batch", 10.5) is None  # another sender's bytes
    assert clock.received(7, b"batch", 10.5) == pytest.approx(0.5)
    assert clock.received(7, b"batch", 11.0) is None and len(clock) == 0
    assert clock.received(7, b"alone", 11.0) is None


def test_bot_stats_add_up_across_processes() -> None:
    a, b = BotStats(), BotStats()
    a.counts.update(players=2, strokes_sent=3, finished=2)
    a.feedback_ms += [1.0, 2.0]
    a.errors["bad_seq"] += 1
    a.note("room ABCDEF")
    b.counts.update(players=1, strokes_sent=1)
    tally = Tally()
    tally.add(0, a.report())
    tally.add(1, b.report())
    a.counts["strokes_sent"] += 2
    a.feedback_ms.append(3.0)
    tally.add(0, a.report())  # counts replace, samples add only what is new
    s = tally.stats
    assert s.counts["strokes_sent"] == 6 and s.counts["players"] == 3
    assert s.feedback_ms == [1.0, 2.0, 3.0] and s.errors == {"bad_seq": 1}
    assert s.notes == ["room ABCDEF"]


def test_bot_summary_text_and_json() -> None:
    stats = BotStats()
    stats.counts.update(players=2, finished=2, strokes_sent=4, steps_scored=2, steps_passed=1)
    stats.stroke_totals += [0.5, 0.9]
    stats.feedback_ms += [float(i) for i in range(1, 101)]
    s = summary(stats, mode="room", lesson="steady-lines", source="synthetic", elapsed_s=1.0)
    assert s["scores"]["stroke_total_mean"] == pytest.approx(0.7)
    assert s["latency_ms"]["feedback"]["p50"] == pytest.approx(50.5)
    assert s["latency_ms"]["feedback"]["max"] == 100.0
    assert math.isnan(s["latency_ms"]["peer"]["p99"])
    plain = json.loads(json.dumps(_plain(s)))  # strict JSON: NaN became null
    assert plain["latency_ms"]["peer"]["p99"] is None
    text = format_summary(s)
    assert "4 strokes" in text and "steps passed 1/2" in text and "p50 50.5" in text
    assert "strokes 4" in live_line(stats, 2.0)

"""End to end over a real server and real WebSockets: a solo attempt, on SQLite and Postgres."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
from ws_harness import CATALOG, LiveServer, Raw, live, open_raw, stroke_rows

from server.protocol import (
    Ack,
    AttemptResult,
    AttemptStarted,
    LiveFeedback,
    NextStep,
    Points,
    StartAttempt,
    StepEnd,
    StepResult,
    StepStarted,
    StrokeBegin,
    StrokeEnd,
    StrokeScored,
)

__all__ = ["live"]  # the fixture, imported to be found

LESSON = "steady-lines"


class Seq:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


async def draw_step(raw: Raw, seq: Seq, targets: list[np.ndarray], batch: int = 8) -> None:
    for target in targets:
        await raw.send(StrokeBegin(seq()))
        rows = stroke_rows(target)
        for i in range(0, len(rows), batch):
            await raw.send(Points.of(seq(), rows[i : i + batch]))
        await raw.send(StrokeEnd(seq()))
        await raw.expect(StrokeScored)
    await raw.send(StepEnd(seq()))


async def wait_until(check: object, what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_ws_solo_attempt_end_to_end_is_scored_and_stored(live: LiveServer) -> None:
    token = live.signup("solo")
    lesson = CATALOG.lesson(LESSON)
    raw, welcome = await open_raw(live, token)
    assert welcome.name == "solo"
    await raw.send(StartAttempt(LESSON))
    started = await raw.expect(AttemptStarted)
    assert started.steps == len(lesson.steps)
    seq = Seq()
    results = []
    for index, step in enumerate(lesson.steps):
        began = await raw.expect(StepStarted)
        assert began.step == index
        await draw_step(raw, seq, list(step.targets))
        results.append((await raw.expect(StepResult)).score)
        await raw.send(NextStep(seq()))
    final = await raw.expect(AttemptResult)
    await raw.acked(seq.n)
    await raw.ws.close()

    feedback = raw.seen(LiveFeedback)
    assert feedback, "live feedback after every batch"
    assert all(0.0 <= f.progress <= 1.0 for f in feedback)
    assert max(a.seq for a in raw.seen(Ack)) == seq.n  # every message applied and acked
    assert all(r.passed for r in results), [r.feedback for r in results if not r.passed]
    assert final.passed
    assert final.total > 0.8

    def stored() -> bool:
        attempts = live.get("/api/me/attempts", token)["attempts"]
        return bool(attempts) and attempts[0]["status"] == "finished"

    await wait_until(stored, "the finished attempt in the database")
    attempt = live.get("/api/me/attempts", token)["attempts"][0]
    progress = live.get("/api/me/progress", token)["progress"]
    assert [p["lesson_slug"] for p in progress] == [LESSON]
    assert abs(progress[0]["best_score"] - final.total) < 1e-6
    replay = live.get(f"/api/attempts/{attempt['id']}/replay", token)
    n_strokes = sum(len(step.targets) for step in lesson.steps)
    assert len(replay["strokes"]) == n_strokes
    assert sum(s["n_points"] for s in replay["strokes"]) == n_strokes * 40
    metrics = httpx.get(f"{live.base}/metrics", timeout=10).text
    scored = [ln for ln in metrics.splitlines() if ln.startswith("inkroom_points_scored_total")]
    assert float(scored[0].split()[-1]) >= n_strokes * 40
    assert 'inkroom_messages_in_total{type="points"}' in metrics
    kinds = [e["type"] for e in replay["events"]]
    assert kinds.count("finish_step") == len(lesson.steps)
    assert kinds.count("start_step") == len(lesson.steps)

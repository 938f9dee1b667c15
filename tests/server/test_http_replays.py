"""Replays for the web client: stroke scores and times, a user's sessions, a room step's replay."""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from schema import repository as repo

if TYPE_CHECKING:
    from http_harness import Account, Api

pytest_plugins = ["http_harness"]


def _line(n: int = 60, *, off: float = 0.0) -> np.ndarray:
    """A stylus stroke along steady-lines' first target (100, 300) -> (700, 300), `off` below."""
    x = np.linspace(100, 700, n)
    rows = np.column_stack(
        (
            x,
            np.full(n, 300 + off),
            np.linspace(0, 900, n),
            np.full(n, 0.6),
            np.zeros(n),
            np.zeros(n),
        )
    )
    return rows.astype(np.float32)


def _session(api: Api, host: Account) -> uuid.UUID:
    response = api.client.post(
        "/api/sessions", json={"lesson": "steady-lines"}, headers=host.headers
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["session"]["id"])


def _play(api: Api, session_id: uuid.UUID, strokes: dict[Account, list[np.ndarray]]) -> None:
    """Each account joins the session and draws `strokes` on its step 0 (step 1 gets one too)."""

    async def work(db: AsyncSession) -> None:
        lesson = await repo.lesson_with_steps(db, "steady-lines")
        assert lesson is not None
        steps = sorted(lesson.steps, key=lambda s: s.order)
        for account, rows in strokes.items():
            await repo.join_session(db, session_id, user_id=account.user_id)
            made = await repo.create_attempt(
                db,
                user_id=account.user_id,
                lesson_id=lesson.id,
                scorer_version="test",
                session_id=session_id,
            )
            news = [repo.NewStroke(made.id, steps[0].id, i, r) for i, r in enumerate(rows)]
            news.append(repo.NewStroke(made.id, steps[1].id, len(rows), _line(5, off=90)))
            await repo.append_strokes(db, news)

    api.db(work)


def _get(api: Api, path: str, account: Account) -> Any:
    response = api.client.get(path, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_step_replay_has_every_players_strokes_with_scores(api: Api) -> None:
    host, guest = api.signup("host"), api.signup("guest")
    session_id = _session(api, host)
    _play(api, session_id, {host: [_line()], guest: [_line(off=40), _line(30)]})
    for account in (host, guest):
        body = _get(api, f"/api/sessions/{session_id}/steps/0/replay", account)
        assert body["step"] == 0
        assert body["points_format"]["columns"][:3] == ["x", "y", "t"]
        players = {p["display_name"]: p for p in body["players"]}
        assert set(players) == {"Host", "Guest"}
        (mine,) = players["Host"]["strokes"]
        off, clean = players["Guest"]["strokes"]
        points = np.frombuffer(base64.b64decode(mine["points"]), "<f4").reshape(-1, 6)
        np.testing.assert_array_equal(points, _line())
        assert mine["n_points"] == 60
        assert mine["created_at"] is not None
        # scored again from the stored points: on the line scores high, 40 units off low
        assert mine["score"] > 0.8
        assert clean["score"] > 0.8
        assert off["score"] < mine["score"] - 0.2
    other_step = _get(api, f"/api/sessions/{session_id}/steps/1/replay", host)
    assert [len(p["strokes"]) for p in other_step["players"]] == [1, 1]


def test_step_replay_refuses_a_non_participant_and_bad_steps(api: Api) -> None:
    host, stranger = api.signup("host"), api.signup("stranger")
    session_id = _session(api, host)
    _play(api, session_id, {host: [_line()]})
    refused = api.client.get(f"/api/sessions/{session_id}/steps/0/replay", headers=stranger.headers)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    assert "Host" not in refused.text
    for path in (
        f"/api/sessions/{session_id}/steps/99/replay",
        f"/api/sessions/{session_id}/steps/-1/replay",
        f"/api/sessions/{session_id}/steps/x/replay",
        f"/api/sessions/{uuid.uuid4()}/steps/0/replay",
        "/api/sessions/not-a-uuid/steps/0/replay",
    ):
        assert api.client.get(path, headers=host.headers).status_code == 404, path


def test_my_sessions_lists_only_the_callers(api: Api) -> None:
    host, guest, stranger = api.signup("host"), api.signup("guest"), api.signup("stranger")
    session_id = _session(api, host)
    _play(api, session_id, {guest: [_line()]})
    for account, role in ((host, "host"), (guest, "guest")):
        (found,) = _get(api, "/api/me/sessions", account)["sessions"]
        assert found["id"] == str(session_id)
        assert found["role"] == role
        assert found["lesson"]["slug"] == "steady-lines"
        assert found["join_code"]
    assert _get(api, "/api/me/sessions", stranger)["sessions"] == []
    bad = api.client.get("/api/me/sessions?limit=0", headers=host.headers)
    assert bad.status_code == 400


def test_attempt_replay_strokes_carry_score_and_time(api: Api) -> None:
    learner, other = api.signup("learner"), api.signup("other")
    session_id = _session(api, learner)
    _play(api, session_id, {learner: [_line()]})
    (attempt,) = _get(api, "/api/me/attempts", learner)["attempts"]
    body = _get(api, f"/api/attempts/{attempt['id']}/replay", learner)
    assert len(body["steps"]) == 6
    first, second = body["strokes"]
    assert first["step_id"] == body["steps"][0]
    assert first["score"] > 0.8
    assert second["step_id"] == body["steps"][1]
    assert first["created_at"] is not None
    refused = api.client.get(f"/api/attempts/{attempt['id']}/replay", headers=other.headers)
    assert refused.status_code == 404

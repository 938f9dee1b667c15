from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from schema import repository as repo
from server.http_sessions import JOIN_CODE_ALPHABET, MAX_OPEN_SESSIONS_PER_USER

if TYPE_CHECKING:
    from http_harness import Account, Api

pytest_plugins = ["http_harness"]


def _create(api: Api, account: Account, lesson: str = "steady-lines") -> dict[str, Any]:
    response = api.client.post("/api/sessions", json={"lesson": lesson}, headers=account.headers)
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()["session"]
    return session


def test_sessions_create_answers_an_id_and_a_short_join_code(api: Api) -> None:
    host = api.signup("host")
    session = _create(api, host)
    uuid.UUID(str(session["id"]))
    assert re.fullmatch(f"[{JOIN_CODE_ALPHABET}]{{6}}", str(session["join_code"]))
    assert session["state"] == "waiting"
    assert session["lesson"]["slug"] == "steady-lines"
    (participant,) = session["participants"]
    assert participant["user_id"] == str(host.user_id) and participant["role"] == "host"
    assert "email" not in str(session)


def test_sessions_create_for_a_vip_lesson_needs_a_subscription(api: Api) -> None:
    host = api.signup("host")
    response = api.client.post("/api/sessions", json={"lesson": "hatching"}, headers=host.headers)
    assert response.status_code == 402
    api.subscribe(host)
    _create(api, host, "hatching")


def test_sessions_create_for_an_unknown_lesson_is_404(api: Api) -> None:
    host = api.signup("host")
    response = api.client.post("/api/sessions", json={"lesson": "nope"}, headers=host.headers)
    assert response.status_code == 404


def test_sessions_create_validates_its_body(api: Api) -> None:
    host = api.signup("host")
    for body, code in [({}, "missing_field"), ({"lesson": 3}, "invalid_field")]:
        response = api.client.post("/api/sessions", json=body, headers=host.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_sessions_create_is_limited_per_user(api: Api) -> None:
    host = api.signup("host")
    for _ in range(MAX_OPEN_SESSIONS_PER_USER):
        _create(api, host)
    response = api.client.post(
        "/api/sessions", json={"lesson": "steady-lines"}, headers=host.headers
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_open_sessions"


def test_sessions_get_shows_participants_and_results(api: Api) -> None:
    host, guest = api.signup("host"), api.signup("guest")
    session_id = uuid.UUID(str(_create(api, host)["id"]))

    async def play(db: AsyncSession) -> None:
        await repo.join_session(db, session_id, user_id=guest.user_id)
        lesson = await repo.lesson_with_steps(db, "steady-lines")
        assert lesson is not None
        await repo.record_shared_attempt(
            db,
            session_id=session_id,
            step_id=lesson.steps[0].id,
            aggregated_score=0.5,
            participant_scores={host.user_id: 0.4, guest.user_id: 0.6},
        )

    api.db(play)
    for account in (host, guest):
        response = api.client.get(f"/api/sessions/{session_id}", headers=account.headers)
        assert response.status_code == 200
        session = response.json()["session"]
        names = {p["display_name"] for p in session["participants"]}
        assert names == {"Host", "Guest"}
        (shared,) = session["shared_results"]
        assert shared["participant_scores"] == {str(host.user_id): 0.4, str(guest.user_id): 0.6}


def test_sessions_get_refuses_a_non_participant(api: Api) -> None:
    host, stranger = api.signup("host"), api.signup("stranger")
    session_id = _create(api, host)["id"]
    response = api.client.get(f"/api/sessions/{session_id}", headers=stranger.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert str(host.user_id) not in response.text


def test_sessions_get_unknown_or_malformed_id_is_404(api: Api) -> None:
    account = api.signup()
    for session_id in (uuid.uuid4(), "not-a-uuid"):
        response = api.client.get(f"/api/sessions/{session_id}", headers=account.headers)
        assert response.status_code == 404

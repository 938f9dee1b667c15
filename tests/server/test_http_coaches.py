"""Coaches: a learner links a coach, who then reads the learner's attempts and replays.

Coaches are made by setting the role in the database (no endpoint makes one), as an admin
would.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from schema.models import CoachLink, User

if TYPE_CHECKING:
    from http_harness import Account, Api

pytest_plugins = ["http_harness"]


def _set_role(api: Api, account: Account, role: str, *, active: bool = True) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(User).where(User.id == account.user_id).values(role=role, is_active=active)
        )

    api.db(work)


def _coach(api: Api, name: str = "carla") -> Account:
    account = api.signup(name)
    _set_role(api, account, "coach")
    return account


def _links(api: Api, learner: Account) -> int:
    async def work(session: AsyncSession) -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(CoachLink)
            .where(CoachLink.learner_id == learner.user_id)
        )
        return int(count or 0)

    return api.db(work)


def _link(api: Api, learner: Account, coach: Account) -> None:
    response = api.client.post(
        "/api/me/coaches", json={"email": coach.email}, headers=learner.headers
    )
    assert response.status_code in (200, 201), response.text


def test_a_linked_coach_lists_the_learner_and_reads_attempts_and_replay(api: Api) -> None:
    ada, coach = api.signup("ada"), _coach(api)
    response = api.client.post(
        "/api/me/coaches", json={"email": coach.email.upper()}, headers=ada.headers
    )
    assert response.status_code == 201, response.text
    linked = response.json()["coach"]
    assert (linked["id"], linked["display_name"], linked["email"]) == (
        str(coach.user_id),
        "Carla",
        coach.email,
    )
    mine = api.client.get("/api/me/coaches", headers=ada.headers).json()["coaches"]
    assert [c["id"] for c in mine] == [str(coach.user_id)]

    # before any attempt the learner is listed with none
    learners = api.client.get("/api/coach/learners", headers=coach.headers).json()["learners"]
    assert learners == [
        {
            "id": str(ada.user_id),
            "display_name": "Ada",
            "linked_at": learners[0]["linked_at"],
            "attempts_count": 0,
            "last_attempt_at": None,
        }
    ]
    first = api.attempt(ada, score=0.6)
    attempt_id = api.attempt(ada, strokes=2, events=("start_step", "undo"))
    learners = api.client.get("/api/coach/learners", headers=coach.headers).json()["learners"]
    assert [(e["id"], e["attempts_count"]) for e in learners] == [(str(ada.user_id), 2)]
    last = datetime.fromisoformat(learners[0]["last_attempt_at"])
    assert last.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - last) < timedelta(minutes=5)
    assert "email" not in learners[0]  # a learner's email stays theirs

    response = api.client.get(f"/api/learners/{ada.user_id}/attempts", headers=coach.headers)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["attempts"]] == [str(attempt_id), str(first)]
    response = api.client.get(
        f"/api/learners/{ada.user_id}/attempts?limit=1", headers=coach.headers
    )
    assert [a["id"] for a in response.json()["attempts"]] == [str(attempt_id)]

    response = api.client.get(f"/api/attempts/{attempt_id}/replay", headers=coach.headers)
    assert response.status_code == 200, response.text
    replay = response.json()
    assert replay["attempt"]["id"] == str(attempt_id)
    assert [(s["seq"], s["n_points"]) for s in replay["strokes"]] == [(0, 10), (1, 11)]
    # the owner's events are shown to the coach, though the coach did not make them
    assert [e["type"] for e in replay["events"]] == ["start_step", "undo"]


def test_a_coach_not_linked_gets_404_on_attempts_and_replay(api: Api) -> None:
    ada, coach, other = api.signup("ada"), _coach(api), _coach(api, "otto")
    _link(api, ada, coach)
    attempt_id = api.attempt(ada, strokes=1)
    for path in (f"/api/learners/{ada.user_id}/attempts", f"/api/attempts/{attempt_id}/replay"):
        response = api.client.get(path, headers=other.headers)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
        assert str(attempt_id) not in response.text
        assert api.client.get(path, headers=coach.headers).status_code == 200
    assert api.client.get("/api/coach/learners", headers=other.headers).json() == {"learners": []}
    # an unknown learner answers exactly like one who did not link this coach
    refused = api.client.get(f"/api/learners/{ada.user_id}/attempts", headers=other.headers)
    unknown = api.client.get(f"/api/learners/{uuid.uuid4()}/attempts", headers=other.headers)
    assert (unknown.status_code, unknown.json()) == (404, refused.json())
    assert api.client.get("/api/learners/nope/attempts", headers=coach.headers).status_code == 404


def test_a_player_reading_another_learners_attempts_is_404(api: Api) -> None:
    ada, eve = api.signup("ada"), api.signup("eve")
    attempt_id = api.attempt(ada, strokes=1)
    response = api.client.get(f"/api/learners/{ada.user_id}/attempts", headers=eve.headers)
    assert response.status_code == 404
    assert (
        api.client.get(f"/api/attempts/{attempt_id}/replay", headers=eve.headers).status_code == 404
    )
    # the learner reads their own list here too
    own = api.client.get(f"/api/learners/{ada.user_id}/attempts", headers=ada.headers)
    assert [a["id"] for a in own.json()["attempts"]] == [str(attempt_id)]


def test_a_linked_learner_does_not_read_the_coachs_attempts(api: Api) -> None:
    ada, coach = api.signup("ada"), _coach(api)
    _link(api, ada, coach)
    coach_attempt = api.attempt(coach, strokes=1)
    response = api.client.get(f"/api/attempts/{coach_attempt}/replay", headers=ada.headers)
    assert response.status_code == 404
    response = api.client.get(f"/api/learners/{coach.user_id}/attempts", headers=ada.headers)
    assert response.status_code == 404


def test_a_player_cannot_be_linked_and_cannot_list_learners(api: Api) -> None:
    ada, bob = api.signup("ada"), api.signup("bob")
    player = api.client.post("/api/me/coaches", json={"email": bob.email}, headers=ada.headers)
    unknown = api.client.post(
        "/api/me/coaches", json={"email": "nobody-at-all@example.org"}, headers=ada.headers
    )
    # a player's email and one with no account answer the same: no account is revealed
    assert player.status_code == unknown.status_code == 404
    assert player.json() == unknown.json()
    assert player.json()["error"]["code"] == "no_such_coach"
    assert _links(api, ada) == 0

    response = api.client.get("/api/coach/learners", headers=bob.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_disabled_coach_cannot_be_linked(api: Api) -> None:
    ada, coach = api.signup("ada"), api.signup("carla")
    _set_role(api, coach, "coach", active=False)
    response = api.client.post("/api/me/coaches", json={"email": coach.email}, headers=ada.headers)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "no_such_coach")


def test_an_admin_lists_learners(api: Api) -> None:
    admin = api.signup("root")
    _set_role(api, admin, "admin")
    response = api.client.get("/api/coach/learners", headers=admin.headers)
    assert (response.status_code, response.json()) == (200, {"learners": []})


def test_linking_yourself_is_400(api: Api) -> None:
    for account in (api.signup("ada"), _coach(api)):
        response = api.client.post(
            "/api/me/coaches", json={"email": account.email}, headers=account.headers
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "cannot_coach_yourself"
        assert _links(api, account) == 0


def test_link_body_is_checked(api: Api) -> None:
    ada = api.signup("ada")
    for body, code in (
        ({}, "missing_field"),
        ({"email": 7}, "invalid_field"),
        ({"email": "x@example.org", "role": "coach"}, "unknown_field"),
    ):
        response = api.client.post("/api/me/coaches", json=body, headers=ada.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (400, code), body


def test_linking_twice_keeps_one_link(api: Api) -> None:
    ada, coach = api.signup("ada"), _coach(api)
    first = api.client.post("/api/me/coaches", json={"email": coach.email}, headers=ada.headers)
    again = api.client.post("/api/me/coaches", json={"email": coach.email}, headers=ada.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert _links(api, ada) == 1
    assert len(api.client.get("/api/me/coaches", headers=ada.headers).json()["coaches"]) == 1
    learners = api.client.get("/api/coach/learners", headers=coach.headers).json()["learners"]
    assert [e["id"] for e in learners] == [str(ada.user_id)]


def test_after_unlinking_the_coach_is_refused_again(api: Api) -> None:
    ada, coach = api.signup("ada"), _coach(api)
    _link(api, ada, coach)
    attempt_id = api.attempt(ada, strokes=1)
    replay = f"/api/attempts/{attempt_id}/replay"
    attempts = f"/api/learners/{ada.user_id}/attempts"
    assert api.client.get(replay, headers=coach.headers).status_code == 200

    response = api.client.delete(f"/api/me/coaches/{coach.user_id}", headers=ada.headers)
    assert response.status_code == 204 and response.content == b""
    assert api.client.get(replay, headers=coach.headers).status_code == 404
    assert api.client.get(attempts, headers=coach.headers).status_code == 404
    assert api.client.get("/api/coach/learners", headers=coach.headers).json() == {"learners": []}
    assert api.client.get("/api/me/coaches", headers=ada.headers).json() == {"coaches": []}
    # and the owner still reads it
    assert api.client.get(replay, headers=ada.headers).status_code == 200

    again = api.client.delete(f"/api/me/coaches/{coach.user_id}", headers=ada.headers)
    assert (again.status_code, again.json()["error"]["code"]) == (404, "not_found")
    for coach_id in (uuid.uuid4(), "nope"):
        response = api.client.delete(f"/api/me/coaches/{coach_id}", headers=ada.headers)
        assert response.status_code == 404


def test_a_coach_cannot_end_a_learners_link(api: Api) -> None:
    ada, coach = api.signup("ada"), _coach(api)
    _link(api, ada, coach)
    response = api.client.delete(f"/api/me/coaches/{ada.user_id}", headers=coach.headers)
    assert response.status_code == 404
    assert _links(api, ada) == 1


def test_a_demoted_coach_loses_access(api: Api) -> None:
    ada, coach = api.signup("ada"), _coach(api)
    _link(api, ada, coach)
    attempt_id = api.attempt(ada, strokes=1)
    _set_role(api, coach, "player")
    assert (
        api.client.get(f"/api/attempts/{attempt_id}/replay", headers=coach.headers).status_code
        == 404
    )
    assert api.client.get("/api/coach/learners", headers=coach.headers).status_code == 403


def test_a_learners_coaches_are_theirs_alone(api: Api) -> None:
    ada, bob, coach = api.signup("ada"), api.signup("bob"), _coach(api)
    _link(api, ada, coach)
    assert api.client.get("/api/me/coaches", headers=bob.headers).json() == {"coaches": []}
    learners = api.client.get("/api/coach/learners", headers=coach.headers).json()["learners"]
    assert [e["id"] for e in learners] == [str(ada.user_id)]

"""Coaches: a learner links the coaches who may read their attempts and replays.

The learner makes and ends every link (`/api/me/coaches`), naming the coach by email; a coach
lists the learners who linked them (`/api/coach/learners`) and reads their attempts here and
their replays at `/api/attempts/{id}/replay`. For anyone else a learner's data answers 404,
exactly as data that does not exist. A learner sees of a coach their id, display name and email
(the learner typed it); a coach sees of a learner their id, display name and attempt counts,
never their email.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schema import repository as repo
from schema.models import User
from server.http_api import (
    STAFF_ROLES,
    ApiError,
    api_route,
    current_user,
    int_query,
    iso,
    not_found,
    read_json_object,
    services,
    string_field,
    uuid_param,
)
from server.http_attempts import attempt_json


def coach_json(coach: User, linked_at: datetime) -> dict[str, Any]:
    return {
        "id": str(coach.id),
        "display_name": coach.display_name,
        "email": coach.email,
        "linked_at": iso(linked_at),
    }


async def my_coaches(request: Request) -> Response:
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        found = await repo.list_coaches(db, learner_id=user.id)
    return JSONResponse({"coaches": [coach_json(c.coach, c.linked_at) for c in found]})


async def link_coach(request: Request) -> Response:
    body = await read_json_object(request, allowed=("email",))
    email = string_field(body, "email", max_len=320)
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        try:
            linked, created = await repo.link_coach(db, learner_id=user.id, coach_email=email)
        except repo.SelfLink:
            raise ApiError(400, "cannot_coach_yourself", "you cannot be your own coach") from None
        except repo.NotFound:
            # an unknown email, a disabled account and a player look the same: no account probe
            raise ApiError(404, "no_such_coach", "no coach has this email") from None
    return JSONResponse(
        {"coach": coach_json(linked.coach, linked.linked_at)}, status_code=201 if created else 200
    )


async def unlink_coach(request: Request) -> Response:
    coach_id = uuid_param(request, "coach_id", "coach")
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        try:
            await repo.unlink_coach(db, learner_id=user.id, coach_id=coach_id)
        except repo.NotFound:
            raise not_found("coach") from None
    return Response(status_code=204)


async def my_learners(request: Request) -> Response:
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        if user.role not in STAFF_ROLES:
            raise ApiError(403, "forbidden", "only coaches have learners")
        found = await repo.list_learners(db, coach_id=user.id)
    return JSONResponse(
        {
            "learners": [
                {
                    "id": str(entry.learner.id),
                    "display_name": entry.learner.display_name,
                    "linked_at": iso(entry.linked_at),
                    "attempts_count": entry.attempts_count,
                    "last_attempt_at": iso(entry.last_attempt_at),
                }
                for entry in found
            ]
        }
    )


async def learner_attempts(request: Request) -> Response:
    learner_id = uuid_param(request, "learner_id", "learner")
    limit = int_query(request, "limit", default=50, low=1, high=100)
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        if not await repo.may_read_learner(db, user, learner_id):
            raise not_found("learner")  # not linked: as if the learner did not exist
        found = await repo.list_attempts(db, user_id=learner_id, limit=limit)
    return JSONResponse({"attempts": [attempt_json(a) for a in found]})


ROUTES: Final[list[Route]] = [
    api_route("/api/me/coaches", my_coaches),
    api_route("/api/me/coaches", link_coach, ["POST"]),
    api_route("/api/me/coaches/{coach_id}", unlink_coach, ["DELETE"]),
    api_route("/api/coach/learners", my_learners),
    api_route("/api/learners/{learner_id}/attempts", learner_attempts),
]

"""Multiplayer sessions over HTTP: create one for a lesson, read one you take part in.

Joining, presence and everything live happen over the WebSocket (`/ws`); these endpoints only
make the room exist (with a short join code to share) and show it afterwards.
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schema import repository as repo
from schema.models import MultiplayerSession, SharedAttempt
from server.http_api import (
    ApiError,
    api_route,
    current_user,
    iso,
    not_found,
    read_json_object,
    services,
    string_field,
    uuid_param,
)
from server.http_catalog import readable_lesson

# no 0/O, 1/I/L: codes are read aloud and typed on phones
JOIN_CODE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH: Final = 6
JOIN_CODE_TRIES: Final = 5
MAX_OPEN_SESSIONS_PER_USER: Final = 3


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def _shared_json(shared: SharedAttempt) -> dict[str, Any]:
    return {
        "step_id": str(shared.step_id),
        "aggregated_score": shared.aggregated_score,
        "participant_scores": shared.participant_scores,
        "replay_ref": shared.replay_ref,
        "created_at": iso(shared.created_at),
    }


def session_json(
    room: MultiplayerSession,
    lesson_slug: str,
    names: dict[Any, str],
    shared: list[SharedAttempt],
) -> dict[str, Any]:
    return {
        "id": str(room.id),
        "lesson": {"id": str(room.lesson_id), "slug": lesson_slug},
        "state": room.state,
        # a finished session's code is free for reuse: it no longer leads here
        "join_code": room.join_code if room.state != "finished" else None,
        "created_by": str(room.created_by) if room.created_by else None,
        "created_at": iso(room.created_at),
        "started_at": iso(room.started_at),
        "ended_at": iso(room.ended_at),
        "participants": [
            {
                "user_id": str(p.user_id),
                "display_name": names.get(p.user_id, ""),
                "role": p.role,
                "join_at": iso(p.join_at),
                "leave_at": iso(p.leave_at),
                "result_score": p.result_score,
            }
            for p in room.participants
        ],
        "shared_results": [_shared_json(s) for s in shared],
    }


async def create_session(request: Request) -> Response:
    body = await read_json_object(request, allowed=("lesson",))
    slug = string_field(body, "lesson", max_len=100)
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        lesson = await readable_lesson(db, user, slug)
        if await repo.count_open_sessions(db, created_by=user.id) >= MAX_OPEN_SESSIONS_PER_USER:
            raise ApiError(
                409,
                "too_many_open_sessions",
                f"you already have {MAX_OPEN_SESSIONS_PER_USER} open sessions: finish one first",
            )
        for _ in range(JOIN_CODE_TRIES):
            try:
                async with db.begin_nested():
                    room = await repo.create_session(
                        db, lesson_id=lesson.id, created_by=user.id, join_code=new_join_code()
                    )
                break
            except IntegrityError:
                continue  # the code is taken by another open session: draw again
        else:
            raise ApiError(503, "join_code_unavailable", "no free join code: try again")
        room = await repo.get_session(db, room.id)
        names = await repo.display_names(db, [p.user_id for p in room.participants])
    return JSONResponse({"session": session_json(room, lesson.slug, names, [])}, status_code=201)


async def get_session(request: Request) -> Response:
    session_id = uuid_param(request, "session_id", "session")
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        try:
            room = await repo.get_session(db, session_id)
        except repo.NotFound:
            raise not_found("session") from None
        if all(p.user_id != user.id for p in room.participants):
            raise not_found("session")  # not a participant: as if it did not exist
        lesson = await repo.lesson_with_steps(db, room.lesson_id, published_only=False)
        names = await repo.display_names(db, [p.user_id for p in room.participants])
        shared = await repo.list_shared_attempts(db, room.id)
    slug = lesson.slug if lesson is not None else ""
    return JSONResponse({"session": session_json(room, slug, names, shared)})


ROUTES: Final[list[Route]] = [
    api_route("/api/sessions", create_session, ["POST"]),
    api_route("/api/sessions/{session_id}", get_session),
]

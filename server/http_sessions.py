"""Multiplayer sessions over HTTP: create one for a lesson, read one you take part in.

Joining, presence and everything live happen over the WebSocket (`/ws`); these endpoints only
make the room exist (with a short join code to share) and show it afterwards.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schema import repository as repo
from schema.models import Attempt, Lesson, MultiplayerSession, Participant, SharedAttempt
from scoring import Device
from server.http_api import (
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
from server.http_attempts import (
    POINTS_FORMAT,
    attempt_device,
    step_specs,
    stored_strokes,
    strokes_json,
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


async def participants_session(
    db: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
) -> MultiplayerSession:
    """The session, for one of its participants; for anyone else a 404, as if it did not
    exist."""
    try:
        room = await repo.get_session(db, session_id)
    except repo.NotFound:
        raise not_found("session") from None
    if all(p.user_id != user_id for p in room.participants):
        raise not_found("session")
    return room


async def get_session(request: Request) -> Response:
    session_id = uuid_param(request, "session_id", "session")
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        room = await participants_session(db, session_id, user.id)
        lesson = await repo.lesson_with_steps(db, room.lesson_id, published_only=False)
        names = await repo.display_names(db, [p.user_id for p in room.participants])
        shared = await repo.list_shared_attempts(db, room.id)
    slug = lesson.slug if lesson is not None else ""
    return JSONResponse({"session": session_json(room, slug, names, shared)})


async def my_sessions(request: Request) -> Response:
    """The sessions the caller took part in (any role), newest first."""
    limit = int_query(request, "limit", default=50, low=1, high=100)
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        rows = await db.execute(
            select(MultiplayerSession, Lesson.slug, Lesson.title, Participant.role)
            .join(Participant, Participant.session_id == MultiplayerSession.id)
            .join(Lesson, Lesson.id == MultiplayerSession.lesson_id)
            .where(Participant.user_id == user.id)
            .order_by(MultiplayerSession.created_at.desc(), MultiplayerSession.id)
            .limit(limit)
        )
        found = [(room, slug, title, role) for room, slug, title, role in rows]
        shared_steps: dict[uuid.UUID, int] = {}
        for room, *_ in found:
            shared_steps[room.id] = len(await repo.list_shared_attempts(db, room.id))
    return JSONResponse(
        {
            "sessions": [
                {
                    "id": str(room.id),
                    "lesson": {"id": str(room.lesson_id), "slug": slug, "title": title},
                    "state": room.state,
                    "join_code": room.join_code if room.state != "finished" else None,
                    "role": role,
                    "created_at": iso(room.created_at),
                    "started_at": iso(room.started_at),
                    "ended_at": iso(room.ended_at),
                    "shared_results": shared_steps[room.id],
                }
                for room, slug, title, role in found
            ]
        }
    )


async def step_replay(request: Request) -> Response:
    """Every player's strokes of one step of a session (0-based, as in the protocol's
    `shared_result {room, step}`), for the session's participants only."""
    session_id = uuid_param(request, "session_id", "session")
    step_text = request.path_params["step"]
    if not step_text.isdigit() or len(step_text) > 4:
        raise not_found("step")
    step = int(step_text)
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        room = await participants_session(db, session_id, user.id)
        steps = await step_specs(db, room.lesson_id)
        if step >= len(steps):
            raise not_found("step")
        step_row, spec = steps[step]
        attempts = list(
            await db.scalars(
                select(Attempt).where(Attempt.session_id == room.id).order_by(Attempt.started_at)
            )
        )
        strokes = await stored_strokes(db, [a.id for a in attempts], step_row.id)
        devices: dict[uuid.UUID, Device] = {a.id: await attempt_device(db, a) for a in attempts}
        names = await repo.display_names(db, [p.user_id for p in room.participants])
        shared = [
            s for s in await repo.list_shared_attempts(db, room.id) if s.step_id == step_row.id
        ]
        lesson = await repo.lesson_with_steps(db, room.lesson_id, published_only=False)
    specs = {step_row.id: spec} if spec is not None else {}
    scored = await strokes_json(strokes, specs, devices)
    by_attempt: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for stroke, item in zip(strokes, scored, strict=True):
        by_attempt.setdefault(stroke.attempt_id, []).append(item)
    roles = {p.user_id: p.role for p in room.participants}
    return JSONResponse(
        {
            "session": {
                "id": str(room.id),
                "lesson": {"id": str(room.lesson_id), "slug": lesson.slug if lesson else ""},
                "state": room.state,
            },
            "step": step,
            "step_id": str(step_row.id),
            "steps_count": len(steps),
            "points_format": POINTS_FORMAT,
            "players": [
                {
                    "user_id": str(a.user_id),
                    "display_name": names.get(a.user_id, ""),
                    "role": roles.get(a.user_id, "player"),
                    "strokes": by_attempt.get(a.id, []),
                }
                for a in attempts
            ],
            "shared_result": _shared_json(shared[-1]) if shared else None,
        }
    )


ROUTES: Final[list[Route]] = [
    api_route("/api/sessions", create_session, ["POST"]),
    api_route("/api/me/sessions", my_sessions),
    api_route("/api/sessions/{session_id}", get_session),
    api_route("/api/sessions/{session_id}/steps/{step}/replay", step_replay),
]

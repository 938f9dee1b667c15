"""A user's own attempts, progress and replays (anyone else's look like they do not exist).

Replay points travel as the wire does (DESIGN.md): base64 of little-endian float32, row-major,
six columns x, y, t, pressure, tilt_x, tilt_y, so a browser reads them with one Float32Array.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any, Final

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schema import repository as repo
from schema.models import Attempt
from server.http_api import (
    ApiError,
    api_route,
    current_user,
    int_query,
    iso,
    services,
    uuid_param,
)

POINTS_FORMAT: Final = {
    "encoding": "base64",
    "dtype": "float32",
    "byte_order": "little",
    "columns": ["x", "y", "t", "pressure", "tilt_x", "tilt_y"],
}
MAX_REPLAY_EVENTS: Final = 10_000
# TODO(coaches): a coach reading a learner's replay needs a coach-learner relation (who coaches
# whom) that the schema does not have yet; until then everyone, coaches included, reads only
# their own attempts (repository.get_attempt enforces it).


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": str(attempt.id),
        "lesson_id": str(attempt.lesson_id),
        "session_id": str(attempt.session_id) if attempt.session_id else None,
        "status": attempt.status,
        "started_at": iso(attempt.started_at),
        "finished_at": iso(attempt.finished_at),
        "score": attempt.score,
        "score_accuracy": attempt.score_accuracy,
        "score_quality": attempt.score_quality,
        "scorer_version": attempt.scorer_version,
    }


async def my_attempts(request: Request) -> Response:
    limit = int_query(request, "limit", default=50, low=1, high=100)
    lesson_text = request.query_params.get("lesson_id")
    lesson_id = None
    if lesson_text is not None:
        try:
            lesson_id = uuid.UUID(lesson_text)
        except ValueError:
            raise ApiError(
                400,
                "invalid_parameter",
                "lesson_id must be a lesson's id",
                details={"parameter": "lesson_id"},
            ) from None
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        found = await repo.list_attempts(db, user_id=user.id, lesson_id=lesson_id, limit=limit)
    return JSONResponse({"attempts": [attempt_json(a) for a in found]})


async def my_progress(request: Request) -> Response:
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        found = await repo.list_progress(db, user_id=user.id)
    return JSONResponse(
        {
            "progress": [
                {
                    "lesson_id": str(entry.progress.lesson_id),
                    "lesson_slug": entry.lesson_slug,
                    "lesson_title": entry.lesson_title,
                    "best_score": entry.progress.best_score,
                    "last_score": entry.progress.last_score,
                    "attempts_count": entry.progress.attempts_count,
                    "last_attempt_at": iso(entry.progress.last_attempt_at),
                }
                for entry in found
            ]
        }
    )


async def replay(request: Request) -> Response:
    attempt_id = uuid_param(request, "attempt_id", "attempt")
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        recording = await repo.read_attempt_replay(db, attempt_id, user_id=user.id)
        events = await repo.list_events(db, attempt_id=attempt_id, limit=MAX_REPLAY_EVENTS)
    strokes = [
        {
            "seq": stroke.seq,
            "step_id": str(stroke.step_id),
            "n_points": int(stroke.points.shape[0]),
            "duration_ms": stroke.duration_ms,
            "points": base64.b64encode(
                np.ascontiguousarray(stroke.points, dtype="<f4").tobytes()
            ).decode("ascii"),
        }
        for stroke in recording.strokes
    ]
    return JSONResponse(
        {
            "attempt": attempt_json(recording.attempt),
            "points_format": POINTS_FORMAT,
            "strokes": strokes,
            "events": [
                {
                    "type": event.event_type,
                    "ts": iso(event.ts),
                    "step_id": str(event.step_id) if event.step_id else None,
                    "payload": event.payload,
                }
                for event in events
                # an event on this attempt is about its owner; anyone else's is not shown
                if event.user_id in (None, user.id)
            ],
        }
    )


ROUTES: Final[list[Route]] = [
    api_route("/api/me/attempts", my_attempts),
    api_route("/api/me/progress", my_progress),
    api_route("/api/attempts/{attempt_id}/replay", replay),
]

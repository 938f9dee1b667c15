"""A user's own attempts, progress and replays; replays also for the owner's linked coaches
(anyone else's look like they do not exist).

Replay points travel as the wire does (DESIGN.md): base64 of little-endian float32, row-major,
six columns x, y, t, pressure, tilt_x, tilt_y, so a browser reads them with one Float32Array.

Each replayed stroke carries its score, worked out again by the scorer from the stored points and
the step's stored targets, the stroke on its own (a stroke's score is not stored; on its own it
equals the live score for one-target steps and whenever the live scorer picked the same target),
and `created_at`, when it was stored (the writer's batch time, within about a second of the
stroke's end): what a replay player needs to show the strokes with their timing.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from replay.points_codec import decode_points
from schema import repository as repo
from schema.models import Attempt, DeviceCapability, Stroke
from schema.models import Step as StepRow
from scoring import Device, LiveScorer, StepSpec
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
# Who reads a replay: the attempt's owner, and a coach (role coach or admin) the owner linked
# (coach_links, server/http_coaches.py); anyone else gets 404, as for a missing attempt
# (repository.get_attempt_for_reader enforces it). Lists under /api/me stay the caller's own.


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


@dataclass(frozen=True)
class StoredStroke:
    attempt_id: uuid.UUID
    seq: int
    step_id: uuid.UUID
    duration_ms: float
    created_at: datetime
    points: np.ndarray


async def stored_strokes(
    db: AsyncSession, attempt_ids: Sequence[uuid.UUID], step_id: uuid.UUID | None = None
) -> list[StoredStroke]:
    """The strokes of these attempts (of one step, if given), by attempt then drawing order."""
    if not attempt_ids:
        return []
    query = select(
        Stroke.attempt_id, Stroke.seq, Stroke.step_id, Stroke.duration_ms, Stroke.created_at,
        Stroke.points,
    ).where(Stroke.attempt_id.in_(attempt_ids))  # fmt: skip
    if step_id is not None:
        query = query.where(Stroke.step_id == step_id)
    rows = await db.execute(query.order_by(Stroke.attempt_id, Stroke.seq))
    return [
        StoredStroke(attempt, seq, step, duration, created, decode_points(blob))
        for attempt, seq, step, duration, created, blob in rows
    ]


async def attempt_device(db: AsyncSession, attempt: Attempt) -> Device:
    if attempt.device_capability_id is None:
        return Device()
    found = await db.get(DeviceCapability, attempt.device_capability_id)
    return Device(found.pressure, found.tilt) if found is not None else Device()


def step_spec(step: StepRow) -> StepSpec:
    return StepSpec(
        targets=[np.asarray(t, dtype=np.float64) for t in step.targets],
        tolerance=step.tolerance,
        tolerance_unit=step.tolerance_unit,
        weights=step.scoring_weights,
        mode=step.mode,
        directional=step.directional,
        ordered=step.ordered,
        pressure_profile=step.pressure_profile,
    )


def stroke_score(spec: StepSpec | None, points: np.ndarray, device: Device) -> float | None:
    """The stroke's total, scored on its own; None for an empty or unscorable stroke."""
    if spec is None or points.shape[0] == 0:
        return None
    scorer = LiveScorer(spec, device)
    scorer.begin_stroke()
    try:
        scorer.add_points(np.ascontiguousarray(points, dtype=np.float32))
        return round(float(scorer.end_stroke().total), 4)
    except ValueError:
        return None


def stroke_json(stroke: StoredStroke, score: float | None) -> dict[str, Any]:
    return {
        "seq": stroke.seq,
        "step_id": str(stroke.step_id),
        "n_points": int(stroke.points.shape[0]),
        "duration_ms": stroke.duration_ms,
        "created_at": iso(stroke.created_at),
        "score": score,
        "points": base64.b64encode(
            np.ascontiguousarray(stroke.points, dtype="<f4").tobytes()
        ).decode("ascii"),
    }


async def strokes_json(
    strokes: Sequence[StoredStroke],
    specs: dict[uuid.UUID, StepSpec],
    devices: dict[uuid.UUID, Device],
) -> list[dict[str, Any]]:
    """Strokes with their scores (worked out off the event loop: the scorer is CPU work)."""

    def score_all() -> list[float | None]:
        return [
            stroke_score(specs.get(s.step_id), s.points, devices.get(s.attempt_id, Device()))
            for s in strokes
        ]

    scores = await asyncio.to_thread(score_all)
    return [stroke_json(s, score) for s, score in zip(strokes, scores, strict=True)]


async def step_specs(
    db: AsyncSession, lesson_id: uuid.UUID
) -> list[tuple[StepRow, StepSpec | None]]:
    """The lesson's steps in order, each with its scoring spec (None if it no longer loads)."""
    lesson = await repo.lesson_with_steps(db, lesson_id, published_only=False)
    if lesson is None:
        return []
    out: list[tuple[StepRow, StepSpec | None]] = []
    for step in sorted(lesson.steps, key=lambda s: s.order):
        try:
            out.append((step, step_spec(step)))
        except ValueError:
            out.append((step, None))
    return out


async def replay(request: Request) -> Response:
    attempt_id = uuid_param(request, "attempt_id", "attempt")
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        attempt = await repo.get_attempt_for_reader(db, attempt_id, user)
        strokes = await stored_strokes(db, [attempt.id])
        events = await repo.list_events(db, attempt_id=attempt_id, limit=MAX_REPLAY_EVENTS)
        steps = await step_specs(db, attempt.lesson_id)
        device = await attempt_device(db, attempt)
    specs = {row.id: spec for row, spec in steps if spec is not None}
    return JSONResponse(
        {
            "attempt": attempt_json(attempt),
            "steps": [str(row.id) for row, _ in steps],
            "strokes": await strokes_json(strokes, specs, {attempt.id: device}),
            "points_format": POINTS_FORMAT,
            "events": [
                {
                    "type": event.event_type,
                    "ts": iso(event.ts),
                    "step_id": str(event.step_id) if event.step_id else None,
                    "payload": event.payload,
                }
                for event in events
                # an event on this attempt is about its owner (whoever reads it: the owner or
                # their coach); anyone else's is not shown
                if event.user_id in (None, attempt.user_id)
            ],
        }
    )


ROUTES: Final[list[Route]] = [
    api_route("/api/me/attempts", my_attempts),
    api_route("/api/me/progress", my_progress),
    api_route("/api/attempts/{attempt_id}/replay", replay),
]

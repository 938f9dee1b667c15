"""The catalog: published courses and their lessons, and one lesson with its steps and guides.

The course list is public. A lesson's content needs an account, and a lesson that is not free
needs an active or trialing subscription (coaches and admins read every lesson).
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schema import repository as repo
from schema.models import Lesson, MediaAsset, Step, User
from server.http_api import STAFF_ROLES, ApiError, api_route, current_user, not_found, services

MEDIA_CONTENT_TYPES: Final = {"svg": "image/svg+xml"}


def lesson_summary_json(lesson: Lesson) -> dict[str, Any]:
    return {
        "id": str(lesson.id),
        "slug": lesson.slug,
        "title": lesson.title,
        "difficulty": lesson.difficulty,
        "est_duration_s": lesson.est_duration_s,
        "steps_count": lesson.steps_count,
        "is_free": lesson.is_free,
        "access": "free" if lesson.is_free else "vip",
        "canvas": {"width": lesson.canvas_width, "height": lesson.canvas_height},
        "position": lesson.position,
    }


def _media_json(asset: MediaAsset) -> dict[str, Any]:
    inline = asset.content is not None and asset.type in MEDIA_CONTENT_TYPES
    return {
        "id": str(asset.id),
        "type": asset.type,
        "uri": asset.uri,
        "checksum": asset.checksum,
        "version": asset.version,
        "content_type": MEDIA_CONTENT_TYPES.get(asset.type),
        "content": asset.content.decode("utf-8") if inline and asset.content else None,
    }


def _step_json(step: Step) -> dict[str, Any]:
    return {
        "id": str(step.id),
        "order": step.order,
        "mode": step.mode,
        "targets": step.targets,
        "tolerance": step.tolerance,
        "tolerance_unit": step.tolerance_unit,
        "scoring_weights": step.scoring_weights,
        "directional": step.directional,
        "ordered": step.ordered,
        "pressure_profile": step.pressure_profile,
        "hint_text": step.hint_text,
        "guides": [_media_json(asset) for asset in step.media_assets],
    }


async def courses(request: Request) -> Response:
    async with services(request).sessions.begin() as db:
        found = await repo.published_courses(db)
    return JSONResponse(
        {
            "courses": [
                {
                    "id": str(course.id),
                    "slug": course.slug,
                    "title": course.title,
                    "level": course.level,
                    "lessons": [
                        {
                            **lesson_summary_json(lesson),
                            "skill_tags": [tag.slug for tag in lesson.skill_tags],
                        }
                        for lesson in course.lessons
                    ],
                }
                for course in found
            ]
        }
    )


async def may_read_lesson(db: AsyncSession, user: User, lesson: Lesson) -> bool:
    if lesson.is_free or user.role in STAFF_ROLES:
        return True
    return await repo.has_active_subscription(db, user.id)


async def readable_lesson(db: AsyncSession, user: User, slug: str) -> Lesson:
    """A published lesson the user may open: 404 if there is none, 402 if it needs a plan."""
    lesson = await repo.lesson_with_steps(db, slug)
    if lesson is None:
        raise not_found("lesson")
    if not await may_read_lesson(db, user, lesson):
        raise ApiError(
            402,
            "subscription_required",
            f"the lesson {slug!r} needs an active or trialing subscription",
        )
    return lesson


async def lesson(request: Request) -> Response:
    slug = request.path_params["slug"]
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        found = await readable_lesson(db, user, slug)
    return JSONResponse(
        {
            "lesson": {
                **lesson_summary_json(found),
                "course_id": str(found.course_id),
                "skill_tags": [tag.slug for tag in found.skill_tags],
                "steps": [_step_json(step) for step in found.steps],
            }
        }
    )


ROUTES: Final[list[Route]] = [
    api_route("/api/courses", courses),
    api_route("/api/lessons/{slug}", lesson),
]

"""Loading the lessons catalog into the database, idempotently.

Courses, lessons and skill tags are upserted by slug, steps by (lesson, order). A step whose
content changed (its content hash: targets, tolerance, weights, ..., and its guide's checksum)
is updated and its guide media asset's version bumped, so clients refetch it; an unchanged
catalog changes nothing, not even `updated_at`. Lessons that left the catalog are soft-deleted;
steps that left it are deleted (Postgres and SQLite refuse while strokes still point at them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from lessons import SKILL_TAGS, Catalog
from lessons import Course as CatalogCourse
from lessons import Lesson as CatalogLesson
from lessons import Step as CatalogStep
from schema.base import utcnow
from schema.models import Course, Lesson, MediaAsset, SkillTag, Step


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    removed: int = 0
    assets_bumped: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed or self.assets_bumped)


def guide_uri(lesson_slug: str, order: int) -> str:
    return f"guides/{lesson_slug}/step-{order}.svg"


def step_fields(step: CatalogStep) -> dict[str, Any]:
    return {
        "targets": [target.tolist() for target in step.targets],
        "tolerance": float(step.tolerance),
        "tolerance_unit": step.tolerance_unit,
        "scoring_weights": dict(step.weights),
        "mode": step.mode,
        "directional": step.directional,
        "ordered": step.ordered,
        "pressure_profile": step.pressure_profile,
        "hint_text": step.hint_text or None,
    }


def step_content_hash(step: CatalogStep) -> str:
    content = {**step_fields(step), "guide_checksum": step.guide_checksum}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _assign(row: object, values: Mapping[str, Any]) -> bool:
    """Set the attributes that differ; True if any did (so unchanged rows stay untouched)."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def seed_catalog(session: AsyncSession, catalog: Catalog) -> SeedReport:
    report = SeedReport()
    tags = await _seed_skill_tags(session, report)
    for course in catalog.courses:
        await _seed_course(session, course, tags, report)
    await session.flush()
    return report


async def _seed_skill_tags(session: AsyncSession, report: SeedReport) -> dict[str, SkillTag]:
    tags = {tag.slug: tag for tag in await session.scalars(select(SkillTag))}
    for slug, name in SKILL_TAGS.items():
        tag = tags.get(slug)
        if tag is None:
            tags[slug] = tag = SkillTag(slug=slug, name=name)
            session.add(tag)
            report.created += 1
        elif _assign(tag, {"name": name}):
            report.updated += 1
    await session.flush()
    return tags


async def _seed_course(
    session: AsyncSession, source: CatalogCourse, tags: Mapping[str, SkillTag], report: SeedReport
) -> None:
    values = {
        "title": source.title,
        "level": source.level,
        "status": source.status,
        "deleted_at": None,
    }
    course = await session.scalar(select(Course).where(Course.slug == source.slug))
    if course is None:
        course = Course(slug=source.slug, **values)
        session.add(course)
        await session.flush()
        report.created += 1
    elif _assign(course, values):
        report.updated += 1

    existing = {
        lesson.slug: lesson
        for lesson in await session.scalars(
            select(Lesson)
            .where(Lesson.course_id == course.id)
            .options(
                selectinload(Lesson.steps).selectinload(Step.media_assets),
                selectinload(Lesson.skill_tags),
            )
        )
    }
    for lesson_source in source.lessons:
        lesson = existing.pop(lesson_source.slug, None)
        await _seed_lesson(
            session, course=course, lesson=lesson, source=lesson_source, tags=tags, report=report
        )
    for gone in existing.values():
        if gone.deleted_at is None:
            gone.deleted_at = utcnow()
            gone.status = "archived"
            report.removed += 1


async def _seed_lesson(
    session: AsyncSession,
    *,
    course: Course,
    lesson: Lesson | None,
    source: CatalogLesson,
    tags: Mapping[str, SkillTag],
    report: SeedReport,
) -> None:
    values = {
        "course_id": course.id,
        "title": source.title,
        "difficulty": source.difficulty,
        "est_duration_s": source.est_duration_s,
        "steps_count": len(source.steps),
        "is_free": source.is_free,
        "canvas_width": source.canvas_width,
        "canvas_height": source.canvas_height,
        "position": source.position,
        "status": course.status,
        "deleted_at": None,
    }
    wanted_tags = sorted((tags[slug] for slug in source.skill_tags), key=lambda t: t.slug)
    if lesson is None:
        # a lesson moving between courses keeps its row (slugs are unique catalog-wide)
        lesson = await session.scalar(
            select(Lesson)
            .where(Lesson.slug == source.slug)
            .options(
                selectinload(Lesson.steps).selectinload(Step.media_assets),
                selectinload(Lesson.skill_tags),
            )
        )
    if lesson is None:
        lesson = Lesson(slug=source.slug, steps=[], skill_tags=wanted_tags, **values)
        session.add(lesson)
        await session.flush()
        report.created += 1
    else:
        changed = _assign(lesson, values)
        if [t.slug for t in lesson.skill_tags] != [t.slug for t in wanted_tags]:
            lesson.skill_tags = wanted_tags
            changed = True
        report.updated += changed

    steps = {step.order: step for step in lesson.steps}
    for step_source in source.steps:
        await _seed_step(session, lesson, steps.pop(step_source.order, None), step_source, report)
    if steps:
        await session.execute(delete(Step).where(Step.id.in_([s.id for s in steps.values()])))
        await session.execute(
            delete(MediaAsset).where(
                MediaAsset.uri.in_([guide_uri(lesson.slug, order) for order in steps])
            )
        )
        report.removed += len(steps)


async def _seed_step(
    session: AsyncSession,
    lesson: Lesson,
    step: Step | None,
    source: CatalogStep,
    report: SeedReport,
) -> None:
    content_hash = step_content_hash(source)
    if step is not None and step.content_hash == content_hash:
        return
    values = {**step_fields(source), "content_hash": content_hash}
    if step is None:
        step = Step(lesson_id=lesson.id, order=source.order, media_assets=[], **values)
        session.add(step)
        report.created += 1
    else:
        _assign(step, values)
        report.updated += 1

    uri = guide_uri(lesson.slug, source.order)
    asset = await session.scalar(select(MediaAsset).where(MediaAsset.uri == uri))
    guide = {"checksum": source.guide_checksum, "content": source.guide_svg.encode()}
    if asset is None:
        asset = MediaAsset(type="svg", uri=uri, version=1, **guide)
        session.add(asset)
        report.created += 1
    else:
        _assign(asset, guide)
        asset.version += 1
        report.assets_bumped += 1
    if asset not in step.media_assets:
        step.media_assets.append(asset)
    await session.flush()

from __future__ import annotations

import dataclasses

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lessons import Catalog
from schema.models import Course, Lesson, MediaAsset, SkillTag, Step
from schema.seed import guide_uri, seed_catalog


async def _count(db: AsyncSession, model: type[object]) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_seed_loads_the_whole_catalog(db: AsyncSession, catalog: Catalog) -> None:
    report = await seed_catalog(db, catalog)
    lessons = list(catalog.lessons())
    steps = [step for _, _, step in catalog.steps()]
    assert await _count(db, Course) == len(catalog.courses)
    assert await _count(db, Lesson) == len(lessons)
    assert await _count(db, Step) == len(steps)
    assert await _count(db, MediaAsset) == len(steps)
    assert await _count(db, SkillTag) >= 5
    assert report.created == await _count(db, Course) + len(lessons) + 2 * len(
        steps
    ) + await _count(db, SkillTag)
    first = lessons[0].steps[0]
    stored = await db.scalar(
        select(Step).join(Lesson).where(Lesson.slug == lessons[0].slug, Step.order == first.order)
    )
    assert stored is not None
    assert np.array_equal(np.array(stored.targets[0]), first.targets[0])


async def test_seed_twice_changes_nothing(db: AsyncSession, catalog: Catalog) -> None:
    await seed_catalog(db, catalog)
    before = (await db.execute(select(Step.id, Step.updated_at, Step.content_hash))).all()
    versions = (await db.execute(select(MediaAsset.uri, MediaAsset.version))).all()
    report = await seed_catalog(db, catalog)
    assert not report.changed
    assert sorted(
        (await db.execute(select(Step.id, Step.updated_at, Step.content_hash))).all()
    ) == sorted(before)
    assert sorted((await db.execute(select(MediaAsset.uri, MediaAsset.version))).all()) == sorted(
        versions
    )
    assert {v for _, v in versions} == {1}


def _with_changed_step(catalog: Catalog) -> tuple[Catalog, str, int]:
    course = catalog.courses[0]
    lesson = course.lessons[0]
    step = lesson.steps[0]
    moved = [target + 5.0 for target in step.targets]
    new_step = dataclasses.replace(
        step, targets=moved, guide_checksum="changed" + step.guide_checksum[7:]
    )
    new_lesson = dataclasses.replace(lesson, steps=[new_step, *lesson.steps[1:]])
    new_course = dataclasses.replace(course, lessons=[new_lesson, *course.lessons[1:]])
    return Catalog([new_course, *catalog.courses[1:]]), lesson.slug, step.order


async def test_changed_step_is_updated_and_bumps_its_guide_version(
    db: AsyncSession, catalog: Catalog
) -> None:
    await seed_catalog(db, catalog)
    changed, lesson_slug, order = _with_changed_step(catalog)
    report = await seed_catalog(db, changed)
    assert report.assets_bumped == 1 and report.updated == 1 and report.created == 0
    asset = await db.scalar(
        select(MediaAsset).where(MediaAsset.uri == guide_uri(lesson_slug, order))
    )
    assert asset is not None and asset.version == 2 and asset.checksum.startswith("changed")
    others = await db.scalars(select(MediaAsset.version).where(MediaAsset.uri != asset.uri))
    assert set(others) == {1}
    step = await db.scalar(
        select(Step).join(Lesson).where(Lesson.slug == lesson_slug, Step.order == order)
    )
    assert step is not None
    expected = catalog.lesson(lesson_slug).steps[0].targets[0] + 5.0
    assert np.allclose(np.array(step.targets[0]), expected)
    assert not (await seed_catalog(db, changed)).changed


async def test_lesson_removed_from_catalog_is_soft_deleted(
    db: AsyncSession, catalog: Catalog
) -> None:
    await seed_catalog(db, catalog)
    course = catalog.courses[0]
    dropped = course.lessons[-1].slug
    smaller = Catalog(
        [dataclasses.replace(course, lessons=course.lessons[:-1]), *catalog.courses[1:]]
    )
    report = await seed_catalog(db, smaller)
    assert report.removed == 1
    lesson = await db.scalar(select(Lesson).where(Lesson.slug == dropped))
    assert lesson is not None and lesson.deleted_at is not None and lesson.status == "archived"
    report = await seed_catalog(db, catalog)
    assert report.updated == 1
    await db.refresh(lesson)
    assert lesson.deleted_at is None and lesson.status == course.status

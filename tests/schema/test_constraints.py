from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from schema import repository as repo
from schema.models import Attempt, Lesson, Stroke, User


async def _lesson(db: AsyncSession) -> Lesson:
    lesson = await repo.lesson_with_steps(db, "steady-lines")
    assert lesson is not None
    return lesson


async def _rejected(db: AsyncSession, row: object) -> None:
    savepoint = await db.begin_nested()
    db.add(row)
    with pytest.raises(IntegrityError):
        await db.flush()
    await savepoint.rollback()


async def test_check_constraints_reject_bad_enums_and_scores(seeded: AsyncSession) -> None:
    lesson = await _lesson(seeded)
    user = await repo.create_user(seeded, email="c@example.org", display_name="c")
    await _rejected(seeded, User(email="x@example.org", display_name="x", role="wizard"))
    for bad in ({"score": 1.5}, {"score_accuracy": -0.1}, {"status": "paused"}):
        row = Attempt(user_id=user.id, lesson_id=lesson.id, scorer_version="1", **bad)
        await _rejected(seeded, row)
    # finished_at must be set exactly when the attempt is no longer in progress
    await _rejected(
        seeded,
        Attempt(user_id=user.id, lesson_id=lesson.id, scorer_version="1", status="finished"),
    )
    assert await seeded.scalar(select(func.count()).select_from(Attempt)) == 0


async def test_deleting_a_user_deletes_their_attempts_and_strokes(seeded: AsyncSession) -> None:
    lesson = await _lesson(seeded)
    user = await repo.create_user(seeded, email="gone@example.org", display_name="gone")
    attempt = await repo.create_attempt(
        seeded, user_id=user.id, lesson_id=lesson.id, scorer_version="1"
    )
    points = np.zeros((3, 6), np.float32)
    await repo.append_strokes(seeded, [repo.NewStroke(attempt.id, lesson.steps[0].id, 0, points)])
    await seeded.delete(user)
    await seeded.flush()
    assert await seeded.scalar(select(func.count()).select_from(Attempt)) == 0
    assert await seeded.scalar(select(func.count()).select_from(Stroke)) == 0


async def test_a_lesson_with_attempts_cannot_be_hard_deleted(seeded: AsyncSession) -> None:
    lesson = await _lesson(seeded)
    user = await repo.create_user(seeded, email="keep@example.org", display_name="k")
    await repo.create_attempt(seeded, user_id=user.id, lesson_id=lesson.id, scorer_version="1")
    savepoint = await seeded.begin_nested()
    with pytest.raises(IntegrityError):
        await seeded.execute(delete(Lesson).where(Lesson.id == lesson.id))
    await savepoint.rollback()


async def test_timestamps_come_back_aware_utc(seeded: AsyncSession) -> None:
    user = await repo.create_user(seeded, email="tz@example.org", display_name="tz")
    when = datetime(2032, 2, 3, 4, 5, 6, tzinfo=UTC)
    user.last_active_at = when
    await seeded.flush()
    seeded.expunge_all()
    stored = await seeded.get(User, user.id)
    assert stored is not None
    assert stored.last_active_at == when and stored.last_active_at.tzinfo is not None
    assert stored.created_at.tzinfo is not None
    with pytest.raises(StatementError, match="naive"):
        stored.last_active_at = datetime(2032, 1, 1)
        await seeded.flush()
    await seeded.rollback()

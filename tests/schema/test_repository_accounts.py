"""The storage functions the HTTP API added: users, subscriptions, progress, sessions, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from schema import repository as repo
from schema.models import Lesson, Subscription, User


async def _user(db: AsyncSession, name: str = "ada") -> User:
    return await repo.create_user(
        db, email=f"{name}-{uuid.uuid4().hex[:8]}@Example.org", display_name=name
    )


async def _lesson(db: AsyncSession, slug: str) -> Lesson:
    lesson = await repo.lesson_with_steps(db, slug)
    assert lesson is not None
    return lesson


async def test_user_lookups_by_id_and_by_email(db: AsyncSession) -> None:
    user = await _user(db)
    assert await repo.get_user(db, user.id) is user
    assert await repo.user_by_email(db, f"  {user.email.upper()} ") is user
    assert await repo.user_by_email(db, "nobody@example.org") is None
    assert await repo.get_user(db, uuid.uuid4()) is None


async def test_display_names_of_some_users(db: AsyncSession) -> None:
    ada, bob = await _user(db, "ada"), await _user(db, "bob")
    assert await repo.display_names(db, [ada.id, bob.id, ada.id]) == {ada.id: "ada", bob.id: "bob"}
    assert await repo.display_names(db, []) == {}


@pytest.mark.parametrize(
    ("status", "days_left", "expected"),
    [
        ("active", 10, True),
        ("trialing", 10, True),
        ("active", -1, False),
        ("past_due", 10, False),
        ("canceled", 10, False),
    ],
)
async def test_has_active_subscription(
    db: AsyncSession, status: str, days_left: int, expected: bool
) -> None:
    user, other = await _user(db), await _user(db, "other")
    now = datetime.now(UTC)
    db.add(
        Subscription(
            user_id=user.id,
            plan="vip",
            status=status,
            period_start=now - timedelta(days=30),
            period_end=now + timedelta(days=days_left),
            platform="web",
        )
    )
    await db.flush()
    assert await repo.has_active_subscription(db, user.id) is expected
    assert await repo.has_active_subscription(db, other.id) is False


async def test_list_progress_is_per_user_most_recent_first(seeded: AsyncSession) -> None:
    ada, bob = await _user(seeded), await _user(seeded, "bob")
    now = datetime.now(UTC)
    for offset, slug, user in (
        (0, "steady-lines", ada),
        (1, "hatching", ada),
        (2, "hatching", bob),
    ):
        lesson = await _lesson(seeded, slug)
        attempt = await repo.create_attempt(
            seeded, user_id=user.id, lesson_id=lesson.id, scorer_version="t"
        )
        await repo.finish_attempt(
            seeded,
            attempt.id,
            user_id=user.id,
            score=0.5,
            score_accuracy=0.5,
            score_quality=0.5,
            finished_at=now + timedelta(minutes=offset),
        )
    entries = await repo.list_progress(seeded, user_id=ada.id)
    assert [e.lesson_slug for e in entries] == ["hatching", "steady-lines"]
    assert entries[0].lesson_title and entries[0].progress.attempts_count == 1


async def test_count_open_sessions_ignores_finished_and_others(seeded: AsyncSession) -> None:
    ada, bob = await _user(seeded), await _user(seeded, "bob")
    lesson = await _lesson(seeded, "steady-lines")
    rooms = [
        await repo.create_session(
            seeded, lesson_id=lesson.id, created_by=ada.id, join_code=uuid.uuid4().hex[:6]
        )
        for _ in range(3)
    ]
    await repo.create_session(seeded, lesson_id=lesson.id, created_by=bob.id, join_code="BOB123")
    await repo.set_session_state(seeded, rooms[0].id, "finished")
    assert await repo.count_open_sessions(seeded, created_by=ada.id) == 2


async def test_list_events_by_attempt(seeded: AsyncSession) -> None:
    ada = await _user(seeded)
    lesson = await _lesson(seeded, "steady-lines")
    first, second = [
        await repo.create_attempt(seeded, user_id=ada.id, lesson_id=lesson.id, scorer_version="t")
        for _ in range(2)
    ]
    await repo.append_events(
        seeded,
        [
            repo.NewEvent("start_step", user_id=ada.id, attempt_id=first.id),
            repo.NewEvent("undo", user_id=ada.id, attempt_id=second.id),
        ],
    )
    events = await repo.list_events(seeded, attempt_id=second.id)
    assert [e.event_type for e in events] == ["undo"]

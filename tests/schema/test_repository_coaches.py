"""Coach links in the storage layer: who may read whose attempts, and what the database holds."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schema import repository as repo
from schema.models import CoachLink, User


async def _user(db: AsyncSession, name: str, role: str = "player") -> User:
    return await repo.create_user(
        db, email=f"{name}-{uuid.uuid4().hex[:8]}@example.org", display_name=name, role=role
    )


async def _links(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(CoachLink)) or 0)


async def test_only_the_owner_and_a_linked_coach_read_an_attempt(seeded: AsyncSession) -> None:
    db = seeded
    ada, coach, other = (
        await _user(db, "ada"),
        await _user(db, "carla", "coach"),
        await _user(db, "otto", "coach"),
    )
    lesson = await repo.lesson_with_steps(db, "steady-lines")
    assert lesson is not None
    attempt = await repo.create_attempt(db, user_id=ada.id, lesson_id=lesson.id, scorer_version="t")
    with pytest.raises(repo.AccessDenied):
        await repo.get_attempt_for_reader(db, attempt.id, coach)
    link, created = await repo.link_coach(db, learner_id=ada.id, coach_email=coach.email.upper())
    assert created and link.coach is coach
    assert await repo.get_attempt_for_reader(db, attempt.id, coach) is attempt
    assert await repo.get_attempt_for_reader(db, attempt.id, ada) is attempt
    with pytest.raises(repo.AccessDenied):
        await repo.get_attempt_for_reader(db, attempt.id, other)
    with pytest.raises(repo.NotFound):
        await repo.get_attempt_for_reader(db, uuid.uuid4(), coach)
    # the link runs one way: the learner does not read the coach's data
    assert not await repo.may_read_learner(db, ada, coach.id)
    (entry,) = await repo.list_learners(db, coach_id=coach.id)
    assert (entry.learner is ada, entry.attempts_count) == (True, 1)
    assert entry.last_attempt_at == attempt.started_at


async def test_link_refuses_players_strangers_and_yourself(db: AsyncSession) -> None:
    ada, bob = await _user(db, "ada"), await _user(db, "bob")
    for email in (bob.email, "nobody@example.org"):
        with pytest.raises(repo.NotFound):
            await repo.link_coach(db, learner_id=ada.id, coach_email=email)
    coach = await _user(db, "carla", "coach")
    with pytest.raises(repo.SelfLink):
        await repo.link_coach(db, learner_id=coach.id, coach_email=coach.email)
    assert await _links(db) == 0


async def test_linking_twice_keeps_the_first_link(db: AsyncSession) -> None:
    ada, coach = await _user(db, "ada"), await _user(db, "carla", "coach")
    first, made = await repo.link_coach(db, learner_id=ada.id, coach_email=coach.email)
    again, made_again = await repo.link_coach(db, learner_id=ada.id, coach_email=coach.email)
    assert (made, made_again) == (True, False)
    assert again.linked_at == first.linked_at
    assert await _links(db) == 1
    await repo.unlink_coach(db, learner_id=ada.id, coach_id=coach.id)
    with pytest.raises(repo.NotFound):
        await repo.unlink_coach(db, learner_id=ada.id, coach_id=coach.id)
    assert await repo.list_coaches(db, learner_id=ada.id) == []


async def test_links_go_with_either_user_and_never_point_at_oneself(db: AsyncSession) -> None:
    ada, coach = await _user(db, "ada"), await _user(db, "carla", "coach")
    await repo.link_coach(db, learner_id=ada.id, coach_email=coach.email)
    await db.execute(delete(User).where(User.id == coach.id))
    assert await _links(db) == 0
    savepoint = await db.begin_nested()
    db.add(CoachLink(learner_id=ada.id, coach_id=ada.id))
    with pytest.raises(IntegrityError):
        await db.flush()
    await savepoint.rollback()

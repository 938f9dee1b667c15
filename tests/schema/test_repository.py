from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from replay.points_codec import Points
from schema import repository as repo
from schema.models import Attempt, DeviceCapability, Lesson, Stroke, User

MakeStroke = Callable[[int, int], Points]


async def _user(db: AsyncSession, name: str = "ada") -> User:
    return await repo.create_user(
        db, email=f"{name}-{uuid.uuid4().hex[:8]}@example.org", display_name=name
    )


async def _lesson(db: AsyncSession, slug: str = "steady-lines") -> Lesson:
    lesson = await repo.lesson_with_steps(db, slug)
    assert lesson is not None
    return lesson


async def _attempt(db: AsyncSession, user: User, lesson: Lesson) -> Attempt:
    return await repo.create_attempt(
        db, user_id=user.id, lesson_id=lesson.id, scorer_version="1.0.0"
    )


# --- catalog ----------------------------------------------------------------------------------


async def test_published_courses_lists_published_lessons_in_order(seeded: AsyncSession) -> None:
    courses = await repo.published_courses(seeded)
    assert [c.slug for c in courses] == ["first-marks"]
    lessons = courses[0].lessons
    assert len(lessons) == 5
    assert [lesson.position for lesson in lessons] == sorted(lesson.position for lesson in lessons)
    assert all(lesson.skill_tags for lesson in lessons)


async def test_published_courses_hides_draft_and_deleted_lessons(seeded: AsyncSession) -> None:
    hidden = await _lesson(seeded, "hatching")
    hidden.status = "draft"
    gone = await _lesson(seeded, "calligraphy-basics")
    gone.deleted_at = datetime.now(UTC)
    await seeded.flush()
    seeded.expunge_all()
    courses = await repo.published_courses(seeded)
    slugs = [lesson.slug for lesson in courses[0].lessons]
    assert "hatching" not in slugs
    assert "calligraphy-basics" not in slugs
    assert len(slugs) == 3
    assert await repo.lesson_with_steps(seeded, "hatching") is None


async def test_lesson_with_steps_loads_steps_and_guides(seeded: AsyncSession) -> None:
    lesson = await _lesson(seeded, "calligraphy-basics")
    assert lesson.steps_count == len(lesson.steps) > 0
    assert [s.order for s in lesson.steps] == sorted(s.order for s in lesson.steps)
    for step in lesson.steps:
        (guide,) = step.media_assets
        assert guide.type == "svg"
        assert guide.content is not None and b"<svg" in guide.content
        assert guide.checksum == hashlib.sha256(guide.content).hexdigest()
    assert any(step.pressure_profile for step in lesson.steps)
    by_id = await repo.lesson_with_steps(seeded, lesson.id)
    assert by_id is not None and by_id.slug == "calligraphy-basics"


# --- attempts, strokes, replay ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["auto", "executemany"])
async def test_strokes_round_trip_exactly_through_replay(
    seeded: AsyncSession, make_stroke: MakeStroke, method: repo.StrokeWrite
) -> None:
    user = await _user(seeded)
    lesson = await _lesson(seeded)
    attempt = await _attempt(seeded, user, lesson)
    strokes = [
        repo.NewStroke(attempt.id, lesson.steps[i % 2].id, seq=i, points=make_stroke(50 + i, i))
        for i in range(6)
    ]
    written = await repo.append_strokes(seeded, strokes[3:], method=method)
    written += await repo.append_strokes(seeded, strokes[:3], method=method)
    assert written == sum(s.points.shape[0] for s in strokes)

    replay = await repo.read_attempt_replay(seeded, attempt.id, user_id=user.id)
    assert replay.attempt.id == attempt.id
    assert [s.seq for s in replay.strokes] == list(range(6))
    for original, stored in zip(strokes, replay.strokes, strict=True):
        assert stored.step_id == original.step_id
        assert stored.points.dtype == np.float32
        assert stored.points.tobytes() == original.points.tobytes()
        t = original.points[:, 2]
        assert stored.duration_ms == pytest.approx(float(t[-1] - t[0]))


async def test_append_strokes_stays_inside_the_callers_transaction(
    engine: object, seeded: AsyncSession, make_stroke: MakeStroke
) -> None:
    user = await _user(seeded)
    lesson = await _lesson(seeded)
    attempt = await _attempt(seeded, user, lesson)
    savepoint = await seeded.begin_nested()
    await repo.append_strokes(
        seeded, [repo.NewStroke(attempt.id, lesson.steps[0].id, 0, make_stroke(10, 0))]
    )
    await savepoint.rollback()
    count = await seeded.scalar(
        select(func.count()).select_from(Stroke).where(Stroke.attempt_id == attempt.id)
    )
    assert count == 0


async def test_stroke_row_stores_count_and_a_compact_blob(
    seeded: AsyncSession, make_stroke: MakeStroke
) -> None:
    user = await _user(seeded)
    lesson = await _lesson(seeded)
    attempt = await _attempt(seeded, user, lesson)
    await repo.append_strokes(
        seeded, [repo.NewStroke(attempt.id, lesson.steps[0].id, 0, make_stroke(2000, 1))]
    )
    n_points, blob = (await seeded.execute(select(Stroke.n_points, Stroke.points))).one()
    assert n_points == 2000
    assert len(blob) < 2000 * 24 / 2.5  # sub-pixel noise is incompressible; still 2.5x smaller


async def test_another_users_attempt_is_refused(
    seeded: AsyncSession, make_stroke: MakeStroke
) -> None:
    owner, other = await _user(seeded, "owner"), await _user(seeded, "other")
    lesson = await _lesson(seeded)
    attempt = await _attempt(seeded, owner, lesson)
    with pytest.raises(repo.AccessDenied):
        await repo.read_attempt_replay(seeded, attempt.id, user_id=other.id)
    with pytest.raises(repo.AccessDenied):
        await repo.get_attempt(seeded, attempt.id, user_id=other.id)
    with pytest.raises(repo.AccessDenied):
        await repo.finish_attempt(
            seeded, attempt.id, user_id=other.id, score=1, score_accuracy=1, score_quality=1
        )
    assert await repo.list_attempts(seeded, user_id=other.id) == []
    assert [a.id for a in await repo.list_attempts(seeded, user_id=owner.id)] == [attempt.id]
    with pytest.raises(repo.NotFound):
        await repo.get_attempt(seeded, uuid.uuid4(), user_id=owner.id)


async def test_finish_attempt_updates_progress_best_last_count(seeded: AsyncSession) -> None:
    user = await _user(seeded)
    lesson = await _lesson(seeded)
    assert await repo.get_progress(seeded, user_id=user.id, lesson_id=lesson.id) is None
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for i, score in enumerate([0.5, 0.8, 0.3]):
        attempt = await _attempt(seeded, user, lesson)
        progress = await repo.finish_attempt(
            seeded,
            attempt.id,
            user_id=user.id,
            score=score,
            score_accuracy=score,
            score_quality=0.9,
            finished_at=start + timedelta(minutes=i),
        )
        assert progress.attempts_count == i + 1
    assert progress.best_score == pytest.approx(0.8)
    assert progress.last_score == pytest.approx(0.3)
    assert progress.last_attempt_at == start + timedelta(minutes=2)
    stored = await repo.get_progress(seeded, user_id=user.id, lesson_id=lesson.id)
    assert stored is not None and stored.attempts_count == 3
    finished = await repo.get_attempt(seeded, attempt.id, user_id=user.id)
    assert finished.status == "finished" and finished.score == pytest.approx(0.3)


async def test_finish_attempt_refuses_twice_and_bad_scores(seeded: AsyncSession) -> None:
    user = await _user(seeded)
    lesson = await _lesson(seeded)
    attempt = await _attempt(seeded, user, lesson)
    with pytest.raises(ValueError, match=r"0\.\.1"):
        await repo.finish_attempt(
            seeded, attempt.id, user_id=user.id, score=1.5, score_accuracy=1, score_quality=1
        )
    await repo.finish_attempt(
        seeded, attempt.id, user_id=user.id, score=1, score_accuracy=1, score_quality=1
    )
    with pytest.raises(repo.InvalidState):
        await repo.finish_attempt(
            seeded, attempt.id, user_id=user.id, score=1, score_accuracy=1, score_quality=1
        )
    other = await _attempt(seeded, user, lesson)
    with pytest.raises(ValueError, match=r"0\.\.1"):
        await repo.abandon_attempt(seeded, other.id, user_id=user.id, score=-0.1)
    abandoned = await repo.abandon_attempt(seeded, other.id, user_id=user.id, score=0.25)
    assert abandoned.status == "abandoned" and abandoned.finished_at is not None
    assert abandoned.score == 0.25
    with pytest.raises(repo.InvalidState):
        await repo.abandon_attempt(seeded, other.id, user_id=user.id)
    progress = await repo.get_progress(seeded, user_id=user.id, lesson_id=lesson.id)
    assert progress is not None and progress.attempts_count == 1


async def test_device_capabilities_are_deduplicated(seeded: AsyncSession) -> None:
    first = await repo.get_or_create_device_capability(
        seeded, kind="stylus", pressure=True, tilt=True, model="  Pen   Pro ", max_rate_hz=240
    )
    again = await repo.get_or_create_device_capability(
        seeded, kind="stylus", pressure=True, tilt=True, model="Pen Pro", max_rate_hz=240
    )
    mouse = await repo.get_or_create_device_capability(
        seeded, kind="mouse", pressure=False, tilt=False
    )
    assert first.id == again.id != mouse.id
    assert first.model == "Pen Pro"
    assert await seeded.scalar(select(func.count()).select_from(DeviceCapability)) == 2
    with pytest.raises(ValueError, match="device kind"):
        await repo.get_or_create_device_capability(
            seeded, kind="trackball", pressure=False, tilt=False
        )


# --- sessions, shared attempts, events ---------------------------------------------------------


async def test_session_lifecycle_and_participants(seeded: AsyncSession) -> None:
    host, guest = await _user(seeded, "host"), await _user(seeded, "guest")
    lesson = await _lesson(seeded)
    room = await repo.create_session(
        seeded, lesson_id=lesson.id, created_by=host.id, join_code="ABC123"
    )
    found = await repo.open_session_by_code(seeded, "ABC123")
    assert found is not None and found.id == room.id
    await repo.join_session(seeded, room.id, user_id=guest.id)
    room = await repo.set_session_state(seeded, room.id, "active")
    assert room.state == "active" and room.started_at is not None
    assert {(p.user_id, p.role) for p in room.participants} == {
        (host.id, "host"),
        (guest.id, "guest"),
    }

    left = await repo.leave_session(seeded, room.id, user_id=guest.id)
    assert left.leave_at is not None
    rejoined = await repo.join_session(seeded, room.id, user_id=guest.id)
    assert rejoined.id == left.id and rejoined.leave_at is None

    await repo.set_participant_results(seeded, room.id, {host.id: 0.9, guest.id: 0.4})
    with pytest.raises(repo.InvalidState):
        await repo.set_session_state(seeded, room.id, "active")
    room = await repo.set_session_state(seeded, room.id, "finished")
    assert room.ended_at is not None
    assert all(p.leave_at is not None for p in room.participants)
    assert {p.user_id: p.result_score for p in room.participants} == {host.id: 0.9, guest.id: 0.4}
    assert await repo.open_session_by_code(seeded, "ABC123") is None
    with pytest.raises(repo.InvalidState):
        await repo.join_session(seeded, room.id, user_id=guest.id)


async def test_join_code_is_unique_only_among_open_sessions(seeded: AsyncSession) -> None:
    host = await _user(seeded)
    lesson = await _lesson(seeded)
    first = await repo.create_session(
        seeded, lesson_id=lesson.id, created_by=host.id, join_code="ZZZ999"
    )
    savepoint = await seeded.begin_nested()
    with pytest.raises(IntegrityError):
        await repo.create_session(
            seeded, lesson_id=lesson.id, created_by=host.id, join_code="ZZZ999"
        )
    await savepoint.rollback()
    await repo.set_session_state(seeded, first.id, "finished")
    second = await repo.create_session(
        seeded, lesson_id=lesson.id, created_by=host.id, join_code="ZZZ999"
    )
    found = await repo.open_session_by_code(seeded, "ZZZ999")
    assert found is not None and found.id == second.id


async def test_shared_attempts_are_recorded_per_session(seeded: AsyncSession) -> None:
    a, b = await _user(seeded, "a"), await _user(seeded, "b")
    lesson = await _lesson(seeded)
    room = await repo.create_session(seeded, lesson_id=lesson.id, created_by=a.id, join_code="S1")
    await repo.record_shared_attempt(
        seeded,
        session_id=room.id,
        step_id=lesson.steps[0].id,
        aggregated_score=0.75,
        participant_scores={a.id: 0.9, b.id: 0.6},
        replay_ref="replays/s1/0",
    )
    with pytest.raises(ValueError, match=r"0\.\.1"):
        await repo.record_shared_attempt(
            seeded,
            session_id=room.id,
            step_id=lesson.steps[0].id,
            aggregated_score=2,
            participant_scores={},
        )
    (shared,) = await repo.list_shared_attempts(seeded, room.id)
    assert shared.aggregated_score == pytest.approx(0.75)
    assert shared.participant_scores == {str(a.id): 0.9, str(b.id): 0.6}
    assert shared.replay_ref == "replays/s1/0"


async def test_events_are_appended_in_bulk_and_read_by_user_and_session(
    seeded: AsyncSession,
) -> None:
    user = await _user(seeded)
    lesson = await _lesson(seeded)
    room = await repo.create_session(
        seeded, lesson_id=lesson.id, created_by=user.id, join_code="EV1"
    )
    base = datetime(2031, 5, 1, tzinfo=UTC)
    events = [
        repo.NewEvent("join", user_id=user.id, session_id=room.id, ts=base),
        repo.NewEvent(
            "start_step",
            user_id=user.id,
            step_id=lesson.steps[0].id,
            ts=base + timedelta(seconds=1),
        ),
        repo.NewEvent(
            "hint_shown", user_id=user.id, payload={"hint": 1}, ts=base + timedelta(seconds=2)
        ),
    ]
    assert await repo.append_events(seeded, events) == 3
    mine = await repo.list_events(seeded, user_id=user.id)
    assert [e.event_type for e in mine] == ["join", "start_step", "hint_shown"]
    assert mine[2].payload == {"hint": 1}
    assert mine[0].ts == base
    in_room = await repo.list_events(seeded, session_id=room.id)
    assert [e.event_type for e in in_room] == ["join"]
    later = await repo.list_events(seeded, user_id=user.id, since=base + timedelta(seconds=1))
    assert len(later) == 2
    with pytest.raises(ValueError, match="event type"):
        await repo.append_events(seeded, [repo.NewEvent("teleport")])

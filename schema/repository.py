"""The storage layer the server writes and reads through: every query lives here.

Functions take an `AsyncSession` and never commit: the caller owns the transaction
(`async with sessionmaker.begin() as session: ...`), so what one call does (finishing an
attempt and updating progress, say) commits or rolls back as one.

Access rules live here too: a user reads their own attempts, and a coach (role coach or admin)
also reads those of the learners who linked them (`coach_links`); anyone else gets
`AccessDenied` (`get_attempt_for_reader`, `may_read_learner`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from replay.points_codec import Points, decode_points, encode_points
from schema.base import utcnow
from schema.models import (
    DEVICE_KINDS,
    EVENT_TYPES,
    OPEN_SESSION_STATES,
    PARTICIPANT_ROLES,
    Attempt,
    CoachLink,
    Course,
    DeviceCapability,
    EventLog,
    Lesson,
    MultiplayerSession,
    Participant,
    Progress,
    SharedAttempt,
    Step,
    Stroke,
    Subscription,
    User,
)

StrokeWrite = Literal["auto", "copy", "executemany"]
# a row of STROKE_COLUMNS: attempt_id, step_id, seq, n_points, duration_ms, points blob
StrokeRecord = tuple[uuid.UUID, uuid.UUID, int, int, float, bytes]

STROKE_COLUMNS: Final = ("attempt_id", "step_id", "seq", "n_points", "duration_ms", "points")
# which states a session may move to, from which
SESSION_TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "active": ("waiting",),
    "finished": ("waiting", "active"),
}


class StorageError(Exception):
    """Base of the errors the API layer turns into responses."""


class NotFound(StorageError):  # noqa: N818 - the names the API layer maps to 404/403/409
    pass


class AccessDenied(StorageError):  # noqa: N818
    def __init__(self, user_id: uuid.UUID, what: str) -> None:
        super().__init__(f"user {user_id} may not read {what}")
        self.user_id = user_id


class InvalidState(StorageError):  # noqa: N818
    pass


class SelfLink(StorageError):  # noqa: N818
    """A learner named themselves as their own coach."""


@dataclass(frozen=True)
class NewStroke:
    attempt_id: uuid.UUID
    step_id: uuid.UUID
    seq: int
    points: Points  # (n, 6) float32: x, y, t, pressure, tilt_x, tilt_y


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    user_id: uuid.UUID | None = None
    attempt_id: uuid.UUID | None = None
    step_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    ts: datetime | None = None


@dataclass(frozen=True)
class ReplayStroke:
    seq: int
    step_id: uuid.UUID
    duration_ms: float
    points: Points


@dataclass(frozen=True)
class AttemptReplay:
    attempt: Attempt
    strokes: list[ReplayStroke]


@dataclass(frozen=True)
class LessonProgress:
    progress: Progress
    lesson_slug: str
    lesson_title: str


@dataclass(frozen=True)
class LinkedCoach:
    coach: User
    linked_at: datetime


@dataclass(frozen=True)
class LinkedLearner:
    learner: User
    linked_at: datetime
    attempts_count: int
    last_attempt_at: datetime | None


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _upsert(session: AsyncSession, table: type[Any]) -> postgresql.Insert | sqlite.Insert:
    return (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(table)


def _check_score(name: str, value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in 0..1, got {value}")


# --- users and devices ------------------------------------------------------------------------


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    display_name: str,
    password_hash: str | None = None,
    role: str = "player",
    locale: str = "en",
) -> User:
    user = User(
        email=email.strip().lower(),
        display_name=display_name,
        password_hash=password_hash,
        role=role,
        locale=locale,
    )
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def display_names(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(User.id, User.display_name).where(User.id.in_(set(user_ids)))
    )
    return {user_id: name for user_id, name in rows}


SUBSCRIBED_STATUSES: Final = ("active", "trialing")


async def has_active_subscription(
    session: AsyncSession, user_id: uuid.UUID, *, at: datetime | None = None
) -> bool:
    """True if the user has a subscription that is active or trialing, and in its period."""
    found = await session.scalar(
        select(Subscription.id)
        .where(
            Subscription.user_id == user_id,
            Subscription.status.in_(SUBSCRIBED_STATUSES),
            Subscription.period_end > (at or utcnow()),
        )
        .limit(1)
    )
    return found is not None


def device_key(
    kind: str, pressure: bool, tilt: bool, model: str | None, max_rate_hz: int | None
) -> str:
    return f"{kind}|p{int(pressure)}|t{int(tilt)}|{max_rate_hz or ''}|{model or ''}"


async def get_or_create_device_capability(
    session: AsyncSession,
    *,
    kind: str,
    pressure: bool,
    tilt: bool,
    model: str | None = None,
    max_rate_hz: int | None = None,
) -> DeviceCapability:
    """The one row for this kind of device, created on first sight (safe under races)."""
    if kind not in DEVICE_KINDS:
        raise ValueError(f"unknown device kind {kind!r}")
    model = " ".join(model.split())[:200] or None if model else None
    key = device_key(kind, pressure, tilt, model, max_rate_hz)
    query = select(DeviceCapability).where(DeviceCapability.key == key)
    found = await session.scalar(query)
    if found is not None:
        return found
    await session.execute(
        _upsert(session, DeviceCapability)
        .values(
            id=uuid.uuid4(),
            key=key,
            kind=kind,
            pressure=pressure,
            tilt=tilt,
            model=model,
            max_rate_hz=max_rate_hz,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return (await session.scalars(query)).one()


# --- catalog ----------------------------------------------------------------------------------


async def published_courses(session: AsyncSession) -> list[Course]:
    """Published courses, each with its published lessons (and their skill tags) in order."""
    live_lessons = Course.lessons.and_(Lesson.status == "published", Lesson.deleted_at.is_(None))
    result = await session.scalars(
        select(Course)
        .where(Course.status == "published", Course.deleted_at.is_(None))
        .order_by(Course.slug)
        .options(selectinload(live_lessons).selectinload(Lesson.skill_tags))
    )
    return list(result)


async def lesson_with_steps(
    session: AsyncSession, lesson: str | uuid.UUID, *, published_only: bool = True
) -> Lesson | None:
    """A lesson by slug or id, with its steps (and their media assets) and skill tags."""
    where = Lesson.slug == lesson if isinstance(lesson, str) else Lesson.id == lesson
    query = (
        select(Lesson)
        .where(where, Lesson.deleted_at.is_(None))
        .options(
            selectinload(Lesson.steps).selectinload(Step.media_assets),
            selectinload(Lesson.skill_tags),
        )
    )
    if published_only:
        query = query.where(Lesson.status == "published")
    return await session.scalar(query)


# --- attempts ---------------------------------------------------------------------------------


async def create_attempt(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    lesson_id: uuid.UUID,
    scorer_version: str,
    device_capability_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    started_at: datetime | None = None,
    attempt_id: uuid.UUID | None = None,
) -> Attempt:
    attempt = Attempt(
        id=attempt_id or uuid.uuid4(),
        user_id=user_id,
        lesson_id=lesson_id,
        scorer_version=scorer_version,
        device_capability_id=device_capability_id,
        session_id=session_id,
        started_at=started_at or utcnow(),
    )
    session.add(attempt)
    await session.flush()
    return attempt


async def get_attempt(
    session: AsyncSession, attempt_id: uuid.UUID, *, user_id: uuid.UUID, for_update: bool = False
) -> Attempt:
    attempt = await session.get(Attempt, attempt_id, with_for_update=for_update)
    if attempt is None:
        raise NotFound(f"no attempt {attempt_id}")
    if attempt.user_id != user_id:
        raise AccessDenied(user_id, f"attempt {attempt_id}")
    return attempt


async def list_attempts(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    lesson_id: uuid.UUID | None = None,
    limit: int = 50,
) -> list[Attempt]:
    """A user's own attempts, newest first."""
    query = select(Attempt).where(Attempt.user_id == user_id)
    if lesson_id is not None:
        query = query.where(Attempt.lesson_id == lesson_id)
    result = await session.scalars(query.order_by(Attempt.started_at.desc()).limit(limit))
    return list(result)


async def finish_attempt(
    session: AsyncSession,
    attempt_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    score: float,
    score_accuracy: float,
    score_quality: float,
    finished_at: datetime | None = None,
) -> Progress:
    """Mark an attempt finished and fold its score into the user's progress on the lesson."""
    for name, value in (("score", score), ("accuracy", score_accuracy), ("quality", score_quality)):
        _check_score(name, value)
    attempt = await get_attempt(session, attempt_id, user_id=user_id, for_update=True)
    if attempt.status != "in_progress":
        raise InvalidState(f"attempt {attempt_id} is already {attempt.status}")
    now = finished_at or utcnow()
    attempt.status = "finished"
    attempt.finished_at = now
    attempt.score = score
    attempt.score_accuracy = score_accuracy
    attempt.score_quality = score_quality
    await session.flush()

    # one statement, so concurrent finishes on the same lesson can't lose an update
    stmt = _upsert(session, Progress).values(
        user_id=attempt.user_id,
        lesson_id=attempt.lesson_id,
        best_score=score,
        last_score=score,
        attempts_count=1,
        last_attempt_at=now,
        updated_at=now,
    )
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[Progress.user_id, Progress.lesson_id],
        set_={
            "best_score": case(
                (new.best_score > Progress.best_score, new.best_score), else_=Progress.best_score
            ),
            "last_score": new.last_score,
            "attempts_count": Progress.attempts_count + 1,
            "last_attempt_at": new.last_attempt_at,
            "updated_at": new.updated_at,
        },
    )
    returning = stmt.returning(Progress).execution_options(populate_existing=True)
    return (await session.scalars(returning)).one()


async def abandon_attempt(
    session: AsyncSession,
    attempt_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    score: float | None = None,
    score_accuracy: float | None = None,
    score_quality: float | None = None,
    finished_at: datetime | None = None,
) -> Attempt:
    """Mark an attempt abandoned (left before its end), with the scores it had so far if
    given; the user's progress on the lesson is not touched."""
    for name, value in (("score", score), ("accuracy", score_accuracy), ("quality", score_quality)):
        if value is not None:
            _check_score(name, value)
    attempt = await get_attempt(session, attempt_id, user_id=user_id, for_update=True)
    if attempt.status != "in_progress":
        raise InvalidState(f"attempt {attempt_id} is already {attempt.status}")
    attempt.status = "abandoned"
    attempt.finished_at = finished_at or utcnow()
    attempt.score = score
    attempt.score_accuracy = score_accuracy
    attempt.score_quality = score_quality
    await session.flush()
    return attempt


async def get_progress(
    session: AsyncSession, *, user_id: uuid.UUID, lesson_id: uuid.UUID
) -> Progress | None:
    return await session.get(Progress, (user_id, lesson_id))


async def list_progress(session: AsyncSession, *, user_id: uuid.UUID) -> list[LessonProgress]:
    """A user's progress on every lesson they finished, most recent first."""
    rows = await session.execute(
        select(Progress, Lesson.slug, Lesson.title)
        .join(Lesson, Lesson.id == Progress.lesson_id)
        .where(Progress.user_id == user_id)
        .order_by(Progress.last_attempt_at.desc(), Lesson.slug)
    )
    return [LessonProgress(progress, slug, title) for progress, slug, title in rows]


# --- coaches ----------------------------------------------------------------------------------

# the roles a linked coach must still hold to read a learner's data (a demoted coach loses it)
COACH_READER_ROLES: Final = ("coach", "admin")


async def link_coach(
    session: AsyncSession, *, learner_id: uuid.UUID, coach_email: str
) -> tuple[LinkedCoach, bool]:
    """Let the active coach with this email read the learner's data; (link, newly made).

    `SelfLink` if the email is the learner's own; `NotFound` alike for an unknown email, a
    disabled account and one that is not a coach, so callers cannot tell them apart. Linking
    an already linked coach changes nothing.
    """
    coach = await user_by_email(session, coach_email)
    if coach is not None and coach.id == learner_id:
        raise SelfLink("a learner cannot be their own coach")
    if coach is None or not coach.is_active or coach.role != "coach":
        raise NotFound("no such coach")
    inserted = await session.execute(
        _upsert(session, CoachLink)
        .values(learner_id=learner_id, coach_id=coach.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["learner_id", "coach_id"])
        .returning(CoachLink.created_at)
    )
    created = inserted.scalar()
    if created is not None:
        return LinkedCoach(coach, created), True
    linked_at = await session.scalar(
        select(CoachLink.created_at).where(
            CoachLink.learner_id == learner_id, CoachLink.coach_id == coach.id
        )
    )
    assert linked_at is not None  # the conflict was with this very row
    return LinkedCoach(coach, linked_at), False


async def unlink_coach(
    session: AsyncSession, *, learner_id: uuid.UUID, coach_id: uuid.UUID
) -> None:
    """End the link (`NotFound` if there is none)."""
    removed = await session.execute(
        delete(CoachLink)
        .where(CoachLink.learner_id == learner_id, CoachLink.coach_id == coach_id)
        .returning(CoachLink.coach_id)
    )
    if removed.first() is None:
        raise NotFound(f"user {coach_id} is not a coach of {learner_id}")


async def list_coaches(session: AsyncSession, *, learner_id: uuid.UUID) -> list[LinkedCoach]:
    """The coaches a learner linked, in the order they were linked."""
    rows = await session.execute(
        select(User, CoachLink.created_at)
        .join(CoachLink, CoachLink.coach_id == User.id)
        .where(CoachLink.learner_id == learner_id)
        .order_by(CoachLink.created_at, User.id)
    )
    return [LinkedCoach(coach, linked_at) for coach, linked_at in rows]


async def list_learners(session: AsyncSession, *, coach_id: uuid.UUID) -> list[LinkedLearner]:
    """The learners who linked this coach, each with their attempts' count and latest start,
    most recently active first (never-active ones last, in link order)."""
    counts = (
        select(
            Attempt.user_id.label("user_id"),
            func.count().label("attempts_count"),
            func.max(Attempt.started_at).label("last_attempt_at"),
        )
        .join(CoachLink, CoachLink.learner_id == Attempt.user_id)
        .where(CoachLink.coach_id == coach_id)
        .group_by(Attempt.user_id)
        .subquery()
    )
    last_attempt = counts.c.last_attempt_at
    rows = await session.execute(
        select(User, CoachLink.created_at, counts.c.attempts_count, last_attempt)
        .join(CoachLink, CoachLink.learner_id == User.id)
        .outerjoin(counts, counts.c.user_id == User.id)
        .where(CoachLink.coach_id == coach_id)
        .order_by(last_attempt.is_(None), last_attempt.desc(), CoachLink.created_at, User.id)
    )
    return [
        LinkedLearner(learner, linked_at, int(count or 0), last)
        for learner, linked_at, count, last in rows
    ]


async def may_read_learner(session: AsyncSession, reader: User, learner_id: uuid.UUID) -> bool:
    """True for the learner themselves, and for a coach or admin the learner linked."""
    if reader.id == learner_id:
        return True
    if reader.role not in COACH_READER_ROLES:
        return False
    found = await session.scalar(
        select(CoachLink.coach_id).where(
            CoachLink.learner_id == learner_id, CoachLink.coach_id == reader.id
        )
    )
    return found is not None


async def get_attempt_for_reader(
    session: AsyncSession, attempt_id: uuid.UUID, reader: User
) -> Attempt:
    """`get_attempt` for its owner or a coach the owner linked (`may_read_learner`);
    `NotFound` / `AccessDenied` as there for everyone else."""
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"no attempt {attempt_id}")
    if not await may_read_learner(session, reader, attempt.user_id):
        raise AccessDenied(reader.id, f"attempt {attempt_id}")
    return attempt


# --- strokes ----------------------------------------------------------------------------------


def stroke_record(stroke: NewStroke) -> StrokeRecord:
    """A stroke as a row of STROKE_COLUMNS: points encoded, count and duration beside them."""
    blob = encode_points(stroke.points)
    n = stroke.points.shape[0]
    duration = float(stroke.points[-1, 2] - stroke.points[0, 2]) if n else 0.0
    return (stroke.attempt_id, stroke.step_id, stroke.seq, n, max(duration, 0.0), blob)


async def append_strokes(
    session: AsyncSession, strokes: Sequence[NewStroke], *, method: StrokeWrite = "auto"
) -> int:
    """Write many strokes at once; returns the number of points written.

    On Postgres "auto" means COPY (asyncpg `copy_records_to_table`, inside the session's
    transaction); elsewhere, and with "executemany", one multi-row INSERT.
    """
    return await append_stroke_records(session, [stroke_record(s) for s in strokes], method=method)


async def append_stroke_records(
    session: AsyncSession, records: Sequence[StrokeRecord], *, method: StrokeWrite = "auto"
) -> int:
    """`append_strokes` for rows already encoded by `stroke_record` (e.g. off the hot path)."""
    if not records:
        return 0
    dialect = _dialect(session)
    if method == "copy" and dialect != "postgresql":
        raise ValueError("COPY needs Postgres")
    if dialect == "postgresql" and method != "executemany":
        await _copy_strokes(session, records)
    else:
        rows = [dict(zip(STROKE_COLUMNS, r, strict=True)) for r in records]
        now = utcnow()
        for row in rows:
            row["created_at"] = now
        await session.execute(insert(Stroke), rows)
    return sum(r[3] for r in records)


async def _copy_strokes(session: AsyncSession, records: Sequence[StrokeRecord]) -> None:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter opens its transaction at the first statement; make
        # sure it is open, or COPY would autocommit outside the session's transaction
        await connection.exec_driver_sql("SELECT 1")
    await driver.copy_records_to_table("strokes", records=records, columns=STROKE_COLUMNS)


async def read_attempt_replay(
    session: AsyncSession, attempt_id: uuid.UUID, *, user_id: uuid.UUID
) -> AttemptReplay:
    """An attempt with all its strokes, points decoded, in drawing order."""
    attempt = await get_attempt(session, attempt_id, user_id=user_id)
    rows = await session.execute(
        select(Stroke.seq, Stroke.step_id, Stroke.duration_ms, Stroke.points)
        .where(Stroke.attempt_id == attempt_id)
        .order_by(Stroke.seq)
    )
    strokes = [
        ReplayStroke(seq, step_id, duration, decode_points(blob))
        for seq, step_id, duration, blob in rows
    ]
    return AttemptReplay(attempt, strokes)


# --- multiplayer ------------------------------------------------------------------------------


async def create_session(
    session: AsyncSession, *, lesson_id: uuid.UUID, created_by: uuid.UUID, join_code: str
) -> MultiplayerSession:
    """A waiting session, with its creator as the host."""
    room = MultiplayerSession(lesson_id=lesson_id, created_by=created_by, join_code=join_code)
    session.add(room)
    await session.flush()
    session.add(Participant(session_id=room.id, user_id=created_by, role="host"))
    await session.flush()
    return room


async def count_open_sessions(session: AsyncSession, *, created_by: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(MultiplayerSession)
        .where(
            MultiplayerSession.created_by == created_by,
            MultiplayerSession.state.in_(OPEN_SESSION_STATES),
        )
    )
    return int(count or 0)


async def get_session(session: AsyncSession, session_id: uuid.UUID) -> MultiplayerSession:
    room = await session.scalar(
        select(MultiplayerSession)
        .where(MultiplayerSession.id == session_id)
        .options(selectinload(MultiplayerSession.participants))
        .execution_options(populate_existing=True)  # fresh after bulk UPDATEs
    )
    if room is None:
        raise NotFound(f"no session {session_id}")
    return room


async def open_session_by_code(session: AsyncSession, join_code: str) -> MultiplayerSession | None:
    return await session.scalar(
        select(MultiplayerSession)
        .where(
            MultiplayerSession.join_code == join_code,
            MultiplayerSession.state.in_(OPEN_SESSION_STATES),
        )
        .options(selectinload(MultiplayerSession.participants))
    )


async def set_session_state(
    session: AsyncSession, session_id: uuid.UUID, state: str
) -> MultiplayerSession:
    """Move a session along waiting -> active -> finished (atomically; InvalidState if not)."""
    if state not in SESSION_TRANSITIONS:
        raise ValueError(f"a session cannot move to {state!r}")
    now = utcnow()
    values: dict[str, Any] = {"state": state, "updated_at": now}
    values["started_at" if state == "active" else "ended_at"] = now
    moved = await session.scalar(
        update(MultiplayerSession)
        .where(
            MultiplayerSession.id == session_id,
            MultiplayerSession.state.in_(SESSION_TRANSITIONS[state]),
        )
        .values(values)
        .returning(MultiplayerSession.id)
    )
    if moved is None:
        await get_session(session, session_id)  # NotFound if it does not exist at all
        raise InvalidState(f"session {session_id} cannot move to {state!r}")
    if state == "finished":
        await session.execute(
            update(Participant)
            .where(Participant.session_id == session_id, Participant.leave_at.is_(None))
            .values(leave_at=now)
        )
    return await get_session(session, session_id)


async def join_session(
    session: AsyncSession, session_id: uuid.UUID, *, user_id: uuid.UUID, role: str = "guest"
) -> Participant:
    """Add a participant to an open session (a returning participant rejoins their row)."""
    if role not in PARTICIPANT_ROLES:
        raise ValueError(f"unknown participant role {role!r}")
    room = await session.get(MultiplayerSession, session_id)
    if room is None:
        raise NotFound(f"no session {session_id}")
    if room.state not in OPEN_SESSION_STATES:
        raise InvalidState(f"session {session_id} is {room.state}")
    participant = await session.scalar(
        select(Participant).where(
            Participant.session_id == session_id, Participant.user_id == user_id
        )
    )
    if participant is None:
        participant = Participant(session_id=session_id, user_id=user_id, role=role)
        session.add(participant)
    else:
        participant.leave_at = None
    await session.flush()
    return participant


async def leave_session(
    session: AsyncSession, session_id: uuid.UUID, *, user_id: uuid.UUID
) -> Participant:
    participant = await session.scalar(
        select(Participant).where(
            Participant.session_id == session_id, Participant.user_id == user_id
        )
    )
    if participant is None:
        raise NotFound(f"user {user_id} is not in session {session_id}")
    if participant.leave_at is None:
        participant.leave_at = utcnow()
        await session.flush()
    return participant


async def set_participant_results(
    session: AsyncSession, session_id: uuid.UUID, scores: Mapping[uuid.UUID, float]
) -> None:
    for user_id, score in scores.items():
        _check_score("result_score", score)
        await session.execute(
            update(Participant)
            .where(Participant.session_id == session_id, Participant.user_id == user_id)
            .values(result_score=score)
        )


async def record_shared_attempt(
    session: AsyncSession,
    *,
    session_id: uuid.UUID,
    step_id: uuid.UUID,
    aggregated_score: float,
    participant_scores: Mapping[uuid.UUID, float],
    replay_ref: str | None = None,
) -> SharedAttempt:
    _check_score("aggregated_score", aggregated_score)
    for score in participant_scores.values():
        _check_score("participant score", score)
    shared = SharedAttempt(
        session_id=session_id,
        step_id=step_id,
        aggregated_score=aggregated_score,
        participant_scores={str(k): float(v) for k, v in participant_scores.items()},
        replay_ref=replay_ref,
    )
    session.add(shared)
    await session.flush()
    return shared


async def list_shared_attempts(session: AsyncSession, session_id: uuid.UUID) -> list[SharedAttempt]:
    result = await session.scalars(
        select(SharedAttempt)
        .where(SharedAttempt.session_id == session_id)
        .order_by(SharedAttempt.created_at, SharedAttempt.id)
    )
    return list(result)


# --- event logs -------------------------------------------------------------------------------


async def append_events(session: AsyncSession, events: Sequence[NewEvent]) -> int:
    if not events:
        return 0
    now = utcnow()
    rows = []
    for event in events:
        if event.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event.event_type!r}")
        rows.append(
            {
                "event_type": event.event_type,
                "user_id": event.user_id,
                "attempt_id": event.attempt_id,
                "step_id": event.step_id,
                "session_id": event.session_id,
                "payload": dict(event.payload),
                "ts": event.ts or now,
            }
        )
    await session.execute(insert(EventLog), rows)
    return len(rows)


async def list_events(
    session: AsyncSession,
    *,
    user_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    attempt_id: uuid.UUID | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[EventLog]:
    query = select(EventLog)
    if user_id is not None:
        query = query.where(EventLog.user_id == user_id)
    if attempt_id is not None:
        query = query.where(EventLog.attempt_id == attempt_id)
    if session_id is not None:
        query = query.where(EventLog.session_id == session_id)
    if since is not None:
        query = query.where(EventLog.ts >= since)
    result = await session.scalars(query.order_by(EventLog.ts, EventLog.id).limit(limit))
    return list(result)

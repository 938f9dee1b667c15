"""What the persistence writer writes, how big it counts each item, which failures it retries,
and the reads that let a retried batch skip what an earlier, uncertain commit already wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schema.models import Attempt, EventLog, SharedAttempt, Stroke
from schema.repository import NewEvent, NewStroke, StrokeRecord


@dataclass(frozen=True)
class NewAttempt:
    """An attempt started: its id is chosen by the hub, so nothing waits for the insert."""

    attempt_id: uuid.UUID
    user_id: uuid.UUID
    lesson_id: uuid.UUID
    scorer_version: str
    session_id: uuid.UUID | None
    started_at: datetime


@dataclass(frozen=True)
class FinishAttempt:
    attempt_id: uuid.UUID
    user_id: uuid.UUID
    score: float
    score_accuracy: float
    score_quality: float
    finished_at: datetime
    # left before the end: stored `abandoned` with the scores so far, progress untouched
    abandoned: bool = False


@dataclass(frozen=True)
class SharedResult:
    session_id: uuid.UUID
    step_id: uuid.UUID
    aggregated_score: float
    participant_scores: dict[uuid.UUID, float]
    replay_ref: str | None = None


@dataclass(frozen=True)
class ParticipantResults:
    session_id: uuid.UUID
    scores: dict[uuid.UUID, float]


WriteItem = NewAttempt | NewStroke | NewEvent | FinishAttempt | SharedResult | ParticipantResults
EventKey = tuple[
    str, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None, datetime
]

_ROW_OVERHEAD: Final = 256
# SQLSTATE classes worth waiting out: connection exceptions, serialization failures and
# deadlocks, insufficient resources, operator intervention (shutdown), system errors
_RETRY_SQLSTATES: Final = ("08", "40001", "40P01", "53", "57P", "58")


def item_size(item: WriteItem) -> int:
    """Roughly the memory an item holds while queued, for the writer's byte bound."""
    if isinstance(item, NewStroke):
        return int(item.points.nbytes) + _ROW_OVERHEAD
    if isinstance(item, NewEvent):
        return _ROW_OVERHEAD + 64 * len(item.payload)
    if isinstance(item, SharedResult):
        return _ROW_OVERHEAD + 64 * len(item.participant_scores)
    if isinstance(item, ParticipantResults):
        return _ROW_OVERHEAD + 64 * len(item.scores)
    return _ROW_OVERHEAD


def describe(item: WriteItem) -> str:
    """A short, log-sized name for an item (never its points)."""
    if isinstance(item, NewStroke):
        return f"stroke {item.seq} of attempt {item.attempt_id} ({item.points.shape[0]} points)"
    if isinstance(item, NewEvent):
        return f"event {item.event_type} at {item.ts} (user {item.user_id})"
    if isinstance(item, NewAttempt):
        return f"start of attempt {item.attempt_id}"
    if isinstance(item, FinishAttempt):
        return f"finish of attempt {item.attempt_id}"
    if isinstance(item, SharedResult):
        return f"shared result of session {item.session_id}, step {item.step_id}"
    return f"participant results of session {item.session_id}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo += [current.__cause__, current.__context__]
        if isinstance(orig, BaseException):
            todo.append(orig)


def is_retryable(exc: BaseException) -> bool:
    """True for the database being unavailable (worth waiting out), False for an item the
    database refuses (a constraint, a bad value), which no retry will fix."""
    for cause in _causes(exc):
        if isinstance(
            cause, OSError | TimeoutError | sa_exc.DisconnectionError | sa_exc.TimeoutError
        ):
            return True
        if isinstance(cause, sa_exc.DBAPIError) and (
            cause.connection_invalidated
            or isinstance(cause, sa_exc.OperationalError | sa_exc.InterfaceError)
        ):
            return True
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(state, str) and state.startswith(_RETRY_SQLSTATES):
            return True
    return False


def event_key(event: NewEvent) -> EventKey:
    if event.ts is None:
        raise ValueError("a queued event has its time set")
    return (
        event.event_type,
        event.user_id,
        event.attempt_id,
        event.step_id,
        event.session_id,
        event.ts,
    )


async def existing_stroke_keys(
    session: AsyncSession, records: Sequence[StrokeRecord]
) -> set[tuple[uuid.UUID, int]]:
    """The (attempt_id, seq) of these strokes that are already stored."""
    attempts = {r[0] for r in records}
    seqs = [r[2] for r in records]
    rows = await session.execute(
        select(Stroke.attempt_id, Stroke.seq).where(
            Stroke.attempt_id.in_(attempts), Stroke.seq.between(min(seqs), max(seqs))
        )
    )
    return {(attempt_id, seq) for attempt_id, seq in rows}


async def existing_events(session: AsyncSession, events: Sequence[NewEvent]) -> set[EventKey]:
    """The keys of these events that are already stored."""
    keys = [event_key(e) for e in events]
    times = [k[5] for k in keys]
    rows = await session.execute(
        select(
            EventLog.event_type,
            EventLog.user_id,
            EventLog.attempt_id,
            EventLog.step_id,
            EventLog.session_id,
            EventLog.ts,
        ).where(
            EventLog.ts.between(min(times), max(times)),
            EventLog.event_type.in_({k[0] for k in keys}),
        )
    )
    found = {(kind, user, attempt, step, room, ts) for kind, user, attempt, step, room, ts in rows}
    return found & set(keys)


async def existing_shared(session: AsyncSession, item: SharedResult) -> bool:
    query = select(SharedAttempt.id).where(
        SharedAttempt.session_id == item.session_id,
        SharedAttempt.step_id == item.step_id,
        SharedAttempt.aggregated_score == item.aggregated_score,
    )
    if item.replay_ref is None:
        query = query.where(SharedAttempt.replay_ref.is_(None))
    else:
        query = query.where(SharedAttempt.replay_ref == item.replay_ref)
    return await session.scalar(query.limit(1)) is not None


async def existing_attempts(session: AsyncSession, items: Sequence[NewAttempt]) -> set[uuid.UUID]:
    """Which of these attempts an earlier, uncertain commit already inserted."""
    ids = [a.attempt_id for a in items]
    rows = await session.execute(select(Attempt.id).where(Attempt.id.in_(ids)))
    return set(rows.scalars())

"""The persistence writer on SQLite and real Postgres: batching, order, backpressure, retries
through an unavailable database, idempotent retries, refused items, flush on close."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import numpy as np
import pytest
import pytest_asyncio
from postgres_support import postgres_unavailable, postgres_url
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lessons import load_catalog
from replay.points_codec import Points, decode_points
from schema import migrate
from schema import repository as repo
from schema.database import make_engine, make_sessionmaker
from schema.models import Attempt, EventLog, Lesson, Progress, SharedAttempt, Step, Stroke
from schema.repository import NewEvent, NewStroke
from schema.seed import seed_catalog
from server.writer import SessionFactory, Writer
from server.writer_items import is_retryable


@pytest_asyncio.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    schema: str | None = None
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('writer') / 'writer.db'}")
    else:
        reason = await postgres_unavailable()
        if reason is not None:
            pytest.skip(reason)
        schema = f"inkroom_test_{uuid.uuid4().hex[:12]}"
        admin = make_engine(postgres_url())
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        await admin.dispose()
        eng = make_engine(postgres_url(), connect_args={"server_settings": {"search_path": schema}})
    await migrate.upgrade(eng)
    async with make_sessionmaker(eng).begin() as session:
        await seed_catalog(session, load_catalog())
    yield eng
    await eng.dispose()
    if schema is not None:
        admin = make_engine(postgres_url())
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@dataclass(frozen=True)
class World:
    user_id: uuid.UUID
    attempt_id: uuid.UUID
    lesson_id: uuid.UUID
    step_id: uuid.UUID
    session_id: uuid.UUID


@pytest_asyncio.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    """A user with an attempt in progress and a multiplayer session, committed."""
    async with sessions.begin() as session:
        lesson = (await session.scalars(select(Lesson).order_by(Lesson.slug))).first()
        assert lesson is not None
        step_id = await session.scalar(select(Step.id).where(Step.lesson_id == lesson.id))
        assert step_id is not None
        user = await repo.create_user(
            session, email=f"{uuid.uuid4().hex}@example.com", display_name="W"
        )
        attempt = await repo.create_attempt(
            session, user_id=user.id, lesson_id=lesson.id, scorer_version="test"
        )
        room = await repo.create_session(
            session, lesson_id=lesson.id, created_by=user.id, join_code=uuid.uuid4().hex[:8]
        )
        return World(user.id, attempt.id, lesson.id, step_id, room.id)


def points(n: int, seed: int) -> Points:
    rng = np.random.default_rng(seed)
    out = rng.normal(100, 30, (n, 6)).astype(np.float32)
    out[:, 2] = np.arange(n, dtype=np.float32) * 4
    return out


def stroke(w: World, seq: int, n: int = 50) -> NewStroke:
    return NewStroke(w.attempt_id, w.step_id, seq, points(n, seq))


def event(w: World, kind: str = "start_step", i: int = 0) -> NewEvent:
    return NewEvent(kind, user_id=w.user_id, attempt_id=w.attempt_id, payload={"i": i})


async def stored_strokes(sessions: async_sessionmaker[AsyncSession], w: World) -> list[Stroke]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Stroke).where(Stroke.attempt_id == w.attempt_id).order_by(Stroke.id)
        )
        return list(rows)


async def count(
    sessions: async_sessionmaker[AsyncSession],
    model: type[EventLog] | type[SharedAttempt],
    w: World,
) -> int:
    column = EventLog.attempt_id if model is EventLog else SharedAttempt.session_id
    value = w.attempt_id if model is EventLog else w.session_id
    async with sessions() as session:
        n = await session.scalar(select(func.count()).select_from(model).where(column == value))
        return int(n or 0)


async def wait_until(predicate: Callable[[], bool]) -> None:
    for _ in range(5000):
        if predicate():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the condition never came true")


class Flaky:
    """A session factory that fails `failures` times with `error` before it works."""

    def __init__(self, good: SessionFactory, failures: int, error: Exception) -> None:
        self.good, self.failures, self.error, self.calls = good, failures, error, 0

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.good()


def lost_answer(good: async_sessionmaker[AsyncSession]) -> SessionFactory:
    """A session factory whose first transaction commits, then the connection "dies" before
    the answer reaches the writer: an uncertain commit."""
    calls = 0

    @asynccontextmanager
    async def factory() -> AsyncIterator[AsyncSession]:
        nonlocal calls
        calls += 1
        async with good() as session:
            yield session
        if calls == 1:
            raise ConnectionResetError("connection lost after COMMIT")

    return factory


@asynccontextmanager
async def running(writer: Writer) -> AsyncIterator[Writer]:
    writer.start()
    try:
        yield writer
    finally:
        await writer.close()


async def test_writer_batches_strokes_and_events(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with running(Writer(sessions, max_items=10, max_delay=60)) as writer:
        for seq in range(25):
            await writer.add_stroke(stroke(world, seq))
        await writer.add_event(event(world))
        await writer.flush()
        # 26 items queued at once, 10 at a time: two full batches, the rest on flush
        assert writer.totals.batches == 3
        assert (writer.totals.strokes, writer.totals.events) == (25, 1)
        assert writer.totals.points == 25 * 50
    rows = await stored_strokes(sessions, world)
    assert [r.seq for r in rows] == list(range(25))
    np.testing.assert_array_equal(decode_points(rows[7].points), points(50, 7))
    assert await count(sessions, EventLog, world) == 1


async def test_writer_keeps_order_across_batches(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with running(Writer(sessions, max_items=3, max_delay=0)) as writer:
        for seq in range(10):
            await writer.add_stroke(stroke(world, seq, n=5))
            await asyncio.sleep(0)  # let batches of every size form
        await writer.finish_attempt(
            world.attempt_id,
            user_id=world.user_id,
            score=0.8,
            score_accuracy=0.7,
            score_quality=0.9,
        )
        await writer.flush()
        assert writer.totals.finishes == 1
    rows = await stored_strokes(sessions, world)
    # ids are given in insertion order: insertion followed the queue
    assert [r.seq for r in rows] == list(range(10))
    async with sessions() as session:
        progress = await repo.get_progress(
            session, user_id=world.user_id, lesson_id=world.lesson_id
        )
    assert progress is not None and progress.last_score == 0.8


async def test_writer_stores_an_abandoned_attempt_without_touching_progress(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with running(Writer(sessions, max_delay=0)) as writer:
        await writer.finish_attempt(
            world.attempt_id, user_id=world.user_id, score=0.3, score_accuracy=0.4,
            score_quality=0.5, abandoned=True,
        )  # fmt: skip
        await writer.flush()
        assert writer.totals.finishes == 1
    async with sessions() as session:
        attempt = await repo.get_attempt(session, world.attempt_id, user_id=world.user_id)
        progress = await repo.get_progress(
            session, user_id=world.user_id, lesson_id=world.lesson_id
        )
    assert attempt.status == "abandoned" and attempt.finished_at is not None
    assert (attempt.score, attempt.score_accuracy, attempt.score_quality) == (0.3, 0.4, 0.5)
    assert progress is None  # an attempt left half-way is no finished attempt


def _two_stroke_writer(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> tuple[asyncio.Event, Writer]:
    """A writer whose queue holds two 100-point strokes, and whose sessions open (so its
    batches are written) only once the gate is set."""
    gate = asyncio.Event()

    @asynccontextmanager
    async def gated() -> AsyncIterator[AsyncSession]:
        await gate.wait()
        async with sessions() as session:
            yield session

    bound = 2 * (stroke(world, 0, n=100).points.nbytes + 256)
    return gate, Writer(gated, max_bytes=bound, max_delay=0)


async def test_writer_backpressure_waits_and_loses_nothing(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    gate, writer = _two_stroke_writer(sessions, world)
    async with running(writer):
        await writer.add_stroke(stroke(world, 0, n=100))
        await writer.add_stroke(stroke(world, 1, n=100))
        third = asyncio.create_task(writer.add_stroke(stroke(world, 2, n=100)))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not third.done(), "a full queue must make the producer wait"
        assert writer.depth == 2
        gate.set()
        await third
        await writer.flush()
    assert [r.seq for r in await stored_strokes(sessions, world)] == [0, 1, 2]


async def test_writer_put_nowait_queues_where_there_is_room_and_refuses_where_not(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    """The live path's way in: no await while there is room; a full queue takes nothing (the
    caller then awaits `put`), and whatever was taken is written, in order, with the rest."""
    gate, writer = _two_stroke_writer(sessions, world)
    async with running(writer):
        assert writer.put_nowait(stroke(world, 0, n=100))
        assert writer.put_nowait(stroke(world, 1, n=100))
        assert not writer.put_nowait(stroke(world, 2, n=100)), "over the bound: not taken"
        assert writer.depth == 2
        third = asyncio.create_task(writer.add_stroke(stroke(world, 2, n=100)))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not third.done()
        gate.set()
        await third
        await writer.flush()
        assert writer.put_nowait(stroke(world, 3, n=100))  # room again
        await writer.flush()
    assert [r.seq for r in await stored_strokes(sessions, world)] == [0, 1, 2, 3]
    with pytest.raises(RuntimeError):
        writer.put_nowait(stroke(world, 4, n=100))  # closed


async def test_writer_retries_until_the_database_recovers(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    flaky = Flaky(sessions, 3, ConnectionRefusedError("database down"))
    async with running(
        Writer(flaky, max_delay=0, backoff_initial=0.001, backoff_max=0.01)
    ) as writer:
        for seq in range(5):
            await writer.add_stroke(stroke(world, seq))
        await writer.add_event(event(world))
        await writer.flush()
        assert writer.totals.retries == 3
        assert writer.totals.dead == 0
    assert [r.seq for r in await stored_strokes(sessions, world)] == list(range(5))
    assert await count(sessions, EventLog, world) == 1


async def test_writer_waits_out_a_closed_port_then_writes_in_order(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    # a real driver error: nothing listens on port 1
    down = make_engine("postgresql://postgres@127.0.0.1:1/none")
    writer = Writer(
        make_sessionmaker(down), max_items=4, max_delay=0, backoff_initial=0.001, backoff_max=0.01
    )
    async with running(writer):
        for seq in range(10):
            await writer.add_stroke(stroke(world, seq, n=8))
        await wait_until(lambda: writer.totals.retries >= 2)
        assert writer.totals.strokes == 0 and writer.depth == 10
        writer.sessions = sessions
        await writer.flush()
        assert writer.totals.dead == 0
    await down.dispose()
    assert [r.seq for r in await stored_strokes(sessions, world)] == list(range(10))


async def test_writer_retry_after_an_uncertain_commit_writes_once(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with running(
        Writer(lost_answer(sessions), max_delay=60, backoff_initial=0.001, backoff_max=0.01)
    ) as writer:
        for seq in range(4):
            await writer.add_stroke(stroke(world, seq))
        for i in range(3):
            await writer.add_event(event(world, "undo", i))
        await writer.finish_attempt(
            world.attempt_id,
            user_id=world.user_id,
            score=0.5,
            score_accuracy=0.5,
            score_quality=0.5,
        )
        await writer.record_shared_attempt(
            session_id=world.session_id,
            step_id=world.step_id,
            aggregated_score=0.6,
            participant_scores={world.user_id: 0.6},
        )
        await writer.flush()
        assert writer.totals.retries == 1
        assert writer.totals.skipped == 9 and writer.totals.dead == 0
    assert [r.seq for r in await stored_strokes(sessions, world)] == [0, 1, 2, 3]
    assert await count(sessions, EventLog, world) == 3
    assert await count(sessions, SharedAttempt, world) == 1
    async with sessions() as session:
        progress = await session.get(Progress, (world.user_id, world.lesson_id))
    assert progress is not None and progress.attempts_count == 1


async def test_writer_sets_a_refused_item_aside_and_writes_the_rest(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    orphan = NewStroke(uuid.uuid4(), world.step_id, 0, points(5, 0))  # no such attempt
    async with running(Writer(sessions, max_delay=60)) as writer:
        await writer.add_stroke(stroke(world, 0))
        await writer.add_stroke(orphan)
        await writer.add_stroke(stroke(world, 1))
        await writer.add_event(event(world))
        await writer.flush()
        assert writer.totals.dead == 1
        assert writer.dead_letters[0][0] is orphan
    assert [r.seq for r in await stored_strokes(sessions, world)] == [0, 1]
    assert await count(sessions, EventLog, world) == 1


async def test_writer_close_flushes_everything(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    depths: list[int] = []
    writer = Writer(sessions, max_delay=3600, on_depth=depths.append)
    writer.start()
    for seq in range(6):
        await writer.add_stroke(stroke(world, seq))
    await writer.set_participant_results(world.session_id, {world.user_id: 0.75})
    assert writer.depth == 7 and depths[-1] == 7
    assert await writer.close() == 0
    assert writer.depth == 0 and depths[-1] == 0
    assert [r.seq for r in await stored_strokes(sessions, world)] == list(range(6))
    async with sessions() as session:
        room = await repo.get_session(session, world.session_id)
    assert [p.result_score for p in room.participants] == [0.75]
    with pytest.raises(RuntimeError):
        await writer.add_stroke(stroke(world, 99))


async def test_writer_close_with_the_database_down_reports_what_is_left(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    never = Flaky(sessions, 10**9, ConnectionRefusedError("down for good"))
    writer = Writer(never, max_delay=0, backoff_initial=0.001, backoff_max=0.01)
    writer.start()
    for seq in range(3):
        await writer.add_stroke(stroke(world, seq))
    await wait_until(lambda: writer.totals.retries >= 1)
    assert await writer.close(timeout=0.05) == 3
    assert await stored_strokes(sessions, world) == []


def _dbapi(cls: type[sa_exc.DBAPIError], orig: Exception) -> sa_exc.DBAPIError:
    return cls("INSERT ...", {}, orig)


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (_dbapi(sa_exc.OperationalError, Exception("database is locked")), True),
        (_dbapi(sa_exc.DBAPIError, _PgError("08006")), True),
        (_dbapi(sa_exc.DBAPIError, _PgError("40P01")), True),
        (_dbapi(sa_exc.IntegrityError, _PgError("23505")), False),
        (_PgError("23503"), False),
        (ValueError("score must be in 0..1"), False),
        (repo.InvalidState("already finished"), False),
    ],
)
def test_writer_is_retryable_tells_outages_from_refusals(error: Exception, retry: bool) -> None:
    assert is_retryable(error) is retry


async def test_writer_flush_needs_a_running_writer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(RuntimeError):
        await Writer(sessions).flush()


async def test_writer_inserts_a_new_attempt_before_its_strokes_once_even_on_retry(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with running(
        Writer(lost_answer(sessions), max_delay=60, backoff_initial=0.001, backoff_max=0.01)
    ) as writer:
        attempt_id = await writer.start_attempt(
            user_id=world.user_id, lesson_id=world.lesson_id, scorer_version="test",
            session_id=world.session_id,
        )  # fmt: skip
        # the stroke comes first within the batch's items of its kind, yet refers to the attempt
        await writer.add_stroke(NewStroke(attempt_id, world.step_id, 0, points(20, 1)))
        await writer.flush()
        assert writer.totals.retries == 1 and writer.totals.dead == 0
        assert writer.totals.skipped == 2  # the attempt and the stroke, found on the retry
    async with sessions() as session:
        row = await session.get(Attempt, attempt_id)
        assert row is not None and row.session_id == world.session_id
        n = await session.scalar(
            select(func.count()).select_from(Stroke).where(Stroke.attempt_id == attempt_id)
        )
    assert n == 1


async def test_the_database_holds_one_shared_result_per_room_step(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with running(Writer(sessions, max_delay=60)) as writer:
        for score in (0.6, 0.7):
            await writer.record_shared_attempt(
                session_id=world.session_id,
                step_id=world.step_id,
                aggregated_score=score,
                participant_scores={world.user_id: score},
            )
        await writer.flush()
        assert writer.totals.shared == 1 and writer.totals.dead == 1
    assert await count(sessions, SharedAttempt, world) == 1

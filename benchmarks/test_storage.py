"""Stroke storage on Postgres: bulk writes (COPY against executemany) and replay reads.

    python3 -m pytest benchmarks/ --benchmark-only

Bars (issue 3): >= 500,000 points/s written with COPY (strokes of ~300 points, in batches,
encoding included); a 50-stroke attempt read back with all its points in <= 20 ms.
Each run works in a fresh Postgres schema, dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy.ext.asyncio import AsyncEngine

from lessons import load_catalog
from replay.points_codec import encode_points
from schema import migrate
from schema import repository as repo
from schema.database import make_engine, make_sessionmaker
from schema.seed import seed_catalog

POSTGRES_URL = os.environ.get(
    "INKROOM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
POINTS_PER_STROKE = 300
STROKES_PER_BATCH = 200  # 60,000 points per transaction
BATCHES = 5
REPLAY_STROKES = 50


def pen_stroke(n: int, rng: np.random.Generator) -> np.ndarray:
    s = np.linspace(0.0, 2.0 * np.pi, n)
    t = np.cumsum(rng.normal(1000 / 240, 0.2, n).clip(1.0))
    return np.column_stack(
        (
            500 + 300 * np.cos(s) + rng.normal(0, 0.2, n),
            400 + 200 * np.sin(2 * s) + rng.normal(0, 0.2, n),
            t - t[0],
            np.clip(0.5 + 0.3 * np.sin(3 * s), 0, 1),
            np.round(30 * np.sin(s)),
            np.round(-20 * np.cos(s)),
        )
    ).astype(np.float32)


@dataclass
class Fixture:
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    user_id: uuid.UUID
    lesson_id: uuid.UUID
    step_id: uuid.UUID
    strokes: list[np.ndarray]


async def _setup(schema: str) -> tuple[AsyncEngine, uuid.UUID, uuid.UUID, uuid.UUID]:
    admin = make_engine(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await admin.dispose()
    engine = make_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    await migrate.upgrade(engine)
    async with make_sessionmaker(engine).begin() as session:
        await seed_catalog(session, load_catalog())
        lesson = await repo.lesson_with_steps(session, "steady-lines")
        assert lesson is not None
        user = await repo.create_user(session, email="bench@example.org", display_name="bench")
        return engine, user.id, lesson.id, lesson.steps[0].id


async def _teardown(engine: AsyncEngine, schema: str) -> None:
    await engine.dispose()
    admin = make_engine(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    await admin.dispose()


@pytest.fixture(scope="module")
def pg() -> Iterator[Fixture]:
    loop = asyncio.new_event_loop()
    schema = f"inkroom_bench_{uuid.uuid4().hex[:12]}"
    try:
        engine, user_id, lesson_id, step_id = loop.run_until_complete(_setup(schema))
    except OSError as exc:
        loop.close()
        pytest.skip(f"Postgres unreachable at {POSTGRES_URL}: {exc!r}")
    rng = np.random.default_rng(11)
    strokes = [pen_stroke(POINTS_PER_STROKE, rng) for _ in range(STROKES_PER_BATCH)]
    yield Fixture(loop, engine, user_id, lesson_id, step_id, strokes)
    loop.run_until_complete(_teardown(engine, schema))
    loop.close()


def _mean_seconds(benchmark: BenchmarkFixture) -> float:
    assert benchmark.stats is not None
    return float(benchmark.stats.stats.mean)


async def _write_batches(pg: Fixture, method: repo.StrokeWrite, *, encode: bool) -> int:
    sessions = make_sessionmaker(pg.engine)
    blobs = [encode_points(points) for points in pg.strokes]
    points = 0
    for _ in range(BATCHES):
        async with sessions.begin() as session:
            attempt = await repo.create_attempt(
                session, user_id=pg.user_id, lesson_id=pg.lesson_id, scorer_version="bench"
            )
            if encode:
                batch = [
                    repo.NewStroke(attempt.id, pg.step_id, seq, stroke)
                    for seq, stroke in enumerate(pg.strokes)
                ]
                points += await repo.append_strokes(session, batch, method=method)
            else:
                records = [
                    (attempt.id, pg.step_id, seq, POINTS_PER_STROKE, 1000.0, blob)
                    for seq, blob in enumerate(blobs)
                ]
                points += await repo.append_stroke_records(session, records, method=method)
    return points


@pytest.mark.parametrize("encode", [True, False], ids=["with-encoding", "db-only"])
@pytest.mark.parametrize("method", ["copy", "executemany"])
def test_bulk_stroke_write(
    benchmark: BenchmarkFixture,
    pg: Fixture,
    method: repo.StrokeWrite,
    encode: bool,
    report: Callable[[str], None],
) -> None:
    written: list[int] = []

    def run() -> None:
        written.append(pg.loop.run_until_complete(_write_batches(pg, method, encode=encode)))

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)  # type: ignore[no-untyped-call]
    rate = written[-1] / _mean_seconds(benchmark)
    benchmark.extra_info["points_per_second"] = round(rate)
    label = "with encoding" if encode else "pre-encoded"
    report(
        f"bulk stroke write on Postgres, {method} ({label}): {rate:,.0f} points/s"
        f" ({written[-1]:,} points per round; bar 500,000 with COPY)"
    )
    if method == "copy":
        assert rate >= 500_000


def test_read_50_stroke_attempt(
    benchmark: BenchmarkFixture, pg: Fixture, report: Callable[[str], None]
) -> None:
    async def write() -> uuid.UUID:
        async with make_sessionmaker(pg.engine).begin() as session:
            attempt = await repo.create_attempt(
                session, user_id=pg.user_id, lesson_id=pg.lesson_id, scorer_version="bench"
            )
            strokes = [
                repo.NewStroke(attempt.id, pg.step_id, seq, points)
                for seq, points in enumerate(pg.strokes[:REPLAY_STROKES])
            ]
            await repo.append_strokes(session, strokes)
            return attempt.id

    attempt_id = pg.loop.run_until_complete(write())
    sessions = make_sessionmaker(pg.engine)

    async def read() -> repo.AttemptReplay:
        async with sessions() as session:
            return await repo.read_attempt_replay(session, attempt_id, user_id=pg.user_id)

    replay = benchmark(lambda: pg.loop.run_until_complete(read()))
    assert len(replay.strokes) == REPLAY_STROKES
    assert sum(s.points.shape[0] for s in replay.strokes) == REPLAY_STROKES * POINTS_PER_STROKE
    mean_ms = _mean_seconds(benchmark) * 1000
    benchmark.extra_info["mean_ms"] = round(mean_ms, 3)
    report(f"read a 50-stroke attempt with all its points: {mean_ms:.2f} ms mean (bar 20 ms)")
    assert mean_ms <= 20


def test_encode_300_point_stroke(benchmark: BenchmarkFixture) -> None:
    stroke = pen_stroke(POINTS_PER_STROKE, np.random.default_rng(1))
    blob = benchmark(encode_points, stroke)
    assert len(blob) < stroke.nbytes / 2

"""Fixtures: a migrated database per backend (SQLite and real Postgres), a rolled-back session.

Each backend is migrated once per test session (Postgres into a fresh schema of its own, so
runs never meet); each test then runs in a transaction that is rolled back at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from postgres_support import postgres_unavailable, postgres_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lessons import Catalog, load_catalog
from replay.points_codec import Points
from schema import migrate
from schema.database import make_engine
from schema.seed import seed_catalog


async def postgres_schema_engine() -> tuple[AsyncEngine, str]:
    """An engine whose connections live in a new, empty schema."""
    schema = f"inkroom_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url())
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await admin.dispose()
    engine = make_engine(postgres_url(), connect_args={"server_settings": {"search_path": schema}})
    return engine, schema


async def drop_postgres_schema(engine: AsyncEngine, schema: str) -> None:
    await engine.dispose()
    admin = make_engine(postgres_url())
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    await admin.dispose()


async def empty_engine(backend: str, directory: Path) -> tuple[AsyncEngine, str | None]:
    if backend == "sqlite":
        return make_engine(f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}"), None
    reason = await postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    return await postgres_schema_engine()


async def dispose(engine: AsyncEngine, schema: str | None) -> None:
    if schema is None:
        await engine.dispose()
    else:
        await drop_postgres_schema(engine, schema)


BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


@pytest_asyncio.fixture(scope="session")
async def engine(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    eng, schema = await empty_engine(backend, tmp_path_factory.mktemp("db"))
    await migrate.upgrade(eng)
    yield eng
    await dispose(eng, schema)


@pytest_asyncio.fixture
async def fresh_engine(backend: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty, unmigrated database of its own, for tests that migrate or commit."""
    eng, schema = await empty_engine(backend, tmp_path)
    yield eng
    await dispose(eng, schema)


@pytest_asyncio.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test; the code under test
    may commit (that commits a savepoint)."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest_asyncio.fixture
async def seeded(db: AsyncSession, catalog: Catalog) -> AsyncSession:
    await seed_catalog(db, catalog)
    return db


def pen_stroke(n: int, seed: int = 0) -> Points:
    """A plausible pen stroke: 240 Hz, a wavy path with tremor, varying pressure and tilt."""
    rng = np.random.default_rng(seed)
    s = np.linspace(0.0, 2.0 * np.pi, n)
    t = np.round(np.cumsum(rng.normal(1000 / 240, 0.2, n).clip(1.0)) * 10) / 10
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


@pytest.fixture
def make_stroke() -> Callable[[int, int], Points]:
    return pen_stroke

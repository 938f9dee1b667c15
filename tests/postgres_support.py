"""Reaching the tests' real Postgres: its URL, whether it answers, schema DDL.

Shared by the test packages (pytest puts `tests/` on the path; see `pythonpath` in
pyproject.toml). Unreachable Postgres is a skip with the reason, except under CI=true, where
`postgres_unavailable` fails the test instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url

from schema.database import make_engine

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("INKROOM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


async def postgres_unavailable() -> str | None:
    """Why Postgres can't be used (None if it can); in CI that is a failure, not a skip."""
    url = make_url(postgres_url())
    try:
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=5,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"Postgres at {url.render_as_string()} is unreachable: {exc!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: Postgres is required)")
        return reason
    await conn.close()
    return None


async def schema_ddl(statement: str) -> None:
    """Run one DDL statement (CREATE / DROP SCHEMA) on the test database."""
    admin = make_engine(postgres_url())
    async with admin.begin() as conn:
        await conn.exec_driver_sql(statement)
    await admin.dispose()


@contextlib.contextmanager
def app_database(backend: str, folder: Path, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(database URL, engine options) for an app under test: a SQLite file in `folder`, or a
    fresh Postgres schema (dropped afterwards) reached through `search_path`."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'inkroom.db'}", {}
        return
    reason = asyncio.run(postgres_unavailable())  # fails the test under CI=true
    if reason is not None:
        pytest.skip(reason)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(schema_ddl(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_url(), {"connect_args": {"server_settings": {"search_path": schema}}}
    finally:
        asyncio.run(schema_ddl(f'DROP SCHEMA "{schema}" CASCADE'))

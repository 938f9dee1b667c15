"""Reaching the tests' real Postgres: its URL, whether it answers, schema DDL.

Shared by the test packages (pytest puts `tests/` on the path; see `pythonpath` in
pyproject.toml). Unreachable Postgres is a skip with the reason, except under CI=true, where
`postgres_unavailable` fails the test instead.
"""

from __future__ import annotations

import os

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

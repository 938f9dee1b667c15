"""Alembic environment: async, for Postgres (asyncpg) and SQLite (aiosqlite).

`schema.migrate` hands over an open connection in `config.attributes["connection"]` (so
migrations can run inside a running event loop); the `alembic` command line instead gets
the URL from `-x url=...` or from INKROOM_DATABASE_URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

import schema.models  # noqa: F401 - registers every table on Base.metadata
from schema.base import Base
from schema.database import async_database_url, make_engine
from server.config import Settings

target_metadata = Base.metadata


def _url() -> str:
    url = context.config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get(
        "url"
    )
    if url is None:
        url = Settings.from_env().database_url
    return str(url)


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = make_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=async_database_url(_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (shared := context.config.attributes.get("connection")) is not None:
    do_run_migrations(shared)
else:
    asyncio.run(run_async_migrations())

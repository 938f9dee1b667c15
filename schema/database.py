"""Database URLs, engines and sessions.

People paste the URLs they already have (`postgresql://user@host:5432/db`, `postgres://...`,
`sqlite:///inkroom.db`); `async_database_url` turns them into the async form SQLAlchemy needs,
choosing asyncpg or aiosqlite itself.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

DEFAULT_DATABASE_URL: Final = "sqlite:///inkroom.db"

_DRIVERS: Final = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_database_url(url: str | URL) -> URL:
    """The async form of a database URL; raises ValueError for what Inkroom can't use."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {exc}") from None
    backend = parsed.drivername.split("+", 1)[0]
    if backend not in _DRIVERS:
        raise ValueError(
            f"unsupported database {parsed.drivername!r}: use postgresql://... or sqlite:///..."
        )
    parsed = parsed.set(drivername=_DRIVERS[backend])
    if backend != "sqlite" and "sslmode" in parsed.query:
        # libpq spells it sslmode; asyncpg takes the same values as ssl
        query = dict(parsed.query)
        query["ssl"] = query.pop("sslmode")
        parsed = parsed.set(query=query)
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    engine = create_async_engine(async_database_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _configure_sqlite(engine: AsyncEngine) -> None:
    # The sqlite3 module opens transactions on its own schedule (not before DDL, not for
    # SAVEPOINT); take that over so SQLite gets real BEGIN ... COMMIT around everything,
    # transactional migrations and nested (savepoint) transactions included.
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        # WAL: readers never block the writer nor the writer the readers (the live server
        # reads while its writer writes). A file setting; an in-memory database keeps its own.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    # IMMEDIATE takes the write lock up front: two deferred transactions that both read and
    # then both write would fail at once with "database is locked" (SQLite cannot wait on a
    # lock upgrade without risking deadlock); taken at BEGIN, the lock is simply waited for.
    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

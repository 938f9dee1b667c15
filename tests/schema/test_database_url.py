from __future__ import annotations

import pytest

from schema.database import DEFAULT_DATABASE_URL, async_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://user@host:5432/db", "postgresql+asyncpg://user@host:5432/db"),
        ("postgres://user:pw@host/db", "postgresql+asyncpg://user:pw@host/db"),
        ("postgresql+asyncpg://user@host/db", "postgresql+asyncpg://user@host/db"),
        ("postgresql+psycopg2://user@host/db", "postgresql+asyncpg://user@host/db"),
        ("postgresql://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
        ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("sqlite:////abs/path.db", "sqlite+aiosqlite:////abs/path.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ],
)
def test_database_url_gets_the_async_driver(given: str, expected: str) -> None:
    assert async_database_url(given).render_as_string(hide_password=False) == expected


def test_database_url_default_is_a_sqlite_file_here() -> None:
    url = async_database_url(DEFAULT_DATABASE_URL)
    assert url.drivername == "sqlite+aiosqlite" and url.database == "inkroom.db"


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "not a url", ""])
def test_database_url_refuses_what_it_cannot_use(bad: str) -> None:
    with pytest.raises(ValueError, match="database"):
        async_database_url(bad)

"""The declarative base, the constraint naming convention and the reusable column types.

Every type here is portable: the same models create the same tables on Postgres (asyncpg) and
SQLite (aiosqlite), and the migrations are written against these definitions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    Uuid,
    func,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    Postgres keeps `timestamptz`; SQLite has no time zones and hands back naive values, so
    naive values read back are UTC by construction, and naive values written are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on Postgres (indexable, compact), plain JSON text elsewhere.
PortableJSON: Final = JSON().with_variant(postgresql.JSONB(), "postgresql")
# An auto-incrementing 64-bit key; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntKey: Final = BigInteger().with_variant(Integer(), "sqlite")

UuidPK = Annotated[uuid.UUID, mapped_column(Uuid, primary_key=True, default=uuid.uuid4)]
Timestamp = Annotated[datetime, mapped_column(UtcDateTime)]
CreatedAt = Annotated[
    datetime, mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
]
UpdatedAt = Annotated[
    datetime,
    mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()),
]
Score = Annotated[float, mapped_column(Double)]
Slug = Annotated[str, mapped_column(String(100))]
Json = Annotated[Any, mapped_column(PortableJSON)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Audited:
    """created_at / updated_at, set by the application and defaulted by the database."""

    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


def enum_check(column: str, values: Iterable[str]) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_enum")


def score_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} >= 0 AND {column} <= 1", name=f"{column}_range")

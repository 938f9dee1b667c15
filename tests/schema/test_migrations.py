from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from schema import migrate
from schema.base import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_database_equals_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


async def test_migrate_is_idempotent_and_at_head(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == migrate.head_revision() is not None


async def test_downgrade_to_base_and_back(fresh_engine: AsyncEngine) -> None:
    await migrate.upgrade(fresh_engine)
    await migrate.downgrade(fresh_engine, "base")
    assert await migrate.current_revision(fresh_engine) is None
    async with fresh_engine.connect() as conn:
        left = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert left <= {"alembic_version"}
    await migrate.upgrade(fresh_engine)
    async with fresh_engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


def test_revisions_form_one_line_named_rev_slug() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(scripts.get_heads()) == 1
    for revision in scripts.walk_revisions():
        assert revision.path is not None
        assert Path(revision.path).name.startswith(f"{revision.revision}_")


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_every_table_has_named_constraints(table: str) -> None:
    for constraint in Base.metadata.tables[table].constraints:
        assert constraint.name, f"{table}: unnamed {type(constraint).__name__}"

"""`inkroom migrate` and `inkroom seed`: the database subcommands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from lessons import CatalogError, load_catalog
from schema import migrate
from schema.database import make_engine, make_sessionmaker
from schema.seed import seed_catalog
from server.cli import command
from server.config import Settings


def _database_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="postgresql://user@host:5432/db or sqlite:///file.db "
        "(default: INKROOM_DATABASE_URL, else sqlite:///inkroom.db)",
    )


def _configure_migrate(parser: argparse.ArgumentParser) -> None:
    _database_flag(parser)
    parser.add_argument("--revision", default="head", help="target revision (default: head)")


def _configure_seed(parser: argparse.ArgumentParser) -> None:
    _database_flag(parser)
    parser.add_argument(
        "--catalog", type=Path, help="catalog directory (default: the built-in catalog)"
    )


def _database_url(args: argparse.Namespace) -> str:
    url: str | None = args.database_url
    return url or Settings.from_env().database_url


@command("migrate", "bring the database to the newest schema", _configure_migrate)
def _migrate(args: argparse.Namespace) -> int:
    async def run() -> int:
        engine = make_engine(_database_url(args))
        try:
            before = await migrate.current_revision(engine)
            await migrate.upgrade(engine, args.revision)
            after = await migrate.current_revision(engine)
        finally:
            await engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        if before == after:
            print(f"{where}: already at {after}")
        else:
            print(f"{where}: migrated from {before or 'an empty database'} to {after}")
        return 0

    return asyncio.run(run())


@command("seed", "load the lessons catalog into the database (idempotent)", _configure_seed)
def _seed(args: argparse.Namespace) -> int:
    try:
        catalog = load_catalog(args.catalog)
    except CatalogError as exc:
        print(f"inkroom seed: {exc}", file=sys.stderr)
        return 1

    async def run() -> int:
        engine = make_engine(_database_url(args))
        try:
            current, head = await migrate.current_revision(engine), migrate.head_revision()
            if current != head:
                print(
                    f"inkroom seed: the database is at {current or 'no revision'}, not {head}: "
                    "run `inkroom migrate` first",
                    file=sys.stderr,
                )
                return 1
            async with make_sessionmaker(engine).begin() as session:
                report = await seed_catalog(session, catalog)
        finally:
            await engine.dispose()
        lessons = sum(len(course.lessons) for course in catalog.courses)
        print(
            f"catalog: {len(catalog.courses)} courses, {lessons} lessons; "
            f"{report.created} rows created, {report.updated} updated, "
            f"{report.removed} removed, {report.assets_bumped} guide versions bumped"
        )
        return 0

    return asyncio.run(run())

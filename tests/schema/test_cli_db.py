from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from schema.database import make_engine
from schema.models import MediaAsset, Step
from server.cli import main


async def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        steps = await conn.scalar(select(func.count()).select_from(Step))
        bumped = await conn.scalar(select(func.max(MediaAsset.version)))
    await engine.dispose()
    return int(steps or 0), int(bumped or 0)


def test_cli_migrate_then_seed_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INKROOM_DATABASE_URL", raising=False)
    assert main(["seed"]) == 1
    assert "inkroom migrate" in capsys.readouterr().err
    assert main(["migrate"]) == 0
    assert "migrated from an empty database" in capsys.readouterr().out
    assert (tmp_path / "inkroom.db").exists()  # the default: a SQLite file in the working dir
    assert main(["migrate"]) == 0
    assert "already at" in capsys.readouterr().out
    assert main(["seed"]) == 0
    first = capsys.readouterr().out
    assert main(["seed"]) == 0
    second = capsys.readouterr().out
    assert "0 rows created, 0 updated, 0 removed, 0 guide versions bumped" in second
    assert first != second
    steps, version = asyncio.run(_counts("sqlite:///inkroom.db"))
    assert steps >= 20 and version == 1


def test_cli_takes_the_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "elsewhere.db"
    monkeypatch.setenv("INKROOM_DATABASE_URL", f"sqlite:///{target}")
    assert main(["migrate"]) == 0
    assert target.exists()
    assert main(["migrate", "--database-url", f"sqlite:///{target}"]) == 0
    assert "already at" in capsys.readouterr().out

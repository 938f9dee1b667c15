"""`inkroom serve` as a real process, and the app's start-up on a fresh and a used database."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from schema.database import make_engine, make_sessionmaker
from schema.models import Course, Lesson
from server.app import prepare_database
from server.cli_serve import settings_from_args
from server.config import Settings

SECRET_KEY = "serve-test-secret-key-0123456789-abcdefgh"
STARTUP_DEADLINE_S = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"inkroom serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"inkroom serve did not become healthy:\n{log.read_text()}")


def test_serve_runs_signs_up_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    database = tmp_path / "served.db"
    log = tmp_path / "serve.log"
    env = {**os.environ, "INKROOM_SECRET_KEY": SECRET_KEY}
    env.pop("INKROOM_DATABASE_URL", None)
    command = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--database-url", f"sqlite:///{database}"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, process, log)
        courses = httpx.get(f"{base}/api/courses").json()["courses"]
        assert courses and courses[0]["slug"] == "first-marks"
        signup = httpx.post(
            f"{base}/api/auth/signup",
            json={
                "email": "served@example.org",
                "password": "Correct horse 7",
                "display_name": "S",
            },
        )
        assert signup.status_code == 201
        token = signup.json()["token"]
        me = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["user"]["email"] == "served@example.org"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    output = log.read_text()
    assert returncode == 0, output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
    assert database.exists()


def test_serve_flags_override_the_environment() -> None:
    base = Settings(database_url="sqlite:///env.db", host="0.0.0.0", port=9000)
    args = argparse.Namespace(host=None, port=8123, database_url="postgresql://u@db/x")
    settings = settings_from_args(args, base)
    assert (settings.host, settings.port) == ("0.0.0.0", 8123)
    assert settings.database_url == "postgresql://u@db/x"


@pytest.mark.parametrize(
    ("port", "url", "message"),
    [(70000, None, "--port"), (None, "mysql://x@y/z", "INKROOM_DATABASE_URL")],
)
def test_serve_refuses_bad_flags(port: int | None, url: str | None, message: str) -> None:
    args = argparse.Namespace(host=None, port=port, database_url=url)
    with pytest.raises(ValueError, match=message):
        settings_from_args(args, Settings())


async def test_startup_migrates_and_seeds_only_on_first_start(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert await prepare_database(engine) is True
        async with make_sessionmaker(engine).begin() as db:
            lessons = await db.scalar(select(func.count()).select_from(Lesson))
            (await db.scalars(select(Course))).one().title = "Renamed by an operator"
        assert await prepare_database(engine) is False  # a restart leaves the catalog alone
        async with make_sessionmaker(engine).begin() as db:
            assert await db.scalar(select(func.count()).select_from(Lesson)) == lessons == 5
            assert (await db.scalars(select(Course))).one().title == "Renamed by an operator"
    finally:
        await engine.dispose()

from __future__ import annotations

import dataclasses

import pytest

from server.config import Settings


def test_settings_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///inkroom.db"
    assert settings.async_database_url.drivername == "sqlite+aiosqlite"
    assert settings.redis_url is None and settings.secret_key is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_settings_read_inkroom_variables() -> None:
    settings = Settings.from_env(
        {
            "INKROOM_DATABASE_URL": "postgres://ink@db.internal:5433/inkroom",
            "INKROOM_REDIS_URL": "redis://cache:6379/0",
            "INKROOM_SECRET_KEY": "s3",
            "INKROOM_HOST": "0.0.0.0",
            "INKROOM_PORT": "9000",
            "INKROOM_SEND_INTERVAL_MS": "0",
            "DATABASE_URL": "ignored: no prefix",
        }
    )
    assert settings.async_database_url.render_as_string() == (
        "postgresql+asyncpg://ink@db.internal:5433/inkroom"
    )
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.secret_key == "s3"
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.send_interval_ms == 0 != Settings().send_interval_ms


def test_settings_blank_values_mean_default() -> None:
    assert Settings.from_env({"INKROOM_DATABASE_URL": "  ", "INKROOM_PORT": ""}) == Settings()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"INKROOM_PORT": "http"}, "INKROOM_PORT"),
        ({"INKROOM_PORT": "70000"}, "INKROOM_PORT"),
        ({"INKROOM_SEND_INTERVAL_MS": "-1"}, "INKROOM_SEND_INTERVAL_MS"),
        ({"INKROOM_SEND_INTERVAL_MS": "fast"}, "INKROOM_SEND_INTERVAL_MS"),
        ({"INKROOM_DATABASE_URL": "mysql://x@y/z"}, "INKROOM_DATABASE_URL"),
    ],
)
def test_settings_refuse_bad_values_at_start_up(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]

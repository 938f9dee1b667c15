"""Settings, read once from `INKROOM_*` environment variables (the CLI passes flags on top)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy.engine import URL

from schema.database import DEFAULT_DATABASE_URL, async_database_url

PREFIX: Final = "INKROOM_"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # bytes a client may fall behind by before it is closed as a slow consumer (4408)
    send_queue_bytes: int = 1024 * 1024
    # at most one write per client per this many milliseconds: what is queued meanwhile
    # leaves together as one `batch` frame (0: write as soon as the loop is free)
    send_interval_ms: int = 16
    # the web client's folder, served at / (None: clients/web beside the package)
    web_root: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name, "").strip()
            return value or None

        port_text = get("PORT")
        port = cls.port
        if port_text is not None:
            try:
                port = int(port_text)
            except ValueError:
                raise ValueError(f"{PREFIX}PORT: not a port number: {port_text!r}") from None
            if not 0 <= port <= 65535:
                raise ValueError(f"{PREFIX}PORT: out of range: {port}")
        settings = cls(
            database_url=get("DATABASE_URL") or cls.database_url,
            redis_url=get("REDIS_URL"),
            secret_key=get("SECRET_KEY"),
            host=get("HOST") or cls.host,
            port=port,
            send_queue_bytes=_positive_int(get("SEND_QUEUE_BYTES"), "SEND_QUEUE_BYTES")
            or cls.send_queue_bytes,
            send_interval_ms=_int_in(
                get("SEND_INTERVAL_MS"), "SEND_INTERVAL_MS", 0, 1000, cls.send_interval_ms
            ),
            web_root=get("WEB_ROOT"),
        )
        settings.async_database_url  # noqa: B018 - a bad URL fails here, at start-up
        return settings

    @property
    def async_database_url(self) -> URL:
        try:
            return async_database_url(self.database_url)
        except ValueError as exc:
            raise ValueError(f"{PREFIX}DATABASE_URL: {exc}") from None


def _positive_int(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{PREFIX}{name}: not a whole number: {text!r}") from None
    if value <= 0:
        raise ValueError(f"{PREFIX}{name}: must be above 0, got {value}")
    return value


def _int_in(text: str | None, name: str, low: int, high: int, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{PREFIX}{name}: not a whole number: {text!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{PREFIX}{name}: must be {low} to {high}, got {value}")
    return value

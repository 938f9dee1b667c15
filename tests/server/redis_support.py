"""Reaching the test Redis: its URL, skip-or-fail when it is away, a key prefix per test."""

from __future__ import annotations

import os
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    return os.environ.get("INKROOM_TEST_REDIS_URL", DEFAULT_REDIS_URL)


async def redis_unavailable() -> str | None:
    """Why Redis can't be used (None if it can); in CI that is a failure, not a skip."""
    client = Redis.from_url(redis_url(), socket_connect_timeout=5)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        reason = f"Redis at {redis_url()} is unreachable: {exc!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: Redis is required)")
        return reason
    finally:
        await client.aclose()
    return None


def unique_prefix() -> str:
    """Keys and channels of one test, so runs (and tests) never meet."""
    return f"inkroom-test-{uuid.uuid4().hex[:12]}:"


async def delete_prefix(prefix: str) -> int:
    client = Redis.from_url(redis_url())
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()

"""The in-process pieces: subscription queues, the backend factory, history bookkeeping, and
the rate limiters with the time passed in."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.config import Settings
from server.fanout import (
    InMemoryFanout,
    SlowConsumer,
    Subscription,
    SubscriptionClosed,
    history_of,
    make_fanout,
)
from server.fanout_redis import RedisFanout
from server.rate_limit import FixedWindows, TokenBucket


async def test_make_fanout_is_in_process_without_a_redis_url() -> None:
    fanout = make_fanout(Settings.from_env({}), node_id="solo")
    assert isinstance(fanout, InMemoryFanout) and fanout.node_id == "solo"


async def test_make_fanout_is_redis_with_a_redis_url() -> None:
    settings = Settings.from_env({"INKROOM_REDIS_URL": "redis://127.0.0.1:1/0"})
    fanout = make_fanout(settings, history_len=7)
    assert isinstance(fanout, RedisFanout) and fanout.history_len == 7
    await fanout.close()  # never started: nothing to connect


async def test_fanout_memory_node_ids_differ() -> None:
    assert InMemoryFanout().node_id != InMemoryFanout().node_id


async def test_subscription_get_waits_for_a_payload() -> None:
    sub = Subscription("room")
    waiting = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    assert sub.offer(b"hello")
    assert await waiting == b"hello"


async def test_subscription_overflow_wakes_a_waiting_reader() -> None:
    sub = Subscription("room", max_messages=1)
    reader = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    assert sub.offer(b"1") and await reader == b"1"
    reader = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    sub.close()
    with pytest.raises(SubscriptionClosed):
        await reader


async def test_subscription_takes_one_oversized_message_into_an_empty_queue() -> None:
    sub = Subscription("room", max_bytes=10)
    assert sub.offer(b"x" * 100)
    assert sub.pending_bytes == 100
    assert not sub.offer(b"y")  # the queue is past its bound: cut off
    assert sub.overflowed
    with pytest.raises(SlowConsumer):
        sub.get_nowait()
    assert not sub.offer(b"z")


async def test_subscription_accounts_bytes_as_it_drains() -> None:
    sub = Subscription("room", max_messages=3, max_bytes=100)
    for payload in (b"aa", b"bbb", b"c"):
        assert sub.offer(payload)
    assert (sub.pending, sub.pending_bytes) == (3, 6)
    assert sub.get_nowait() == b"aa"
    assert (sub.pending, sub.pending_bytes) == (2, 4)
    assert sub.offer(b"dd")  # room again for a third message
    assert not sub.overflowed


def test_subscription_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Subscription("room", max_messages=0)


async def test_fanout_memory_overflow_callback_failure_does_not_reach_the_publisher(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(_: Subscription) -> None:
        raise RuntimeError("callback bug")

    fanout = InMemoryFanout()
    slow = await fanout.subscribe("room", max_messages=1, on_overflow=explode)
    other = await fanout.subscribe("room")
    with caplog.at_level(logging.ERROR):
        for payload in (b"1", b"2", b"3"):
            await fanout.publish("room", payload)
    assert slow.overflowed and other.pending == 3
    assert any("on_overflow" in r.getMessage() for r in caplog.records)


async def test_fanout_memory_same_bytes_object_for_every_subscriber() -> None:
    fanout = InMemoryFanout()
    subs = [await fanout.subscribe("room") for _ in range(3)]
    payload = bytes(range(10))
    await fanout.publish("room", payload)
    assert all(sub.get_nowait() is payload for sub in subs)  # encoded once, never copied


def test_history_of_orders_and_checks_for_gaps() -> None:
    retained = [(3, b"c"), (1, b"a"), (2, b"b")]
    assert history_of(retained, 0).entries == [(1, b"a"), (2, b"b"), (3, b"c")]
    assert history_of(retained, 0).complete
    assert history_of(retained, 3).complete and history_of(retained, 3).entries == []
    assert not history_of([(5, b"e")], 3).complete
    assert not history_of([], 3).complete


def test_token_bucket_spends_and_refills() -> None:
    bucket = TokenBucket(rate=10, burst=3)
    assert [bucket.take(now=0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(now=0.05)  # half a token back
    assert bucket.take(now=0.1)
    assert [bucket.take(now=100.0) for _ in range(4)] == [True, True, True, False]  # capped


def test_token_bucket_ignores_time_going_backwards() -> None:
    bucket = TokenBucket(rate=1, burst=1)
    assert bucket.take(now=10.0)
    assert not bucket.take(now=5.0)
    assert not bucket.take(now=10.5)
    assert bucket.take(now=11.0)


def test_token_bucket_cost_and_validation() -> None:
    bucket = TokenBucket(rate=1, burst=5)
    assert bucket.take(now=0, cost=5)
    assert not bucket.take(now=0, cost=1)
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, burst=0.5)


def test_fixed_windows_count_per_key_and_window() -> None:
    windows = FixedWindows()
    assert [windows.hit("k", limit=2, window=10, now=1) for _ in range(3)] == [True, True, False]
    assert windows.hit("other", limit=2, window=10, now=1)
    assert windows.hit("k", limit=2, window=10, now=10)  # a new window
    assert windows.hit("k", limit=5, window=60, now=10)  # another window size, its own count


def test_fixed_windows_forget_old_windows() -> None:
    windows = FixedWindows()
    for i in range(5000):
        windows.hit(f"key{i}", limit=1, window=1, now=float(i // 100))
    assert len(windows.counts) <= 4096 + 1

"""One behaviour suite for both fan-out backends: in process, and real Redis."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Protocol, Unpack

import msgpack  # type: ignore[import-untyped]
import pytest
import pytest_asyncio
from redis_support import delete_prefix, redis_unavailable, redis_url, unique_prefix

from server.fanout import (
    Fanout,
    FanoutOptions,
    InMemoryFanout,
    SlowConsumer,
    Subscription,
    SubscriptionClosed,
)
from server.fanout_redis import RedisFanout


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class MakeFanout(Protocol):
    async def __call__(self, **options: Unpack[FanoutOptions]) -> Fanout: ...


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[MakeFanout]:
    backend: str = request.param
    if backend == "redis":
        reason = await redis_unavailable()
        if reason is not None:
            pytest.skip(reason)
    prefix = unique_prefix()
    created: list[Fanout] = []

    async def factory(**options: Unpack[FanoutOptions]) -> Fanout:
        options.setdefault("clock", clock)
        fanout: Fanout
        if backend == "memory":
            fanout = InMemoryFanout(**options)
        else:
            fanout = RedisFanout(redis_url(), prefix=prefix, **options)
        await fanout.start()
        created.append(fanout)
        return fanout

    yield factory
    for fanout in created:
        await fanout.close()
    if backend == "redis":
        await delete_prefix(prefix)


def received(sub: Subscription) -> list[bytes]:
    out = []
    while (payload := sub.get_nowait()) is not None:
        out.append(payload)
    return out


async def test_fanout_delivers_every_message_once_in_order(make: MakeFanout) -> None:
    fanout = await make()
    first, second = await fanout.subscribe("r1"), await fanout.subscribe("r1")
    elsewhere = await fanout.subscribe("r2")
    messages = [msgpack.packb({"type": "points", "seq": i}) for i in range(50)]
    for message in messages:
        await fanout.publish("r1", message)
    assert received(first) == messages
    assert received(second) == messages
    assert received(elsewhere) == []
    assert fanout.published == 50 and fanout.delivered == 100


async def test_fanout_payloads_are_bytes_untouched(make: MakeFanout) -> None:
    fanout = await make()
    sub = await fanout.subscribe("room")
    payloads = [bytes(range(256)), b"", b"\x00", os.urandom(1 << 16), b"\xc1\xff\xfe"]
    for payload in payloads:
        await fanout.publish("room", payload)
    assert received(sub) == payloads


async def test_fanout_slow_consumer_is_cut_off_not_waited_for(make: MakeFanout) -> None:
    fanout = await make()
    cut: list[Subscription] = []
    slow = await fanout.subscribe("room", max_messages=5, on_overflow=cut.append)
    fast = await fanout.subscribe("room")
    for i in range(20):
        await fanout.publish("room", b"%d" % i)  # returns although `slow` reads nothing
    assert cut == [slow] and slow.overflowed and slow.pending == 0
    with pytest.raises(SlowConsumer) as caught:
        await slow.get()
    assert caught.value.reason == "slow_consumer" and caught.value.room == "room"
    assert received(fast) == [b"%d" % i for i in range(20)]
    assert fanout.slow_consumers == 1
    await fanout.unsubscribe(slow)
    assert fanout.local_subscribers("room") == 1


async def test_fanout_queue_is_bounded_in_bytes(make: MakeFanout) -> None:
    fanout = await make()
    sub = await fanout.subscribe("room", max_bytes=1000)
    await fanout.publish("room", b"a" * 400)
    await fanout.publish("room", b"b" * 400)
    assert not sub.overflowed and sub.pending_bytes == 800
    await fanout.publish("room", b"c" * 400)
    assert sub.overflowed


async def test_fanout_unsubscribe_ends_iteration(make: MakeFanout) -> None:
    fanout = await make()
    sub = await fanout.subscribe("room")
    await fanout.publish("room", b"one")
    seen = []
    async for payload in sub:
        seen.append(payload)
        await fanout.unsubscribe(sub)
        await fanout.publish("room", b"after")
    assert seen == [b"one"]
    assert fanout.local_subscribers("room") == 0
    await fanout.unsubscribe(sub)  # idempotent


async def test_fanout_history_after_rseq(make: MakeFanout) -> None:
    fanout = await make()
    for rseq in range(1, 11):
        await fanout.publish("room", b"m%d" % rseq, rseq=rseq)
    await fanout.publish("room", b"live only")
    history = await fanout.history("room", 4)
    assert history.complete
    assert history.entries == [(r, b"m%d" % r) for r in range(5, 11)]
    assert (await fanout.history("room", 0)).entries[0] == (1, b"m1")
    caught_up = await fanout.history("room", 10)
    assert caught_up.entries == [] and caught_up.complete
    assert not (await fanout.history("other room", 3)).complete


async def test_fanout_history_is_bounded_and_says_when_it_falls_short(make: MakeFanout) -> None:
    fanout = await make(history_len=10)
    for rseq in range(1, 1001):
        await fanout.publish("room", b"%d" % rseq, rseq=rseq)
    everything = await fanout.history("room", 0)
    assert not everything.complete, "the oldest messages are gone: a snapshot is needed"
    rseqs = [r for r, _ in everything.entries]
    assert 10 <= len(rseqs) < 1000  # Redis trims approximately (MAXLEN ~)
    assert rseqs == list(range(1001 - len(rseqs), 1001))
    recent = await fanout.history("room", 995)
    assert recent.complete and [r for r, _ in recent.entries] == [996, 997, 998, 999, 1000]


async def test_fanout_history_with_a_gap_is_incomplete(make: MakeFanout) -> None:
    fanout = await make()
    for rseq in (1, 2, 4):
        await fanout.publish("room", b"x", rseq=rseq)
    assert not (await fanout.history("room", 0)).complete
    assert not (await fanout.history("room", 2)).complete
    assert (await fanout.history("room", 3)).complete


async def test_fanout_presence_expires_and_leaves(make: MakeFanout, clock: FakeClock) -> None:
    fanout = await make()
    await fanout.presence_touch("room", "ann", b"\x81\xa4role\xa4host", ttl=30)
    await fanout.presence_touch("room", "bob", ttl=10)
    assert await fanout.presence("room") == {"ann": b"\x81\xa4role\xa4host", "bob": b""}
    clock.now += 15
    assert await fanout.presence("room") == {"ann": b"\x81\xa4role\xa4host"}
    await fanout.presence_touch("room", "bob", b"back", ttl=10)
    await fanout.presence_remove("room", "ann")
    assert await fanout.presence("room") == {"bob": b"back"}
    assert await fanout.presence("empty room") == {}


async def test_fanout_rate_limit_fixed_window(make: MakeFanout, clock: FakeClock) -> None:
    fanout = await make()
    hits = [await fanout.allow("user:1", limit=3, window=10) for _ in range(4)]
    assert hits == [True, True, True, False]
    assert await fanout.allow("user:2", limit=3, window=10)
    assert not await fanout.allow("user:1", limit=3, window=10)
    clock.now += 10
    assert await fanout.allow("user:1", limit=3, window=10)
    assert not await fanout.allow("user:3", limit=5, window=10, cost=6)
    with pytest.raises(ValueError):
        await fanout.allow("user:1", limit=3, window=0)


async def test_fanout_leaderboard_keeps_best_scores(make: MakeFanout) -> None:
    fanout = await make()
    for member, score in [("cat", 0.5), ("ann", 0.7), ("bob", 0.7), ("cat", 0.9), ("ann", 0.1)]:
        await fanout.leaderboard_submit("lesson-1", member, score)
    assert await fanout.leaderboard_top("lesson-1") == [("cat", 0.9), ("ann", 0.7), ("bob", 0.7)]
    assert await fanout.leaderboard_top("lesson-1", 1) == [("cat", 0.9)]
    assert await fanout.leaderboard_top("lesson-1", 0) == []
    assert await fanout.leaderboard_rank("lesson-1", "bob") == 2
    assert await fanout.leaderboard_rank("lesson-1", "dan") is None
    assert await fanout.leaderboard_top("no board") == []


async def test_fanout_forget_room_drops_history_and_presence(make: MakeFanout) -> None:
    fanout = await make()
    await fanout.publish("room", b"x", rseq=1)
    await fanout.presence_touch("room", "ann")
    await fanout.forget_room("room")
    assert (await fanout.history("room", 0)).entries == []
    assert await fanout.presence("room") == {}


async def test_fanout_close_ends_subscriptions_and_refuses_more(make: MakeFanout) -> None:
    fanout = await make()
    sub = await fanout.subscribe("room")
    await fanout.close()
    assert [p async for p in sub] == []
    with pytest.raises(SubscriptionClosed):
        await fanout.publish("room", b"late")
    with pytest.raises(SubscriptionClosed):
        await fanout.subscribe("room")

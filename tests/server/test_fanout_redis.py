"""The Redis backend as several nodes: two `RedisFanout`s with different node ids in one test."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis_support import delete_prefix, redis_unavailable, redis_url, unique_prefix

from server.fanout import Subscription
from server.fanout_redis import RedisFanout

pytestmark = pytest.mark.redis

Nodes = Callable[[str], Awaitable[RedisFanout]]


@pytest_asyncio.fixture
async def admin() -> AsyncIterator[Redis]:
    reason = await redis_unavailable()
    if reason is not None:
        pytest.skip(reason)
    client = Redis.from_url(redis_url())
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def prefix(admin: Redis) -> AsyncIterator[str]:
    prefix = unique_prefix()
    yield prefix
    await delete_prefix(prefix)


@pytest_asyncio.fixture
async def node(prefix: str) -> AsyncIterator[Nodes]:
    created: list[RedisFanout] = []

    async def start(node_id: str) -> RedisFanout:
        fanout = RedisFanout(redis_url(), prefix=prefix, node_id=node_id, backoff_initial=0.01)
        await fanout.start()
        created.append(fanout)
        return fanout

    yield start
    for fanout in created:
        await fanout.close()


async def next_of(sub: Subscription) -> bytes:
    return await asyncio.wait_for(sub.get(), 5)


async def test_fanout_redis_reaches_other_nodes_once_without_echo(node: Nodes) -> None:
    a, b = await node("node-a"), await node("node-b")
    on_a = await a.subscribe("room")
    on_b1, on_b2 = await b.subscribe("room"), await b.subscribe("room")
    payloads = [bytes([i]) * (i + 1) for i in range(256)]
    for payload in payloads:
        await a.publish("room", payload)
    for sub in (on_b1, on_b2):
        assert [await next_of(sub) for _ in payloads] == payloads
    # a sentinel from b reaches a after any echo of a's own messages would have
    await b.publish("room", b"sentinel")
    assert [await next_of(on_a) for _ in payloads] == payloads
    assert await next_of(on_a) == b"sentinel"
    assert on_a.pending == 0
    assert (a.echoes_ignored, b.received, a.received) == (256, 256, 1)
    assert b.echoes_ignored == 1


async def test_fanout_redis_binary_payloads_cross_nodes(node: Nodes) -> None:
    a, b = await node("a"), await node("b")
    sub = await b.subscribe("room")
    every_byte = bytes(range(256))
    # payloads shaped like frames, or like a's tag, must not confuse the receiver
    payloads = [every_byte, every_byte[::-1], b"", b"\x01a", b"\x01b" + every_byte, b"\xff" * 300]
    for payload in payloads:
        await a.publish("room", payload)
    assert [await next_of(sub) for _ in payloads] == payloads


async def test_fanout_redis_rooms_are_separate_channels(node: Nodes) -> None:
    a, b = await node("a"), await node("b")
    one, two = await b.subscribe("one"), await b.subscribe("two")
    await a.publish("two", b"to two")
    await a.publish("one", b"to one")
    assert await next_of(one) == b"to one"
    assert await next_of(two) == b"to two"
    assert one.pending == two.pending == 0


async def test_fanout_redis_stops_receiving_a_room_it_left(node: Nodes, admin: Redis) -> None:
    a, b = await node("a"), await node("b")
    sub = await b.subscribe("room")
    channel = a.key("room", "room").encode()
    assert await admin.pubsub_numsub(channel) == [(channel, 1)]
    await b.unsubscribe(sub)
    await a.publish("room", b"nobody")
    await a.drain()
    other = await b.subscribe("other")
    await a.publish("other", b"check")
    assert await next_of(other) == b"check"
    assert b.received == 1  # only "check": the left room's message was not delivered
    assert await admin.pubsub_numsub(channel) == [(channel, 0)]


async def test_fanout_redis_listener_logs_a_bad_message_and_goes_on(
    node: Nodes, admin: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = await node("a"), await node("b")
    sub = await b.subscribe("room")
    channel = b.key("room", "room")
    with caplog.at_level(logging.ERROR, logger="server.fanout_redis"):
        await admin.publish(channel, b"")  # no tag at all
        await admin.publish(channel, b"\xfftoo short")  # tag longer than the frame
        await a.publish("room", b"still alive")
        assert await next_of(sub) == b"still alive"
    assert b.listener_errors == 2
    assert sum("could not handle" in r.getMessage() for r in caplog.records) == 2


async def test_fanout_redis_listener_comes_back_after_redis_drops_it(
    node: Nodes, admin: Redis
) -> None:
    a, b = await node("a"), await node("b")
    sub = await b.subscribe("room")
    killed = 0
    for client in await admin.client_list(_type="pubsub"):
        if client.get("name") == f"inkroom-{b.node_id}":
            killed += await admin.client_kill_filter(_id=client["id"])
    assert killed == 1
    # pub/sub is at most once: probe until b is listening again, then nothing is lost
    for attempt in range(200):
        await a.publish("room", b"probe %d" % attempt)
        try:
            if await asyncio.wait_for(sub.get(), 0.05):
                break
        except TimeoutError:
            continue
    else:
        raise AssertionError("node b never heard from node a again")
    while sub.get_nowait() is not None:
        pass
    assert b.reconnects >= 1
    after = [b"after %d" % i for i in range(20)]
    for payload in after:
        await a.publish("room", payload)
    assert [await next_of(sub) for _ in after] == after


async def test_fanout_redis_sender_survives_lost_connections(node: Nodes, admin: Redis) -> None:
    a, b = await node("a"), await node("b")
    sub = await b.subscribe("room")
    await a.publish("room", b"before", rseq=1)
    assert await next_of(sub) == b"before"
    for client in await admin.client_list(_type="normal"):
        if client.get("name") == f"inkroom-{a.node_id}":
            await admin.client_kill_filter(_id=client["id"])
    await a.publish("room", b"after", rseq=2)
    assert await next_of(sub) == b"after"
    history = await b.history("room", 0)
    assert history.complete and history.entries == [(1, b"before"), (2, b"after")]


async def test_fanout_redis_history_is_shared_between_nodes(node: Nodes) -> None:
    a, b = await node("a"), await node("b")
    for rseq in range(1, 6):
        await a.publish("room", bytes([rseq, 0, 255]), rseq=rseq)
    assert await a.drain()
    history = await b.history("room", 2)
    assert history.complete
    assert history.entries == [(r, bytes([r, 0, 255])) for r in (3, 4, 5)]


async def test_fanout_redis_presence_and_leaderboard_are_shared(node: Nodes) -> None:
    a, b = await node("a"), await node("b")
    await a.presence_touch("room", "ann", b"\x00a")
    await b.presence_touch("room", "bob", b"\x00b")
    assert (
        await a.presence("room") == await b.presence("room") == {"ann": b"\x00a", "bob": b"\x00b"}
    )
    await a.leaderboard_submit("board", "ann", 0.4)
    await b.leaderboard_submit("board", "bob", 0.6)
    assert await a.leaderboard_top("board") == [("bob", 0.6), ("ann", 0.4)]
    assert [await a.allow("conn", limit=2, window=60) for _ in range(2)] == [True, True]
    assert not await b.allow("conn", limit=2, window=60)


async def test_fanout_redis_refuses_a_decoding_client() -> None:
    client = Redis.from_url(redis_url(), decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisFanout(client)
    await client.aclose()


async def test_fanout_redis_start_fails_fast_without_redis() -> None:
    fanout = RedisFanout("redis://127.0.0.1:1/0")
    with pytest.raises((RedisError, OSError)):
        await fanout.start()
    await fanout.close()

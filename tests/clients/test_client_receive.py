"""The receive side: wait_for, its error rule and timeout, the message iterator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from inkroom_client import ConnectionLostError, InkroomClient, ServerError

from server.protocol import Error, HintText, Message, Pong, StepStarted, Welcome

if TYPE_CHECKING:
    from fake_inkroom import FakeServer

pytest_plugins = ["fake_inkroom"]
GOOD_TOKEN = "good-token"


async def test_wait_for_skips_to_the_first_match_of_the_predicate(
    fake_server: FakeServer,
) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        for rseq, text in ((1, "one"), (2, "two"), (3, "three")):
            await fake_server.send(HintText(rseq, 0, text))
        two = await client.wait_for(HintText, lambda m: m.text == "two")
        assert two.rseq == 2
        # the messages before the match are consumed with it; the rest stay
        assert await client.wait_for(HintText) == HintText(3, 0, "three")
        assert client.drain() == []


async def test_wait_for_times_out_without_a_match(fake_server: FakeServer) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await fake_server.send(HintText(1, 0, "not it"))
        with pytest.raises(TimeoutError):
            await client.wait_for(StepStarted, timeout=0.05)


async def test_wait_for_raises_an_error_it_meets_first(fake_server: FakeServer) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("no-such-lesson")
        with pytest.raises(ServerError) as first:
            await client.wait_for(HintText)
        assert (first.value.code, first.value.seq) == ("no_such_lesson", None)
        assert not first.value.closes
        assert not client.session.in_stream  # the opener was refused: nothing to resume
        # raise_errors=False skips the error; waiting for Error returns it
        await fake_server.send(HintText(9, 0, "after"))
        assert (await client.wait_for(HintText, raise_errors=False)).text == "after"
        await fake_server.send(Error("room_full", "full"))
        assert (await client.wait_for(Error)).code == "room_full"


async def test_the_iterator_yields_every_message_in_order_errors_included(
    fake_server: FakeServer,
) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        nonce = await client.ping()
        await fake_server.until(lambda: fake_server.answered == 2)  # hello, ping
        await fake_server.send(Error("rate_limited", "slow down"))
        seen: list[Message] = []
        async for message in client:
            seen.append(message)
            if isinstance(message, Error):
                break
        assert seen[0] == client.welcome
        assert seen[1:] == [Pong(nonce), Error("rate_limited", "slow down")]
        assert len(client.latency.pong) == 1


async def test_the_iterator_ends_after_close(fake_server: FakeServer) -> None:
    client = InkroomClient(fake_server.url, GOOD_TOKEN)
    await client.open()
    await client.close()
    assert [m async for m in client] == [client.welcome]
    with pytest.raises(ConnectionLostError):
        await client.wait_for(Welcome, timeout=1)


async def test_a_drop_without_auto_reconnect_ends_the_stream(fake_server: FakeServer) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.wait_for(Welcome)
        await fake_server.drop(1011)
        with pytest.raises(ConnectionLostError) as caught:
            async for _ in client:
                pass
        assert caught.value.close_code == 1011
        with pytest.raises(ConnectionLostError):
            await client.ping()
        # a sequenced message is still kept for a later reconnect
        with pytest.raises(ConnectionLostError):
            await client.stroke_begin()
        assert sorted(client.unacked) == [1]

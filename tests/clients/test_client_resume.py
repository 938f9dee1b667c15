"""Reconnect and resume: resend after `acked_seq`, missed messages, automatic reconnect."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from inkroom_client import ConnectionLostError, InkroomClient, ServerError

from server.protocol import (
    Error,
    GoingAway,
    Hello,
    HintText,
    Message,
    Points,
    Resume,
    Resumed,
    StepStarted,
    StrokeBegin,
    StrokeEnd,
    Welcome,
)
from server.protocol_errors import CLOSE_CODES

if TYPE_CHECKING:
    from fake_inkroom import FakeServer

pytest_plugins = ["fake_inkroom"]
GOOD_TOKEN = "good-token"
ROWS = np.ones((2, 6), dtype=np.float32)


def seqs(messages: list[Message]) -> list[int]:
    return [seq for m in messages if isinstance(seq := getattr(m, "seq", None), int)]


async def test_reconnect_resends_every_message_after_acked_seq_in_order(
    fake_server: FakeServer,
) -> None:
    # seq 3 is applied but its ack is lost; 4 and 5 are lost on the way; then the link drops
    fake_server.mute_acks = {3}
    fake_server.swallow = {4, 5}
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        await client.wait_for(StepStarted)
        await client.stroke_begin()
        await client.send_points(ROWS)
        await client.send_points(ROWS)
        await client.send_points(ROWS)
        await client.stroke_end()
        await fake_server.until(lambda: len(fake_server.received) == 7)
        await client.wait_acked(2)
        assert client.acked_seq == 2
        assert sorted(client.unacked) == [3, 4, 5]
        await fake_server.drop()
        fake_server.swallow = set()

        resumed = await client.reconnect()

        assert resumed == Resumed(acked_seq=3, snapshot=False, missed=0)
        await client.wait_acked(5)
        second = fake_server.connections[1].received
        assert second[:2] == [Hello(GOOD_TOKEN, client.device), Resume("resume-1", 2)]
        assert seqs(second) == [4, 5]  # 3 was applied: not resent
        assert isinstance(second[3], StrokeEnd)
        # what the server applied: each seq once, in order, none lost
        assert seqs(fake_server.applied) == [1, 2, 3, 4, 5]
        assert [type(m) for m in fake_server.applied] == [
            StrokeBegin,
            Points,
            Points,
            Points,
            StrokeEnd,
        ]
        assert dict(client.unacked) == {}
        # the next resume uses the new connection's token
        assert client.session.resume_token == "resume-2"


async def test_resent_duplicates_are_applied_once(fake_server: FakeServer) -> None:
    fake_server.mute_acks = {1, 2}
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        await client.stroke_begin()
        await client.send_points(ROWS)
        await fake_server.until(lambda: len(fake_server.applied) == 2)
        await fake_server.drop()
        # a server that answers resumed with an older acked_seq than it applied
        fake_server.resumed_acked_seq = 0
        fake_server.mute_acks = set()
        await client.reconnect()
        await client.hint()
        await client.wait_acked(3)
        assert seqs(fake_server.connections[1].received) == [1, 2, 3]
        assert seqs(fake_server.applied) == [1, 2, 3]


async def test_resume_replays_missed_room_messages_and_tracks_their_rseq(
    fake_server: FakeServer,
) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        await client.wait_for(StepStarted)
        await fake_server.drop()
        # sent while the client was away: kept in the fake's history for resume
        fake_server.history.append(HintText(fake_server.next_rseq(), 0, "missed"))
        resumed = await client.reconnect()
        assert resumed is not None
        assert resumed.missed == 1
        assert fake_server.connections[1].received[1] == Resume("resume-1", 2)
        hint = await client.wait_for(HintText)
        assert hint.text == "missed"
        assert client.last_rseq == 3


async def test_reconnect_without_an_open_attempt_only_says_hello(fake_server: FakeServer) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await fake_server.drop()
        assert await client.reconnect() is None
        assert [type(m) for m in fake_server.connections[1].received] == [Hello]


async def test_resume_failed_is_raised_and_drops_the_kept_messages(
    fake_server: FakeServer,
) -> None:
    fake_server.swallow = {1}
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        await client.stroke_begin()
        await fake_server.until(lambda: len(fake_server.received) == 3)
        await fake_server.drop()
        fake_server.tokens.clear()  # the server forgot the old connection
        with pytest.raises(ServerError) as caught:
            await client.reconnect()
        assert caught.value.code == "resume_failed"
        assert client.connected
        assert dict(client.unacked) == {}
        assert not client.session.in_stream


async def test_auto_reconnect_resumes_and_resends_after_a_drop(fake_server: FakeServer) -> None:
    fake_server.swallow = {2}
    async with InkroomClient.connect(
        fake_server.url, GOOD_TOKEN, auto_reconnect=True, reconnect_backoff_s=0.01
    ) as client:
        await client.start_attempt("steady-lines")
        await client.stroke_begin()
        await client.send_points(ROWS)
        await fake_server.until(lambda: len(fake_server.received) == 4)
        fake_server.swallow = set()
        await fake_server.send(GoingAway("restart", reconnect=True, retry_after_s=0.0))
        await fake_server.drop(1001)
        # sent while the socket is down: kept, and sent after the resent seq 2
        assert await client.stroke_end() == 3
        await client.wait_acked(3, timeout=5)
        assert client.reconnects == 1
        assert seqs(fake_server.connections[1].received) == [2, 3]
        assert seqs(fake_server.applied) == [1, 2, 3]
        await client.wait_for(GoingAway)
        await client.wait_for(Welcome, lambda m: m.resume_token == "resume-2")


async def test_no_auto_reconnect_after_a_fatal_close(fake_server: FakeServer) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN, auto_reconnect=True) as client:
        await fake_server.send(Error("auth_failed", "token expired"))
        await fake_server.drop(CLOSE_CODES["auth_failed"])
        with pytest.raises(ServerError) as caught:
            await client.wait_for(HintText)
        assert caught.value.code == "auth_failed"
        with pytest.raises(ConnectionLostError) as lost:
            await client.wait_for(HintText)
        assert lost.value.close_code == CLOSE_CODES["auth_failed"]
        assert len(fake_server.connections) == 1

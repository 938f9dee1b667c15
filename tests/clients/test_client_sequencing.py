"""Client seq numbering, ack tracking, rseq tracking, point batches and their latency samples."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from inkroom_client import InkroomClient, ServerError

from server.protocol import (
    AttemptStarted,
    Hint,
    HintText,
    LiveFeedback,
    Points,
    StartAttempt,
    StepEnd,
    StepStarted,
    StrokeBegin,
    StrokeEnd,
)

if TYPE_CHECKING:
    from fake_inkroom import FakeServer

pytest_plugins = ["fake_inkroom"]
GOOD_TOKEN = "good-token"


def rows(n: int, start: float = 0.0) -> np.ndarray:
    out = np.zeros((n, 6), dtype=np.float32)
    out[:, 0] = np.arange(n) + start
    out[:, 2] = np.arange(n) * 16.0
    out[:, 3] = 0.5
    return out


async def test_sequenced_messages_number_from_one_after_start_attempt(
    fake_server: FakeServer,
) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        assert await client.stroke_begin() == 1
        assert await client.send_points(rows(3)) == 2
        assert await client.stroke_end() == 3
        await client.wait_acked(3)
        assert [(type(m), getattr(m, "seq", None)) for m in fake_server.received[1:]] == [
            (StartAttempt, None),
            (StrokeBegin, 1),
            (Points, 2),
            (StrokeEnd, 3),
        ]
        # a new attempt is a new stream: seq 1 again
        await client.start_attempt("hatching")
        await client.wait_for(AttemptStarted, lambda m: m.lesson == "hatching")
        assert await client.step_end() == 1
        await client.wait_acked(1)
        assert fake_server.received[-1] == StepEnd(1)
        assert fake_server.refused_frames == []


async def test_acks_drop_kept_messages_up_to_the_acked_seq(fake_server: FakeServer) -> None:
    fake_server.mute_acks = {2, 3}
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        await client.stroke_begin()
        await client.send_points(rows(2))
        await client.stroke_end()
        await client.wait_acked(1)
        await fake_server.until(lambda: len(fake_server.applied) == 3)
        assert client.acked_seq == 1
        assert sorted(client.unacked) == [2, 3]
        await client.hint()  # its ack covers 2 and 3 as well
        await client.wait_acked(4)
        assert client.acked_seq == 4
        assert dict(client.unacked) == {}


async def test_points_go_out_packed_and_get_latency_samples(fake_server: FakeServer) -> None:
    ticks = iter(range(100, 1000))
    client = InkroomClient(fake_server.url, GOOD_TOKEN, clock=lambda: float(next(ticks)))
    await client.open()
    try:
        await client.start_attempt("steady-lines")
        await client.stroke_begin()
        batches = [rows(3), rows(2, start=10)]
        seqs = [await client.send_points(batch) for batch in batches]
        await client.wait_acked(seqs[-1])
        sent = [m for m in fake_server.applied if isinstance(m, Points)]
        for message, batch in zip(sent, batches, strict=True):
            assert message.rows is not None
            np.testing.assert_array_equal(message.rows, batch)
        assert sorted(client.points_sent_at) == seqs
        assert len(client.latency.ack) == 2
        assert len(client.latency.feedback) == 2
        # the fake clock only moves forward: every sample is a positive span
        assert all(x > 0 for x in client.latency.ack + client.latency.feedback)
        feedback = await client.wait_for(LiveFeedback)
        assert feedback.points == 3
    finally:
        await client.close()


async def test_bad_point_batches_are_refused_before_numbering(fake_server: FakeServer) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        bad = rows(2)
        bad[1, 0] = np.nan
        for batch in (np.zeros((2, 5)), bad, rows(9), np.array([["a"] * 6])):
            with pytest.raises(ValueError, match="rows"):
                await client.send_points(batch)
        assert client.next_seq == 1
        assert dict(client.unacked) == {}


async def test_rseq_keeps_the_highest_seen_and_restarts_with_a_new_attempt(
    fake_server: FakeServer,
) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        await client.wait_for(StepStarted)
        assert client.last_rseq == 2
        await fake_server.send(HintText(9, 0, "slow down"))
        await fake_server.send(HintText(5, 0, "an older one, out of order"))
        await client.wait_for(HintText, lambda m: m.rseq == 5)
        assert client.last_rseq == 9
        fake_server.rseq = 0  # the next attempt numbers its own messages from 1
        await client.start_attempt("hatching")
        await client.wait_for(StepStarted, lambda m: m.rseq == 2)
        assert client.last_rseq == 2


async def test_a_refused_seq_is_used_up_and_raised_by_wait_acked(fake_server: FakeServer) -> None:
    fake_server.refuse = {2: "bad_state"}
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        await client.start_attempt("steady-lines")
        await client.stroke_begin()
        refused = await client.stroke_begin()
        with pytest.raises(ServerError) as caught:
            await client.wait_acked(refused)
        assert (caught.value.code, caught.value.seq) == ("bad_state", 2)
        assert dict(client.unacked) == {}
        assert await client.hint() == 3  # the next one goes on with seq 3
        await client.wait_acked(3)
        assert fake_server.applied[-1] == Hint(3)

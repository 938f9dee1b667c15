"""ClientSession, the client's pure bookkeeping: no socket, a clock passed in by hand."""

from __future__ import annotations

import numpy as np
from inkroom_client import ClientSession, percentile

from server.protocol import (
    Ack,
    AttemptResult,
    AttemptStarted,
    Error,
    LiveFeedback,
    Points,
    Resumed,
    StrokeBegin,
)

ROWS = np.zeros((1, 6), dtype=np.float32)


def feedback(seq: int) -> LiveFeedback:
    return LiveFeedback(seq, 0, 0, 0.5, 0.0, False, 1)


def opened() -> ClientSession:
    session = ClientSession()
    session.open_stream()
    session.receive(AttemptStarted(1, 301, "steady-lines", 2), 0.0)
    return session


def send_points(session: ClientSession, now: float) -> int:
    message = session.number(lambda seq: Points.of(seq, ROWS))
    session.sent(message, now)
    return message.seq


def test_session_error_with_a_seq_uses_it_up_except_bad_seq_and_rate_limited() -> None:
    session = opened()
    for _ in range(4):
        session.sent(session.number(StrokeBegin), 0.0)
    session.receive(Error("bad_seq", "expected 1", 1), 0.0)
    session.receive(Error("rate_limited", "dropped", 2), 0.0)
    assert session.acked_seq == 0
    assert sorted(session.unacked) == [1, 2, 3, 4]
    session.receive(Error("bad_state", "not now", 3), 0.0)
    assert session.acked_seq == 3
    assert sorted(session.unacked) == [4]
    assert set(session.refused) == {3}


def test_session_ignores_acks_and_feedback_of_the_stream_being_left() -> None:
    session = opened()
    send_points(session, 1.0)
    session.open_stream()  # a second start_attempt, unanswered yet
    seq = send_points(session, 2.0)
    assert seq == 1
    session.receive(feedback(1), 3.0)  # the old stream's seq 1
    session.receive(Ack(1), 3.0)
    assert sorted(session.unacked) == [1]
    assert session.latency.ack == session.latency.feedback == []
    session.receive(AttemptStarted(1, 302, "hatching", 2), 4.0)
    session.receive(feedback(1), 5.0)
    assert session.unacked == {}
    assert session.latency.feedback == [3.0]
    assert session.latency.ack == [3.0]


def test_session_feedback_acknowledges_its_batch_and_those_before() -> None:
    session = opened()
    first, refused, third = (send_points(session, t) for t in (10.0, 20.0, 30.0))
    session.receive(feedback(first), 11.0)
    assert sorted(session.unacked) == [refused, third]
    assert session.acked_seq == first
    session.receive(Error("bad_points", "partial row", refused), 21.0)
    session.receive(feedback(third), 35.0)
    assert session.unacked == {}
    assert session.latency.feedback == [1.0, 5.0]
    assert session.latency.ack == [1.0, 5.0]
    # a resend of an applied batch gets an ack and no feedback: nothing is left waiting
    again = session.number(lambda seq: Points.of(seq, ROWS))
    session.sent(again, 40.0)
    session.receive(Ack(again.seq), 41.0)
    later = send_points(session, 50.0)
    session.receive(feedback(later), 52.0)
    assert session.latency.feedback[-1] == 2.0
    assert session.acked_seq == later


def test_session_resumed_keeps_only_what_follows_acked_seq() -> None:
    session = opened()
    for t in (1.0, 2.0, 3.0):
        send_points(session, t)
    session.receive(Resumed(acked_seq=2, snapshot=False, missed=0), 9.0)
    assert [getattr(m, "seq", None) for m in session.pending()] == [3]
    assert session.acked_seq == 2
    session.receive(feedback(3), 10.0)  # the resent batch 3's; 1 and 2 got none
    assert session.latency.feedback == [7.0]
    assert session.unacked == {}


def test_session_finished_attempt_leaves_nothing_to_resume() -> None:
    session = opened()
    assert session.in_stream
    session.receive(AttemptResult(9, 301, 0.9, True, ()), 0.0)
    assert not session.in_stream


def test_percentile_of_samples() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert np.isnan(percentile([], 99))

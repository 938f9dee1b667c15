"""The client's side of the protocol's bookkeeping, as a pure object (no socket, no clock).

Theory of operation. `InkroomClient` (connection.py) does the I/O; this object decides:

- **Numbering.** Opening an attempt or a room (`start_attempt`, `create_room`, `join_room`: the
  *openers*) starts a new client stream: the next sequenced message is seq 1, then +1 each
  (docs/protocol.md, "Sequence numbers"). The stream is reset when the opener is *sent*, so a
  caller may send `stroke_begin` before `attempt_started` arrives.
- **Acks.** Every sequenced message is kept in `unacked` until an `ack` covers it (`ack {seq}`
  is the highest seq the server applied, contiguously). An `error` carrying a seq also covers
  it, unless its code is one that does not use the seq up (`bad_seq`, `rate_limited`): the
  server consumed the message without applying it. Refused seqs are kept in `refused`.
  While an opener is unanswered, `ack` and `feedback` belong to the stream being left and are
  ignored: the server answers in order, so the new stream's first ack comes after
  `attempt_started` / `room_joined`.
- **rseq.** `last_rseq` is the highest rseq seen in the current stream; `attempt_started` and
  `room_joined` set it (a new stream numbers from its own start). `resume` sends it.
- **Resume.** `resumed {acked_seq}` drops every kept message up to `acked_seq`; `pending()`
  is what to resend, in order.
- **Feedback is an ack.** The server answers an applied `points` batch with one `feedback`
  whose `seq` is the batch's: it acknowledges the batch like `ack {seq}` (no separate ack
  comes). A duplicate batch is answered by a plain `ack`, a refused one by an `error`.
- **Latency.** The send time of each `points` seq (`points_sent_at`; a resend overwrites it)
  gives two samples per batch: to the ack that covers it (its feedback, or a later ack), and
  to its `feedback`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar

import numpy as np

from server.protocol import (
    Ack,
    AttemptResult,
    AttemptStarted,
    Error,
    FinalResults,
    GoingAway,
    LiveFeedback,
    Message,
    Ping,
    Points,
    Pong,
    Resumed,
    RoomJoined,
    Welcome,
)
from server.protocol_errors import DEFAULT_LIMITS

M = TypeVar("M", bound=Message)

# Error codes whose seq the server did not use up: the message was neither applied nor consumed.
SEQ_KEPT_CODES: Final = frozenset({"bad_seq", "rate_limited"})


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) of latency samples; NaN when there are none."""
    return float(np.percentile(samples, q)) if samples else float("nan")


@dataclass
class Latency:
    """Samples in seconds of the client's clock, appended as answers arrive."""

    ack: list[float] = field(default_factory=list)  # points batch sent -> the ack covering it
    feedback: list[float] = field(default_factory=list)  # points batch sent -> its feedback
    pong: list[float] = field(default_factory=list)  # ping -> pong


class ClientSession:
    def __init__(self) -> None:
        self.next_seq = 1
        self.acked_seq = 0
        self.last_rseq = 0
        self.in_stream = False  # an attempt or a room is open (or being opened)
        self.opening = False  # an opener was sent and its answer has not arrived
        self.unacked: dict[int, Message] = {}  # seq -> message, in seq order
        self.refused: dict[int, Error] = {}  # seq -> the error that refused it (this stream)
        self.points_sent_at: dict[int, float] = {}  # points seq -> last send time (this stream)
        self.welcome: Welcome | None = None
        self.resume_token: str | None = None
        self.going_away: GoingAway | None = None
        self.latency = Latency()
        self._feedback_due: dict[int, float] = {}  # points seq -> send time, oldest first
        self._pings: dict[int, float] = {}
        self._nonce = 0

    @property
    def max_points_per_batch(self) -> int:
        limits = self.welcome.limits if self.welcome is not None else {}
        return int(limits.get("max_points_per_batch", DEFAULT_LIMITS.max_points_per_batch))

    # -- what the client sends -------------------------------------------------------------

    def open_stream(self) -> None:
        """An opener is being sent: the next sequenced message is seq 1 of a new stream."""
        self.next_seq = 1
        self.acked_seq = 0
        self.last_rseq = 0
        self.in_stream = True
        self.opening = True
        self.unacked.clear()
        self.refused.clear()
        self.points_sent_at.clear()
        self._feedback_due.clear()

    def number(self, build: Callable[[int], M]) -> M:
        """The next sequenced message, built with its seq and kept until acknowledged."""
        message = build(self.next_seq)
        self.unacked[self.next_seq] = message
        self.next_seq += 1
        return message

    def next_nonce(self) -> int:
        self._nonce += 1
        return self._nonce

    def sent(self, message: Message, now: float) -> None:
        if isinstance(message, Points) and message.seq in self.unacked:
            self.points_sent_at[message.seq] = now
            self._feedback_due[message.seq] = now  # a resend keeps its place, oldest first
        elif isinstance(message, Ping):
            self._pings[message.nonce] = now

    def pending(self) -> list[Message]:
        """The kept messages to (re)send, in seq order."""
        return [self.unacked[seq] for seq in sorted(self.unacked)]

    # -- what the server sends -------------------------------------------------------------

    def receive(self, message: Message, now: float) -> None:
        handler = self._RECEIVERS.get(type(message))
        if handler is not None:
            handler(self, message, now)
        rseq = getattr(message, "rseq", None)
        if isinstance(rseq, int) and rseq > self.last_rseq:
            self.last_rseq = rseq

    def resume_failed(self) -> None:
        """The stream cannot be resumed: nothing kept will ever be applied."""
        self.in_stream = self.opening = False
        self.unacked.clear()
        self._feedback_due.clear()

    def _acknowledge(self, upto: int, now: float) -> None:
        for seq in list(self.unacked):
            if seq > upto:
                break
            del self.unacked[seq]
            sent_at = self.points_sent_at.get(seq)
            if sent_at is not None:
                self.latency.ack.append(now - sent_at)
            # acked without its feedback (a duplicate, or applied while we were away)
            self._feedback_due.pop(seq, None)
        self.acked_seq = max(self.acked_seq, upto)

    def _on_ack(self, message: Ack, now: float) -> None:
        if not self.opening:
            self._acknowledge(message.seq, now)

    def _on_feedback(self, message: LiveFeedback, now: float) -> None:
        if self.opening:
            return
        sent_at = self._feedback_due.pop(message.seq, None)
        if sent_at is not None:
            self.latency.feedback.append(now - sent_at)
        self._acknowledge(message.seq, now)

    def _on_error(self, message: Error, now: float) -> None:
        if message.seq is None:
            if self.opening:  # the opener itself was refused: no stream is open
                self.in_stream = self.opening = False
            return
        if self.opening or message.code in SEQ_KEPT_CODES:
            return
        self._acknowledge(message.seq - 1, now)
        self.refused[message.seq] = message
        self.unacked.pop(message.seq, None)
        self._feedback_due.pop(message.seq, None)
        self.acked_seq = max(self.acked_seq, message.seq)

    def _on_opened(self, message: AttemptStarted | RoomJoined, now: float) -> None:
        self.opening = False
        self.in_stream = True
        self.last_rseq = message.rseq

    def _on_finished(self, message: AttemptResult | FinalResults, now: float) -> None:
        self.in_stream = False  # nothing left to resume

    def _on_welcome(self, message: Welcome, now: float) -> None:
        self.welcome = message
        self.resume_token = message.resume_token
        self.going_away = None

    def _on_resumed(self, message: Resumed, now: float) -> None:
        self.opening = False
        for seq in [s for s in self.unacked if s <= message.acked_seq]:
            del self.unacked[seq]
            self._feedback_due.pop(seq, None)  # applied while we were away: its feedback is lost
        self.acked_seq = max(self.acked_seq, message.acked_seq)

    def _on_pong(self, message: Pong, now: float) -> None:
        sent_at = self._pings.pop(message.nonce, None)
        if sent_at is not None:
            self.latency.pong.append(now - sent_at)

    def _on_going_away(self, message: GoingAway, now: float) -> None:
        self.going_away = message

    _RECEIVERS: Final[Mapping[type[Message], Callable[..., None]]] = {
        Ack: _on_ack,
        LiveFeedback: _on_feedback,
        Error: _on_error,
        AttemptStarted: _on_opened,
        RoomJoined: _on_opened,
        AttemptResult: _on_finished,
        FinalResults: _on_finished,
        Welcome: _on_welcome,
        Resumed: _on_resumed,
        Pong: _on_pong,
        GoingAway: _on_going_away,
    }

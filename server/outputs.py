"""What the pure state machines hand the I/O layer: frames to send, records to persist, logs.

The core never does I/O; it returns a list of these. `Send.to` is a user id, or `ROOM` for
everyone in the room (minus `exclude`). `frame` is the message already encoded, once, so one
broadcast costs one `encode` whatever the number of recipients.
`direct` builds a Send for a message outside the room's sequence (acks, live feedback, errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from scoring import StepResult as ScoredStep
from scoring import StrokeScore
from server.codec import encode
from server.frozen import quick_inits
from server.protocol import Error, Message, PointRows
from server.protocol_errors import ProtocolError

ROOM: Final = "room"
# finish_step is not here: a StepRecord carries the finished step, and is logged as it.
LogKind = Literal["start_step", "undo", "retry", "hint_shown", "join", "leave"]


@dataclass(frozen=True, slots=True)
class Send:
    to: int | Literal["room"]
    message: Message
    frame: bytes = field(repr=False)
    exclude: int | None = None


@dataclass(frozen=True, slots=True)
class Resend:
    """Frames already sent once (from the room's history), sent again in order on resume."""

    to: int
    frames: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Close:
    """Close the user's connection (after its pending frames) with this error code."""

    to: int
    code: str


@dataclass(frozen=True, slots=True)
class Log:
    """One event_logs row. `room` or `attempt` says where it happened."""

    kind: LogKind
    user: int
    at: float
    step: int | None = None
    room: int | None = None
    attempt: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StrokeRecord:
    """A finished stroke: its raw wire rows (float32, as received) and its score."""

    user: int
    step: int
    stroke: int
    rows: PointRows = field(repr=False)
    score: StrokeScore
    room: int | None = None
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class StepRecord:
    user: int
    step: int
    result: ScoredStep
    timed_out: bool
    room: int | None = None
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """An attempt finished (or abandoned): the glue updates attempts and progress."""

    user: int
    attempt: int
    lesson: str
    total: float
    passed: bool
    abandoned: bool
    at: float


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A room changed state: multiplayer_sessions (and, when finished, shared_attempts)."""

    room: int
    state: str
    at: float
    shared: tuple[tuple[int, float | None], ...] = ()  # (step, aggregate) for each step done


Output = Send | Resend | Close | Log | StrokeRecord | StepRecord | AttemptRecord | RoomRecord


def direct(to: int, message: Message) -> Send:
    return Send(to, message, encode(message))


def refusal(to: int, error: ProtocolError, seq: int | None = None) -> list[Output]:
    """The error message for a refused client message, and a Close if the code demands one."""
    out: list[Output] = [direct(to, Error(error.code, error.message, seq))]
    if error.close:
        out.append(Close(to, error.code))
    return out


quick_inits(globals())  # the outputs made per message: a cheaper __init__ (server.frozen)

"""Every WebSocket message, defined once: the server, the Python client and the tests import these.

A message is a frozen dataclass whose `TYPE` is its wire `type`; its fields, in order, are the
msgpack map's other keys, with the types the codec (`server.codec`) checks. Nested values are
dataclasses too. `CLIENT_MESSAGES` may be sent by a client; `SERVER_MESSAGES` only by the server.
Messages that a room (or a solo attempt) sends carry `rseq`, the room sequence number; messages
that change a room's or an attempt's state carry `seq`, the client sequence number.
docs/protocol.md describes each one and the flows they make up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal

import numpy as np
import numpy.typing as npt

from server.frozen import quick_inits

DeviceKind = Literal["stylus", "touch", "mouse"]
Role = Literal["host", "guest", "spectator"]
Presence = Literal["here", "away", "left"]
RoomState = Literal["waiting", "active", "finished"]
EndReason = Literal["host", "completed", "empty"]
PointRows = npt.NDArray[np.float32]

# A point batch: little-endian float32, row-major, these columns (DESIGN.md).
POINT_COLUMNS: Final = ("x", "y", "t", "pressure", "tilt_x", "tilt_y")
POINT_DTYPE: Final = np.dtype("<f4")
POINT_ROW_BYTES: Final = len(POINT_COLUMNS) * POINT_DTYPE.itemsize
OFF_WIRE: Final = {"wire": False}  # field metadata: kept on the object, never encoded


def pack_points(rows: Any) -> bytes:
    """The `bin` payload for an (n, 6) array of points."""
    arr = np.ascontiguousarray(rows, dtype=POINT_DTYPE)
    if arr.ndim != 2 or arr.shape[1] != len(POINT_COLUMNS):
        raise ValueError(f"rows: expected shape (n, {len(POINT_COLUMNS)}), got {arr.shape}")
    return arr.tobytes()


# -- values nested in messages ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    kind: DeviceKind
    pressure: bool
    tilt: bool
    model: str = ""


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    code: str
    message: str
    target: int | None = None


@dataclass(frozen=True, slots=True)
class StepScore:
    step: int
    accuracy: float
    quality: float
    total: float
    passed: bool
    strokes: int
    timed_out: bool = False
    feedback: tuple[FeedbackItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Participant:
    user: int
    name: str
    role: Role
    presence: Presence
    drawing: bool
    step_done: bool


@dataclass(frozen=True, slots=True)
class ParticipantScore:
    user: int
    name: str
    score: StepScore | None  # None: a player who left before drawing this step


@dataclass(frozen=True, slots=True)
class ParticipantFinal:
    user: int
    name: str
    role: Role
    total: float
    steps_passed: int
    steps: tuple[StepScore, ...]


# -- messages --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    TYPE: ClassVar[str] = ""


# client -> server: connection


@dataclass(frozen=True, slots=True)
class Hello(Message):
    TYPE: ClassVar[str] = "hello"
    token: str
    device: DeviceInfo


@dataclass(frozen=True, slots=True)
class Resume(Message):
    TYPE: ClassVar[str] = "resume"
    resume_token: str
    last_rseq: int


@dataclass(frozen=True, slots=True)
class Ping(Message):
    TYPE: ClassVar[str] = "ping"
    nonce: int


# client -> server: opening an attempt or a room (no seq: they open the seq stream)


@dataclass(frozen=True, slots=True)
class StartAttempt(Message):
    TYPE: ClassVar[str] = "start_attempt"
    lesson: str


@dataclass(frozen=True, slots=True)
class CreateRoom(Message):
    TYPE: ClassVar[str] = "create_room"
    lesson: str
    step_time_s: float | None = None


@dataclass(frozen=True, slots=True)
class JoinRoom(Message):
    TYPE: ClassVar[str] = "join_room"
    code: str
    spectator: bool = False


# client -> server: inside an attempt or a room, each with the client seq


@dataclass(frozen=True, slots=True)
class StrokeBegin(Message):
    TYPE: ClassVar[str] = "stroke_begin"
    seq: int


@dataclass(frozen=True, slots=True)
class Points(Message):
    TYPE: ClassVar[str] = "points"
    seq: int
    bin: bytes = field(repr=False, metadata={"points": True})
    # Set by the codec: the one numpy.frombuffer view of `bin`, shape (n, 6). Not on the wire.
    rows: PointRows | None = field(
        default=None, compare=False, repr=False, metadata={"wire": False}
    )

    @classmethod
    def of(cls, seq: int, rows: Any) -> Points:
        return cls(seq=seq, bin=pack_points(rows))


@dataclass(frozen=True, slots=True)
class StrokeEnd(Message):
    TYPE: ClassVar[str] = "stroke_end"
    seq: int


@dataclass(frozen=True, slots=True)
class StepEnd(Message):
    TYPE: ClassVar[str] = "step_end"
    seq: int


@dataclass(frozen=True, slots=True)
class NextStep(Message):
    TYPE: ClassVar[str] = "next_step"
    seq: int


@dataclass(frozen=True, slots=True)
class Undo(Message):
    TYPE: ClassVar[str] = "undo"
    seq: int


@dataclass(frozen=True, slots=True)
class Retry(Message):
    TYPE: ClassVar[str] = "retry"
    seq: int


@dataclass(frozen=True, slots=True)
class Hint(Message):
    TYPE: ClassVar[str] = "hint"
    seq: int


@dataclass(frozen=True, slots=True)
class StartRoom(Message):
    TYPE: ClassVar[str] = "start_room"
    seq: int


@dataclass(frozen=True, slots=True)
class EndRoom(Message):
    TYPE: ClassVar[str] = "end_room"
    seq: int


@dataclass(frozen=True, slots=True)
class LeaveRoom(Message):
    TYPE: ClassVar[str] = "leave_room"
    seq: int


# server -> client: connection


@dataclass(frozen=True, slots=True)
class Welcome(Message):
    TYPE: ClassVar[str] = "welcome"
    user: int
    name: str
    resume_token: str
    limits: dict[str, float]


@dataclass(frozen=True, slots=True)
class Resumed(Message):
    TYPE: ClassVar[str] = "resumed"
    acked_seq: int  # highest client seq applied: resend everything after it
    snapshot: bool  # true: a `snapshot` follows instead of the missed messages
    missed: int  # how many missed messages follow (0 with a snapshot)


@dataclass(frozen=True, slots=True)
class Pong(Message):
    TYPE: ClassVar[str] = "pong"
    nonce: int


@dataclass(frozen=True, slots=True)
class Ack(Message):
    TYPE: ClassVar[str] = "ack"
    seq: int


@dataclass(frozen=True, slots=True)
class Error(Message):
    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class GoingAway(Message):
    TYPE: ClassVar[str] = "going_away"
    reason: str
    reconnect: bool  # true: reconnect (to any node) and resume
    retry_after_s: float = 0.0


# server -> client: solo practice and a player's own drawing (also in rooms)


@dataclass(frozen=True, slots=True)
class AttemptStarted(Message):
    TYPE: ClassVar[str] = "attempt_started"
    rseq: int
    attempt: int
    lesson: str
    steps: int


@dataclass(frozen=True, slots=True)
class StepStarted(Message):
    TYPE: ClassVar[str] = "step_started"
    rseq: int
    step: int
    hint_available: bool
    deadline_s: float | None = None  # rooms with a step timer: seconds from now


@dataclass(frozen=True, slots=True)
class LiveFeedback(Message):
    """The answer to an applied `points` batch; its `seq` acknowledges the batch (no `ack`)."""

    TYPE: ClassVar[str] = "feedback"
    seq: int
    stroke: int
    target: int
    progress: float
    deviation: float
    off_path: bool
    points: int


@dataclass(frozen=True, slots=True)
class StrokeScored(Message):
    TYPE: ClassVar[str] = "stroke_score"
    rseq: int
    step: int
    stroke: int
    target: int | None
    accuracy: float
    quality: float
    total: float
    feedback: tuple[FeedbackItem, ...]


@dataclass(frozen=True, slots=True)
class StepResult(Message):
    TYPE: ClassVar[str] = "step_result"
    rseq: int
    score: StepScore


@dataclass(frozen=True, slots=True)
class HintText(Message):
    TYPE: ClassVar[str] = "hint_text"
    rseq: int
    step: int
    text: str


@dataclass(frozen=True, slots=True)
class AttemptResult(Message):
    TYPE: ClassVar[str] = "attempt_result"
    rseq: int
    attempt: int
    total: float
    passed: bool
    steps: tuple[StepScore, ...]


@dataclass(frozen=True, slots=True)
class Snapshot(Message):
    """After `resumed` with snapshot=true: where things stand, instead of the missed messages."""

    TYPE: ClassVar[str] = "snapshot"
    rseq: int
    state: str  # a room's state, or "drawing" / "reviewing" / "finished" for an attempt
    step: int
    strokes: int  # strokes kept in the client's own current step
    step_done: bool
    participants: tuple[Participant, ...]
    results: tuple[StepScore, ...]  # the client's finished steps


# server -> client: rooms


@dataclass(frozen=True, slots=True)
class RoomJoined(Message):
    TYPE: ClassVar[str] = "room_joined"
    rseq: int
    room: int
    code: str
    lesson: str
    role: Role
    state: RoomState
    steps: int
    step: int


@dataclass(frozen=True, slots=True)
class PresenceUpdate(Message):
    TYPE: ClassVar[str] = "presence"
    rseq: int
    participants: tuple[Participant, ...]


@dataclass(frozen=True, slots=True)
class RoomStarted(Message):
    TYPE: ClassVar[str] = "room_started"
    rseq: int
    steps: int


@dataclass(frozen=True, slots=True)
class PeerStrokeBegin(Message):
    TYPE: ClassVar[str] = "peer_stroke_begin"
    rseq: int
    user: int
    step: int
    stroke: int


@dataclass(frozen=True, slots=True)
class PeerPoints(Message):
    TYPE: ClassVar[str] = "peer_points"
    rseq: int
    user: int
    stroke: int
    bin: bytes = field(repr=False, metadata={"points": True})
    rows: PointRows | None = field(
        default=None, compare=False, repr=False, metadata={"wire": False}
    )


@dataclass(frozen=True, slots=True)
class PeerStrokeEnd(Message):
    TYPE: ClassVar[str] = "peer_stroke_end"
    rseq: int
    user: int
    stroke: int
    total: float


@dataclass(frozen=True, slots=True)
class PeerUndo(Message):
    TYPE: ClassVar[str] = "peer_undo"
    rseq: int
    user: int
    stroke: int  # the stroke id taken back


@dataclass(frozen=True, slots=True)
class PeerRetry(Message):
    TYPE: ClassVar[str] = "peer_retry"
    rseq: int
    user: int
    step: int


@dataclass(frozen=True, slots=True)
class SharedResult(Message):
    TYPE: ClassVar[str] = "shared_result"
    rseq: int
    room: int  # with `step`, the replay reference: the HTTP API serves the step's recording
    step: int
    aggregate: float  # mean total over the players who drew the step
    scores: tuple[ParticipantScore, ...]


@dataclass(frozen=True, slots=True)
class FinalResults(Message):
    TYPE: ClassVar[str] = "final_results"
    rseq: int
    room: int
    reason: EndReason
    results: tuple[ParticipantFinal, ...]


CLIENT_MESSAGES: Final[dict[str, type[Message]]] = {
    m.TYPE: m
    for m in (
        Hello, Resume, Ping, StartAttempt, CreateRoom, JoinRoom, StrokeBegin, Points, StrokeEnd,
        StepEnd, NextStep, Undo, Retry, Hint, StartRoom, EndRoom, LeaveRoom,
    )
}  # fmt: skip
SERVER_MESSAGES: Final[dict[str, type[Message]]] = {
    m.TYPE: m
    for m in (
        Welcome, Resumed, Pong, Ack, Error, GoingAway, AttemptStarted, StepStarted, LiveFeedback,
        StrokeScored, StepResult, HintText, AttemptResult, Snapshot, RoomJoined, PresenceUpdate,
        RoomStarted, PeerStrokeBegin, PeerPoints, PeerStrokeEnd, PeerUndo, PeerRetry,
        SharedResult, FinalResults,
    )
}  # fmt: skip
SEQUENCED: Final = frozenset(
    t for t, m in CLIENT_MESSAGES.items() if "seq" in m.__dataclass_fields__
)

quick_inits(globals())  # every message above: a cheaper __init__, same class (server.frozen)

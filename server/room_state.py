"""A multiplayer room as a pure state machine.

Theory of operation: a room is `waiting` while people join, `active` while its players draw the
lesson's steps together, and `finished` for good. The I/O layer feeds it what happens (`join`,
`handle` for each client message, `disconnect`, `resume`, and `tick` with the clock) and
carries out the outputs it returns; the room never reads a clock or touches a socket.

Two tables are the whole policy. `PERMISSIONS`: which roles may send which message, in which
states; a message outside it is refused with `not_allowed` (wrong role) or `bad_state` (wrong
state) and changes nothing. `TRANSITIONS`: the room's own state changes, by event. A player's
drawing inside a step (stroke begun or not, step ended or not) is its `StepDrawing`'s business.

All players draw the same step at once. Each gets live feedback; every other member (players and
spectators) gets their points relayed. A step closes when every player still in the room has
ended it, or when its timer runs out (`tick`): everyone then gets the shared result, and the next
step starts, or the room finishes with the final results. A player who leaves (or stays away past
the resume window) stops counting; a host who leaves hands the room to the next player.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from lessons import Lesson
from scoring import Device
from server.client_seq import ClientSeq
from server.codec import point_rows
from server.drawing import StepDrawing, step_score
from server.outputs import (
    ROOM,
    Log,
    LogKind,
    Output,
    Resend,
    RoomRecord,
    StepRecord,
    StrokeRecord,
    direct,
    refusal,
)
from server.protocol import (
    Ack,
    EndReason,
    EndRoom,
    FeedbackItem,
    FinalResults,
    HintText,
    LeaveRoom,
    LiveFeedback,
    Message,
    Participant,
    ParticipantFinal,
    ParticipantScore,
    PeerPoints,
    PeerRetry,
    PeerStrokeBegin,
    PeerStrokeEnd,
    PeerUndo,
    Points,
    PresenceUpdate,
    Resumed,
    Retry,
    Role,
    RoomJoined,
    RoomStarted,
    SharedResult,
    Snapshot,
    StartRoom,
    StepEnd,
    StepResult,
    StepScore,
    StepStarted,
    StrokeBegin,
    StrokeEnd,
    StrokeScored,
    Undo,
)
from server.protocol import Hint as HintRequest
from server.protocol_errors import DEFAULT_LIMITS, Limits, ProtocolError
from server.room_history import RoomHistory


class RoomPhase(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    FINISHED = "finished"


W, A, F = RoomPhase.WAITING, RoomPhase.ACTIVE, RoomPhase.FINISHED
EVERYONE: Final = frozenset({"host", "guest", "spectator"})
PLAYERS: Final = frozenset({"host", "guest"})
HOST: Final = frozenset({"host"})
DRAWING: Final = (frozenset({A}), PLAYERS)

# message type -> (states it is allowed in, roles allowed to send it)
PERMISSIONS: Final[dict[str, tuple[frozenset[RoomPhase], frozenset[str]]]] = {
    "start_room": (frozenset({W}), HOST),
    "end_room": (frozenset({W, A}), HOST),
    "leave_room": (frozenset({W, A, F}), EVERYONE),
    "stroke_begin": DRAWING,
    "points": DRAWING,
    "stroke_end": DRAWING,
    "undo": DRAWING,
    "retry": DRAWING,
    "hint": DRAWING,
    "step_end": DRAWING,
}

# (state, event) -> state after it
TRANSITIONS: Final[dict[tuple[RoomPhase, str], RoomPhase]] = {
    (W, "start_room"): A,
    (W, "end_room"): F,
    (A, "end_room"): F,
    (A, "last_step_closed"): F,
    (W, "emptied"): F,
    (A, "emptied"): F,
}


@dataclass
class Member:
    user: int
    name: str
    role: Role
    device: Device
    connection: int
    presence: str = "here"
    away_since: float = 0.0
    seq: ClientSeq = field(default_factory=ClientSeq)
    drawing: StepDrawing | None = None
    scores: dict[int, StepScore] = field(default_factory=dict)

    @property
    def playing(self) -> bool:
        return self.role != "spectator" and self.presence != "left"

    def view(self) -> Participant:
        d = self.drawing
        return Participant(
            self.user, self.name, self.role, self.presence,  # type: ignore[arg-type]
            d is not None and d.drawing, d is not None and d.done,
        )  # fmt: skip


class Room:
    def __init__(
        self,
        room: int,
        code: str,
        lesson: Lesson,
        host: int,
        step_time_s: float | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.room = room
        self.code = code
        self.lesson = lesson
        self.host = host
        self.step_time_s = step_time_s
        self.limits = limits
        self.phase = RoomPhase.WAITING
        self.step = 0
        self.deadline: float | None = None
        self.members: dict[int, Member] = {}
        self.history = RoomHistory(limits.history_messages, limits.history_bytes)
        self.shared: list[tuple[int, float | None]] = []

    # -- the I/O layer's entry points ------------------------------------------------------

    def join(
        self, user: int, name: str, device: Device, connection: int, now: float, spectator: bool
    ) -> list[Output]:
        member = self.members.get(user)
        try:
            if self.phase is F:
                raise ProtocolError("bad_state", "join_room: the room has finished")
            if member is None and len(self.members) >= self.limits.max_participants:
                raise ProtocolError("room_full", f"join_room: {len(self.members)} participants")
        except ProtocolError as error:
            return refusal(user, error)
        if member is None:
            role: Role = "host" if user == self.host else "guest"
            if spectator or self.phase is A:
                role = "spectator"
            member = self.members[user] = Member(user, name, role, device, connection)
        else:
            if member.presence == "left" and self.phase is A:
                member.role = "spectator"
            member.presence, member.connection = "here", connection
        joined = self.history.send(
            user,
            lambda r: RoomJoined(
                r, self.room, self.code, self.lesson.slug, member.role,
                self.phase.value, len(self.lesson.steps), self.step,
            ),
        )  # fmt: skip
        return [joined, self._presence(), self._log("join", user, now, role=member.role)]

    def handle(self, user: int, message: Message, now: float) -> list[Output]:
        member = self.members.get(user)
        seq: int | None = getattr(message, "seq", None)
        try:
            if member is None or member.presence == "left":
                raise ProtocolError("not_in_room", f"{message.TYPE}: you are not in this room")
            if seq is None or message.TYPE not in PERMISSIONS:
                raise ProtocolError("bad_state", f"{message.TYPE}: not a message for a room")
            if not member.seq.admit(seq):
                return [direct(user, Ack(member.seq.applied))]
            states, roles = PERMISSIONS[message.TYPE]
            if member.role not in roles:
                raise ProtocolError("not_allowed", f"{message.TYPE}: not as {member.role}")
            if self.phase not in states:
                raise ProtocolError("bad_state", f"{message.TYPE}: the room is {self.phase}")
            out = self._HANDLERS[type(message)](self, member, message, now)
        except ProtocolError as error:
            return refusal(user, error, seq)
        if message.TYPE == "points":  # its feedback carries the ack
            return out
        return [*out, direct(user, Ack(member.seq.applied))]

    def disconnect(self, user: int, connection: int, now: float) -> list[Output]:
        """A socket closed. A late close from a socket already replaced by a resume is ignored."""
        member = self.members.get(user)
        if member is None or member.connection != connection or member.presence != "here":
            return []
        member.presence, member.away_since = "away", now
        return [self._presence()]

    def resume(self, user: int, connection: int, last_rseq: int, now: float) -> list[Output]:
        member = self.members.get(user)
        if member is None or member.presence == "left":
            return refusal(user, ProtocolError("resume_failed", "you are no longer in this room"))
        member.presence, member.connection = "here", connection
        frames = self.history.since(last_rseq, user)
        if frames is None:
            return [
                direct(user, Resumed(member.seq.applied, True, 0)),
                self.history.send(user, lambda r: self._snapshot(r, member)),
                self._presence(),
            ]
        resumed = direct(user, Resumed(member.seq.applied, False, len(frames)))
        return [resumed, Resend(user, tuple(frames)), self._presence()]

    def tick(self, now: float) -> list[Output]:
        """Expire members away past the resume window; close a step whose timer ran out."""
        out: list[Output] = []
        for member in list(self.members.values()):
            away_for = now - member.away_since
            if member.presence == "away" and away_for >= self.limits.resume_window_s:
                out += self._leave(member, now)
        if self.phase is A and self.deadline is not None and now >= self.deadline:
            out += self._close_step(now, timed_out=True)
        return out

    def next_deadline(self) -> float | None:
        return self.deadline if self.phase is A else None

    # -- room events -------------------------------------------------------------------------

    def _goto(self, event: str) -> None:
        self.phase = TRANSITIONS[(self.phase, event)]

    def _log(self, kind: LogKind, user: int, now: float, **data: object) -> Log:
        step = self.step if self.phase is A else None
        return Log(kind, user, now, step, room=self.room, data=dict(data))

    def _presence(self) -> Output:
        views = tuple(m.view() for m in self.members.values())
        return self.history.send(ROOM, lambda r: PresenceUpdate(r, views))

    def _snapshot(self, rseq: int, member: Member) -> Snapshot:
        d = member.drawing
        strokes = len(d.stroke_ids) if d is not None else 0
        done = d is not None and d.done
        views = tuple(m.view() for m in self.members.values())
        results = tuple(member.scores[k] for k in sorted(member.scores))
        return Snapshot(rseq, self.phase.value, self.step, strokes, done, views, results)

    def _begin_step(self, now: float) -> list[Output]:
        spec = self.lesson.steps[self.step].to_spec()
        out: list[Output] = []
        for member in self.members.values():
            member.drawing = None
            if member.playing:
                member.drawing = StepDrawing(self.step, spec, member.device, self.limits)
                out.append(self._log("start_step", member.user, now))
        timer = self.step_time_s
        self.deadline = None if timer is None else now + timer
        hint = bool(self.lesson.steps[self.step].hint_text)
        started = self.history.send(ROOM, lambda r: StepStarted(r, self.step, hint, timer))
        return [started, *out]

    def _finish_drawing(self, member: Member, now: float, timed_out: bool) -> list[Output]:
        d = member.drawing
        assert d is not None
        result = d.finish(timed_out)
        score = step_score(self.step, result, len(d.stroke_ids), timed_out)
        member.scores[self.step] = score
        return [  # the StepRecord is the step's finish_step event too
            StepRecord(member.user, self.step, result, timed_out, room=self.room),
            self.history.send(member.user, lambda r: StepResult(r, score)),
        ]

    def _close_step_if_done(self, now: float) -> list[Output]:
        waiting = [
            m for m in self.members.values() if m.playing and m.drawing and not m.drawing.done
        ]
        return [] if waiting or self.phase is not A else self._close_step(now, timed_out=False)

    def _close_step(self, now: float, timed_out: bool) -> list[Output]:
        out: list[Output] = []
        for member in self.members.values():
            if member.playing and member.drawing is not None and not member.drawing.done:
                out += self._finish_drawing(member, now, timed_out)
        players = [m for m in self.members.values() if m.role != "spectator"]
        scores = tuple(ParticipantScore(m.user, m.name, m.scores.get(self.step)) for m in players)
        totals = [s.score.total for s in scores if s.score is not None]
        aggregate = sum(totals) / len(totals) if totals else None
        self.shared.append((self.step, aggregate))
        step = self.step
        out.append(
            self.history.send(
                ROOM, lambda r: SharedResult(r, self.room, step, aggregate or 0.0, scores)
            )
        )
        if self.step + 1 < len(self.lesson.steps):
            self.step += 1
            return out + self._begin_step(now)
        return out + self._finish("completed", "last_step_closed", now)

    def _finish(self, reason: EndReason, event: str, now: float) -> list[Output]:
        self._goto(event)
        self.deadline = None
        n = len(self.lesson.steps)
        finals = tuple(
            ParticipantFinal(
                m.user, m.name, m.role,
                sum(s.total for s in m.scores.values()) / n,
                sum(s.passed for s in m.scores.values()),
                tuple(m.scores[k] for k in sorted(m.scores)),
            )
            for m in self.members.values()
            if m.role != "spectator"
        )  # fmt: skip
        sent = self.history.send(ROOM, lambda r: FinalResults(r, self.room, reason, finals))
        return [sent, RoomRecord(self.room, self.phase.value, now, tuple(self.shared))]

    def _leave(self, member: Member, now: float) -> list[Output]:
        if member.drawing is not None and member.drawing.drawing:
            member.drawing.undo()
        member.presence = "left"
        out: list[Output] = [self._log("leave", member.user, now)]
        if member.role == "host":
            heir = next((m for m in self.members.values() if m.playing), None)
            if heir is not None:
                member.role, heir.role = "guest", "host"
                self.host = heir.user
        out.append(self._presence())
        if self.phase is not F and not any(m.playing for m in self.members.values()):
            return out + self._finish("empty", "emptied", now)
        return out + self._close_step_if_done(now)

    # -- message handlers --------------------------------------------------------------------

    def _start_room(self, member: Member, message: StartRoom, now: float) -> list[Output]:
        self._goto("start_room")
        started = self.history.send(ROOM, lambda r: RoomStarted(r, len(self.lesson.steps)))
        return [started, RoomRecord(self.room, self.phase.value, now), *self._begin_step(now)]

    def _end_room(self, member: Member, message: EndRoom, now: float) -> list[Output]:
        return self._finish("host", "end_room", now)

    def _leave_room(self, member: Member, message: LeaveRoom, now: float) -> list[Output]:
        return self._leave(member, now)

    def _drawing(self, member: Member) -> StepDrawing:
        if member.drawing is None:  # joined as a player, left, came back: no step to draw
            raise ProtocolError("not_allowed", "you are not drawing this step")
        return member.drawing

    def _stroke_begin(self, member: Member, message: StrokeBegin, now: float) -> list[Output]:
        stroke = self._drawing(member).begin()
        relay = PeerStrokeBegin
        return [
            self.history.send(ROOM, lambda r: relay(r, member.user, self.step, stroke), member.user)
        ]

    def _points(self, member: Member, message: Points, now: float) -> list[Output]:
        d = self._drawing(member)
        rows = message.rows if message.rows is not None else point_rows(message.bin, self.limits)
        live = d.add(rows)
        s = d.current_stroke
        feedback = LiveFeedback(message.seq, s, live.target, live.progress, live.deviation,
                                live.off_path, live.points)  # fmt: skip
        relay = self.history.send(
            ROOM, lambda r: PeerPoints(r, member.user, s, message.bin, rows), member.user
        )
        return [direct(member.user, feedback), relay]

    def _stroke_end(self, member: Member, message: StrokeEnd, now: float) -> list[Output]:
        d = self._drawing(member)
        s = d.current_stroke
        score, rows = d.end()
        items = tuple(FeedbackItem(f.code, f.message, f.target) for f in score.feedback)
        return [
            StrokeRecord(member.user, self.step, s, rows, score, room=self.room),
            self.history.send(member.user, lambda r: StrokeScored(
                r, self.step, s, score.target, score.accuracy, score.quality, score.total, items)),
            self.history.send(
                ROOM, lambda r: PeerStrokeEnd(r, member.user, s, score.total), member.user
            ),
        ]  # fmt: skip

    def _undo(self, member: Member, message: Undo, now: float) -> list[Output]:
        stroke = self._drawing(member).undo()
        if stroke is None:
            return []
        relay = self.history.send(ROOM, lambda r: PeerUndo(r, member.user, stroke), member.user)
        return [relay, self._log("undo", member.user, now, stroke=stroke)]

    def _retry(self, member: Member, message: Retry, now: float) -> list[Output]:
        d = self._drawing(member)
        if d.done:
            raise ProtocolError("bad_state", "retry: you ended this step; wait for the others")
        d.retry()
        relay = self.history.send(ROOM, lambda r: PeerRetry(r, member.user, self.step), member.user)
        return [relay, self._log("retry", member.user, now)]

    def _hint(self, member: Member, message: HintRequest, now: float) -> list[Output]:
        text = self.lesson.steps[self.step].hint_text
        sent = self.history.send(member.user, lambda r: HintText(r, self.step, text))
        return [sent, self._log("hint_shown", member.user, now)]

    def _step_end(self, member: Member, message: StepEnd, now: float) -> list[Output]:
        if self._drawing(member).done:
            raise ProtocolError("bad_state", "step_end: you already ended this step")
        out = self._finish_drawing(member, now, timed_out=False)
        return [*out, self._presence(), *self._close_step_if_done(now)]

    _HANDLERS: Final[dict[type[Message], Callable[..., list[Output]]]] = {
        StartRoom: _start_room,
        EndRoom: _end_room,
        LeaveRoom: _leave_room,
        StrokeBegin: _stroke_begin,
        Points: _points,
        StrokeEnd: _stroke_end,
        Undo: _undo,
        Retry: _retry,
        HintRequest: _hint,
        StepEnd: _step_end,
    }

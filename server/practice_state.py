"""A solo practice attempt as a pure state machine.

Theory of operation: the I/O layer opens an attempt when a client sends `start_attempt` (it
resolves the lesson, checks access and allocates the attempt id), then feeds every later message
of that client to `handle(message, now)` and carries out the outputs it returns. The attempt walks
the lesson's steps:

    drawing --step_end--> reviewing --next_step--> drawing (next step) ... --> finished
       ^                      |
       +-------retry----------+

`TRANSITIONS` below is the whole machine: which message is allowed in which state and the state
after it. A message not in the table is refused with `bad_state` and changes nothing. Every
sequenced message goes through `ClientSeq` first (a resend is acknowledged, not applied), and
every applied one is acknowledged with `ack`. Messages to the client are numbered (`rseq`) and
kept in a `RoomHistory`, so a client that reconnects resumes exactly as it would in a room.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Final

from lessons import Lesson
from scoring import Device
from server.client_seq import ClientSeq
from server.codec import point_rows
from server.drawing import StepDrawing, step_score
from server.outputs import (
    AttemptRecord,
    Log,
    LogKind,
    Output,
    Resend,
    StepRecord,
    StrokeRecord,
    direct,
    refusal,
)
from server.protocol import (
    Ack,
    AttemptResult,
    AttemptStarted,
    FeedbackItem,
    HintText,
    LiveFeedback,
    Message,
    NextStep,
    Points,
    Resumed,
    Retry,
    Snapshot,
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


class Phase(StrEnum):
    DRAWING = "drawing"
    REVIEWING = "reviewing"
    FINISHED = "finished"


D, R = Phase.DRAWING, Phase.REVIEWING
# (state, message type) -> state after it. next_step after the last step goes to FINISHED.
TRANSITIONS: Final[dict[tuple[Phase, str], Phase]] = {
    (D, "stroke_begin"): D,
    (D, "points"): D,
    (D, "stroke_end"): D,
    (D, "undo"): D,
    (D, "retry"): D,
    (D, "hint"): D,
    (D, "step_end"): R,
    (R, "retry"): D,
    (R, "hint"): R,
    (R, "next_step"): D,
}


class PracticeAttempt:
    def __init__(
        self,
        attempt: int,
        user: int,
        lesson: Lesson,
        device: Device,
        now: float,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.attempt = attempt
        self.user = user
        self.lesson = lesson
        self.device = device
        self.limits = limits
        self.phase = Phase.DRAWING
        self.seq = ClientSeq()
        self.history = RoomHistory(limits.history_messages, limits.history_bytes)
        self.results: dict[int, StepScore] = {}
        self.drawing = self._new_step(0)
        self.started_at = now

    # -- the I/O layer's entry points ------------------------------------------------------

    def start(self, now: float) -> list[Output]:
        out: list[Output] = [
            self.history.send(
                self.user,
                lambda r: AttemptStarted(r, self.attempt, self.lesson.slug, len(self.lesson.steps)),
            )
        ]
        return out + self._step_started(now)

    def handle(self, message: Message, now: float) -> list[Output]:
        seq: int | None = getattr(message, "seq", None)
        try:
            if seq is None:
                raise ProtocolError("bad_state", f"{message.TYPE}: not inside an attempt")
            if not self.seq.admit(seq):
                return [direct(self.user, Ack(self.seq.applied))]
            after = TRANSITIONS.get((self.phase, message.TYPE))
            if after is None:
                raise ProtocolError("bad_state", f"{message.TYPE}: not allowed while {self.phase}")
            out = self._HANDLERS[type(message)](self, message, now)
            if self.phase is not Phase.FINISHED:
                self.phase = after
        except ProtocolError as error:
            return refusal(self.user, error, seq)
        if message.TYPE != "points":  # a batch's feedback carries its ack
            out.append(direct(self.user, Ack(self.seq.applied)))
        return out

    def resume(self, last_rseq: int) -> list[Output]:
        frames = self.history.since(last_rseq, self.user)
        if frames is None:
            snapshot = self.history.send(
                self.user,
                lambda r: Snapshot(
                    r, str(self.phase), self.drawing.step, len(self.drawing.stroke_ids),
                    self.drawing.done, (), tuple(self.results[k] for k in sorted(self.results)),
                ),
            )  # fmt: skip
            return [direct(self.user, Resumed(self.seq.applied, True, 0)), snapshot]
        resumed = direct(self.user, Resumed(self.seq.applied, False, len(frames)))
        return [resumed, Resend(self.user, tuple(frames))]

    def abandon(self, now: float) -> list[Output]:
        if self.phase is Phase.FINISHED:
            return []
        self.phase = Phase.FINISHED
        total, passed = self._totals()
        return [AttemptRecord(self.user, self.attempt, self.lesson.slug, total, passed, True, now)]

    # -- handlers ---------------------------------------------------------------------------

    def _new_step(self, index: int) -> StepDrawing:
        spec = self.lesson.steps[index].to_spec()
        return StepDrawing(index, spec, self.device, self.limits)

    def _log(self, kind: LogKind, now: float, **data: object) -> Log:
        return Log(kind, self.user, now, self.drawing.step, attempt=self.attempt, data=dict(data))

    def _step_started(self, now: float) -> list[Output]:
        hint = bool(self.lesson.steps[self.drawing.step].hint_text)
        started = self.history.send(self.user, lambda r: StepStarted(r, self.drawing.step, hint))
        return [started, self._log("start_step", now)]

    def _stroke_begin(self, message: StrokeBegin, now: float) -> list[Output]:
        self.drawing.begin()
        return []

    def _points(self, message: Points, now: float) -> list[Output]:
        rows = message.rows if message.rows is not None else point_rows(message.bin, self.limits)
        live = self.drawing.add(rows)
        feedback = LiveFeedback(
            message.seq,
            self.drawing.current_stroke,
            live.target,
            live.progress,
            live.deviation,
            live.off_path,
            live.points,
        )
        return [direct(self.user, feedback)]

    def _stroke_end(self, message: StrokeEnd, now: float) -> list[Output]:
        stroke = self.drawing.current_stroke
        score, rows = self.drawing.end()
        step = self.drawing.step
        scored = self.history.send(
            self.user,
            lambda r: StrokeScored(
                r, step, stroke, score.target, score.accuracy, score.quality, score.total,
                tuple(FeedbackItem(f.code, f.message, f.target) for f in score.feedback),
            ),
        )  # fmt: skip
        record = StrokeRecord(self.user, step, stroke, rows, score, attempt=self.attempt)
        return [record, scored]

    def _undo(self, message: Undo, now: float) -> list[Output]:
        stroke = self.drawing.undo()
        return [self._log("undo", now, stroke=stroke)]

    def _retry(self, message: Retry, now: float) -> list[Output]:
        self.drawing.retry()
        self.results.pop(self.drawing.step, None)
        return [self._log("retry", now), *self._step_started(now)]

    def _hint(self, message: HintRequest, now: float) -> list[Output]:
        step = self.drawing.step
        text = self.lesson.steps[step].hint_text
        return [self.history.send(self.user, lambda r: HintText(r, step, text)),
                self._log("hint_shown", now)]  # fmt: skip

    def _step_end(self, message: StepEnd, now: float) -> list[Output]:
        result = self.drawing.finish()
        score = step_score(self.drawing.step, result, len(self.drawing.stroke_ids), False)
        self.results[self.drawing.step] = score
        record = StepRecord(self.user, self.drawing.step, result, False, attempt=self.attempt)
        sent = self.history.send(self.user, lambda r: StepResult(r, score))
        return [record, sent]  # the StepRecord is the step's finish_step event too

    def _next_step(self, message: NextStep, now: float) -> list[Output]:
        following = self.drawing.step + 1
        if following < len(self.lesson.steps):
            self.drawing = self._new_step(following)
            return self._step_started(now)
        self.phase = Phase.FINISHED
        total, passed = self._totals()
        steps = tuple(self.results[k] for k in sorted(self.results))
        sent = self.history.send(
            self.user, lambda r: AttemptResult(r, self.attempt, total, passed, steps)
        )
        record = AttemptRecord(self.user, self.attempt, self.lesson.slug, total, passed, False, now)
        return [record, sent]

    def _totals(self) -> tuple[float, bool]:
        n = len(self.lesson.steps)
        total = sum(s.total for s in self.results.values()) / n
        passed = len(self.results) == n and all(s.passed for s in self.results.values())
        return total, passed

    _HANDLERS: Final[dict[type[Message], Callable[..., list[Output]]]] = {
        StrokeBegin: _stroke_begin,
        Points: _points,
        StrokeEnd: _stroke_end,
        Undo: _undo,
        Retry: _retry,
        HintRequest: _hint,
        StepEnd: _step_end,
        NextStep: _next_step,
    }

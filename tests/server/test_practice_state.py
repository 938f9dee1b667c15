from __future__ import annotations

from drawing_data import lesson, traced

from scoring import Device
from server.codec import decode, encode
from server.outputs import AttemptRecord, Log, Output, Resend, Send, StepRecord, StrokeRecord
from server.practice_state import TRANSITIONS, Phase, PracticeAttempt
from server.protocol import (
    Ack,
    AttemptResult,
    Error,
    Hint,
    LiveFeedback,
    Message,
    NextStep,
    Points,
    Resumed,
    Retry,
    Snapshot,
    StepEnd,
    StepResult,
    StrokeBegin,
    StrokeEnd,
    StrokeScored,
    Undo,
)
from server.protocol_errors import DEFAULT_LIMITS, Limits


def sent(outputs: list[Output]) -> list[Message]:
    return [o.message for o in outputs if isinstance(o, Send)]


def errors(outputs: list[Output]) -> list[str]:
    return [m.code for m in sent(outputs) if isinstance(m, Error)]


def attempt(limits: Limits = DEFAULT_LIMITS) -> PracticeAttempt:
    a = PracticeAttempt(7, 1, lesson(), Device(), now=0.0, limits=limits)
    a.start(0.0)
    return a


def draw_step(a: PracticeAttempt, seq: int, step: int) -> tuple[int, list[Output]]:
    out: list[Output] = []
    for message in (StrokeBegin(seq), Points.of(seq + 1, traced(a.lesson, step)),
                    StrokeEnd(seq + 2), StepEnd(seq + 3)):  # fmt: skip
        out += a.handle(decode(encode(message)), 1.0)
    return seq + 4, out


def test_practice_full_attempt_reaches_attempt_result() -> None:
    a = attempt()
    seq = 1
    for step in range(len(a.lesson.steps)):
        seq, out = draw_step(a, seq, step)
        assert not errors(out)
        result = next(m for m in sent(out) if isinstance(m, StepResult))
        assert result.score.step == step and result.score.strokes == 1
        out = a.handle(NextStep(seq), 2.0)
        seq += 1
    assert a.phase is Phase.FINISHED
    final = next(m for m in sent(out) if isinstance(m, AttemptResult))
    assert final.attempt == 7 and len(final.steps) == len(a.lesson.steps)
    record = next(o for o in out if isinstance(o, AttemptRecord))
    assert record.total == final.total and not record.abandoned


def test_practice_stroke_gives_feedback_score_and_record() -> None:
    a = attempt()
    out = a.handle(StrokeBegin(1), 1.0) + a.handle(Points.of(2, traced(a.lesson, 0)), 1.0)
    feedback = next(m for m in sent(out) if isinstance(m, LiveFeedback))
    assert feedback.progress > 0.9 and not feedback.off_path
    out = a.handle(StrokeEnd(3), 1.0)
    assert next(m for m in sent(out) if isinstance(m, StrokeScored)).total > 0.9
    record = next(o for o in out if isinstance(o, StrokeRecord))
    assert record.rows.shape == (30, 6) and record.attempt == 7


def test_practice_duplicate_batch_applied_once_and_acked_again() -> None:
    a = attempt()
    a.handle(StrokeBegin(1), 1.0)
    batch = Points.of(2, traced(a.lesson, 0)[:10])
    first = a.handle(batch, 1.0)
    again = a.handle(batch, 1.0)
    assert sent(again) == [Ack(2)]
    assert any(isinstance(m, LiveFeedback) for m in sent(first))
    assert a.drawing.scorer.result().strokes == ()  # still one open stroke
    out = a.handle(StrokeEnd(3), 1.0)
    record = next(o for o in out if isinstance(o, StrokeRecord))
    assert record.rows.shape[0] == 10


def test_practice_seq_gap_is_refused_without_applying() -> None:
    a = attempt()
    assert errors(a.handle(StrokeBegin(5), 1.0)) == ["bad_seq"]
    assert not a.drawing.drawing


def test_practice_out_of_state_messages_get_bad_state() -> None:
    a = attempt()
    assert errors(a.handle(StrokeEnd(1), 1.0)) == ["bad_state"]
    assert errors(a.handle(NextStep(2), 1.0)) == ["bad_state"]  # not reviewing yet
    assert errors(a.handle(Points.of(3, traced(a.lesson, 0)), 1.0)) == ["bad_state"]
    assert (Phase.DRAWING, "next_step") not in TRANSITIONS
    # a refused message uses up its seq: the next one goes through
    assert not errors(a.handle(StrokeBegin(4), 1.0))


def test_practice_undo_retry_hint_are_logged() -> None:
    a = attempt()
    seq, _ = draw_step(a, 1, 0)
    retry = a.handle(Retry(seq), 1.0)
    assert a.phase is Phase.DRAWING and 0 not in a.results
    a.handle(StrokeBegin(seq + 1), 1.0)
    a.handle(Points.of(seq + 2, traced(a.lesson, 0)), 1.0)
    a.handle(StrokeEnd(seq + 3), 1.0)
    undo = a.handle(Undo(seq + 4), 1.0)
    hint = a.handle(Hint(seq + 5), 1.0)
    kinds = [o.kind for o in retry + undo + hint if isinstance(o, Log)]
    assert kinds == ["retry", "start_step", "undo", "hint_shown"]
    assert a.drawing.stroke_ids == []
    out = a.handle(StepEnd(seq + 6), 1.0)
    assert next(o for o in out if isinstance(o, StepRecord)).result.passed is False


def test_practice_too_many_strokes_and_points() -> None:
    a = attempt(Limits(max_strokes_per_step=1, max_points_per_stroke=40))
    a.handle(StrokeBegin(1), 1.0)
    a.handle(Points.of(2, traced(a.lesson, 0)), 1.0)
    assert errors(a.handle(Points.of(3, traced(a.lesson, 0)), 1.0)) == ["too_many_points"]
    a.handle(StrokeEnd(4), 1.0)
    assert errors(a.handle(StrokeBegin(5), 1.0)) == ["too_many_strokes"]


def test_practice_resume_replays_missed_or_snapshots() -> None:
    a = attempt(Limits(history_messages=3))
    seq, _ = draw_step(a, 1, 0)
    out = a.resume(a.history.rseq - 1)
    assert sent(out) == [Resumed(seq - 1, False, 1)]
    resend = next(o for o in out if isinstance(o, Resend))
    assert isinstance(decode(resend.frames[0], sent_by="server"), StepResult)
    out = a.resume(0)
    assert sent(out)[0] == Resumed(seq - 1, True, 0)
    snapshot = sent(out)[1]
    assert isinstance(snapshot, Snapshot) and snapshot.step_done and len(snapshot.results) == 1


def test_practice_abandon_records_once() -> None:
    a = attempt()
    assert [o.abandoned for o in a.abandon(3.0) if isinstance(o, AttemptRecord)] == [True]
    assert a.abandon(4.0) == []

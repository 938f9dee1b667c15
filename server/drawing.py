"""One player drawing one step: the live scorer, the strokes' raw rows, and the drawing limits.

Shared by solo attempts and rooms. Out-of-order calls (points with no stroke begun, a second
stroke_begin, anything after the step ended) raise `ProtocolError("bad_state")`; the limits on
points per stroke and strokes per step raise their own codes. The scorer is only called with a
batch the codec has already checked, so it never sees NaN or a ragged row.
"""

from __future__ import annotations

import numpy as np

from scoring import Device, LiveScorer, StepSpec, StrokeScore
from scoring import LiveFeedback as ScorerFeedback
from scoring import StepResult as ScoredStep
from server.protocol import POINT_COLUMNS, POINT_DTYPE, FeedbackItem, PointRows, StepScore
from server.protocol_errors import Limits, ProtocolError


class StepDrawing:
    def __init__(self, step: int, spec: StepSpec, device: Device, limits: Limits) -> None:
        self.step = step
        self.limits = limits
        self.scorer = LiveScorer(spec, device)
        self.done = False
        self.timed_out = False
        self.next_stroke_id = 0  # ids keep counting through undo, so peers can tell strokes apart
        self.stroke_ids: list[int] = []  # ids of the kept strokes
        self._batches: list[PointRows] = []
        self._points = 0

    @property
    def drawing(self) -> bool:
        return self.scorer.drawing

    @property
    def current_stroke(self) -> int:
        return self.next_stroke_id - 1

    def _require_open(self, what: str) -> None:
        if self.done:
            raise ProtocolError("bad_state", f"{what}: step {self.step} has ended")

    def begin(self) -> int:
        self._require_open("stroke_begin")
        if self.drawing:
            raise ProtocolError("bad_state", "stroke_begin: a stroke is already being drawn")
        if len(self.stroke_ids) >= self.limits.max_strokes_per_step:
            raise ProtocolError(
                "too_many_strokes", f"stroke_begin: step allows {self.limits.max_strokes_per_step}"
            )
        self.scorer.begin_stroke()
        self._batches = []
        self._points = 0
        self.next_stroke_id += 1
        return self.current_stroke

    def add(self, rows: PointRows) -> ScorerFeedback:
        self._require_open("points")
        if not self.drawing:
            raise ProtocolError("bad_state", "points: no stroke begun")
        if self._points + len(rows) > self.limits.max_points_per_stroke:
            raise ProtocolError(
                "too_many_points",
                f"points: a stroke allows {self.limits.max_points_per_stroke} points",
            )
        self._points += len(rows)
        self._batches.append(rows)
        return self.scorer.add_points(rows)

    def end(self) -> tuple[StrokeScore, PointRows]:
        self._require_open("stroke_end")
        if not self.drawing:
            raise ProtocolError("bad_state", "stroke_end: no stroke begun")
        score = self.scorer.end_stroke()
        self.stroke_ids.append(self.current_stroke)
        rows = (
            np.concatenate(self._batches)
            if self._batches
            else np.empty((0, len(POINT_COLUMNS)), POINT_DTYPE)
        )
        self._batches = []
        return score, rows

    def undo(self) -> int | None:
        """Take back the stroke being drawn, else the last kept one; its id (None: nothing)."""
        self._require_open("undo")
        if self.drawing:
            self.scorer.undo()
            self._batches = []
            return self.current_stroke
        if not self.stroke_ids:
            return None
        self.scorer.undo()
        return self.stroke_ids.pop()

    def retry(self) -> None:
        self.scorer.reset()
        self.stroke_ids = []
        self._batches = []
        self.done = False
        self.timed_out = False

    def finish(self, timed_out: bool = False) -> ScoredStep:
        """End the step (abandoning a stroke in progress) and score it."""
        if self.drawing:
            self.scorer.undo()
        self.done = True
        self.timed_out = timed_out
        return self.scorer.result()

    def score(self) -> StepScore:
        return step_score(self.step, self.scorer.result(), len(self.stroke_ids), self.timed_out)


def step_score(step: int, result: ScoredStep, strokes: int, timed_out: bool) -> StepScore:
    return StepScore(
        step=step,
        accuracy=result.accuracy,
        quality=result.quality,
        total=result.total,
        passed=result.passed,
        strokes=strokes,
        timed_out=timed_out,
        feedback=tuple(FeedbackItem(f.code, f.message, f.target) for f in result.feedback),
    )

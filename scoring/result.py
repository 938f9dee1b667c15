"""What the scorer answers: per stroke, per step, and live while drawing."""

from __future__ import annotations

from dataclasses import dataclass, field

from scoring.feedback import Feedback


@dataclass(frozen=True, slots=True)
class StrokeScore:
    """One drawn stroke's score against the target it was matched to (None: an extra stroke)."""

    index: int
    target: int | None
    accuracy: float
    quality: float
    total: float
    metrics: dict[str, float]
    feedback: tuple[Feedback, ...]


@dataclass(frozen=True, slots=True)
class StepResult:
    """A step's score. accuracy, quality and total lie in 0..1; total blends the two."""

    accuracy: float
    quality: float
    total: float
    passed: bool
    metrics: dict[str, float]
    feedback: tuple[Feedback, ...]
    strokes: tuple[StrokeScore, ...] = ()
    assignment: tuple[int | None, ...] = ()
    scorer_version: str = field(default="")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.feedback)


@dataclass(frozen=True, slots=True)
class LiveFeedback:
    """What the learner sees while drawing: how far along, how far off, whether off the path."""

    target: int
    progress: float
    deviation: float
    off_path: bool
    points: int

"""A lesson as the bots draw it: each step's target polylines and pressure profile, read from
`GET /api/lessons/{slug}` (docs/api.md) and checked, since it comes from the network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from inkroom_client.errors import InkroomClientError
from inkroom_client.strokes import XY

MAX_STEPS: Final = 1_000
MAX_TARGETS: Final = 256
MAX_TARGET_POINTS: Final = 10_000


@dataclass(frozen=True)
class StepPlan:
    targets: list[XY]
    pressure_profile: Any


class LessonError(InkroomClientError):
    """The lesson the server sent cannot be drawn (missing, malformed or absurd targets)."""


def lesson_plan(answer: dict[str, Any]) -> list[StepPlan]:
    """The steps of `GET /api/lessons/{slug}`'s answer, checked (it comes from the network)."""
    try:
        steps = answer["lesson"]["steps"]
        if not isinstance(steps, list) or not 0 < len(steps) <= MAX_STEPS:
            raise LessonError("the lesson has no steps, or too many")
        plans = []
        for step in steps:
            targets = step["targets"]
            if not isinstance(targets, list) or not 0 < len(targets) <= MAX_TARGETS:
                raise LessonError("a step without targets, or too many")
            arrays = [np.asarray(t, dtype=np.float64) for t in targets]
            for a in arrays:
                if a.ndim != 2 or a.shape[1] != 2 or not 2 <= len(a) <= MAX_TARGET_POINTS:
                    raise LessonError("a target is not a polyline of 2 to 10,000 points")
                if not np.isfinite(a).all():
                    raise LessonError("a target holds NaN or infinity")
            plans.append(StepPlan(arrays, step.get("pressure_profile")))
        return plans
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise LessonError(f"malformed lesson: {exc!r}") from None

"""Point batches along a lesson step's target, shared by the state machine tests."""

from __future__ import annotations

import numpy as np

from lessons import Lesson, load_catalog
from server.protocol import PointRows

_CATALOG = load_catalog()


def lesson(slug: str = "steady-lines") -> Lesson:
    return _CATALOG.lesson(slug)


def traced(lesson: Lesson, step: int, n: int = 30) -> PointRows:
    """A clean stroke along the step's first target, in the wire layout."""
    target = lesson.steps[step].targets[0]
    along = np.linspace(0.0, 1.0, n)
    seg = np.hypot(*np.diff(target, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg))) / seg.sum()
    rows = np.zeros((n, 6), np.float32)
    rows[:, 0] = np.interp(along, cum, target[:, 0])
    rows[:, 1] = np.interp(along, cum, target[:, 1])
    rows[:, 2] = np.arange(n) * 8.0
    rows[:, 3] = 0.5
    return rows

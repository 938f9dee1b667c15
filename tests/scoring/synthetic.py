"""Synthetic strokes for the scoring tests: smooth, human-like, with faults on demand."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from scoring import Stroke

Array = npt.NDArray[np.float64]


def min_jerk(n: int) -> Array:
    """Progress 0..1 along a minimum-jerk profile: how a practised hand moves."""
    tau = np.linspace(0.0, 1.0, n)
    return np.asarray(10 * tau**3 - 15 * tau**4 + 6 * tau**5, dtype=np.float64)


def along(path: Array, progress: Array) -> tuple[Array, Array]:
    """Points at the given arc-length fractions of a polyline."""
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    at = progress * cum[-1]
    return np.interp(at, cum, path[:, 0]), np.interp(at, cum, path[:, 1])


def stroke_on(
    path: Array,
    n: int = 120,
    duration: float = 900.0,
    *,
    progress: Array | None = None,
    offset: tuple[float, float] = (0.0, 0.0),
    pressure: Array | float | None = None,
    tilt: tuple[Array | float, Array | float] | None = None,
) -> Stroke:
    """A smooth stroke along `path`, drawn with a minimum-jerk profile unless told otherwise."""
    prog = min_jerk(n) if progress is None else progress
    x, y = along(path, prog)
    t = np.linspace(0.0, duration, len(prog))
    p = None if pressure is None else np.broadcast_to(pressure, x.shape).astype(float)
    tx = ty = None
    if tilt is not None:
        tx = np.broadcast_to(tilt[0], x.shape).astype(float)
        ty = np.broadcast_to(tilt[1], x.shape).astype(float)
    return Stroke(x + offset[0], y + offset[1], t, p, tx, ty)


def line(x0: float, y0: float, x1: float, y1: float, n: int = 2) -> Array:
    return np.column_stack((np.linspace(x0, x1, n), np.linspace(y0, y1, n)))


def circle(cx: float, cy: float, r: float, n: int = 65) -> Array:
    a = np.linspace(0.0, 2.0 * np.pi, n)
    return np.column_stack((cx + r * np.cos(a), cy + r * np.sin(a)))

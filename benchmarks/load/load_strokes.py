"""Stroke shapes for the load bots: real human strokes, resampled to the stylus rate.

Each stroke of the MMG set (`shared/data/README.md`) is cleaned of its coarse-timer artefacts
(t made non-decreasing, repeats dropped), resampled at `rate_hz` along its own real time, so
the bot's speed profile is a person's, and mapped onto a target polyline by the similarity that
sends the stroke's first and last points to the target's ends (a closed stroke, whose ends
nearly meet, is fitted by its bounding box instead). Without the data set, strokes are
synthesised: a minimum-jerk sweep along the target with a little tremor.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import numpy as np
import numpy.typing as npt
from inkroom_client.mmg import data_path, gestures

Rows = npt.NDArray[np.float32]
Shape = npt.NDArray[np.float64]  # (n, 2): x, y in the data set's pixels, at rate_hz

MIN_POINTS: Final = 12
MAX_POINTS: Final = 2_000


def _resample(x: list[float], y: list[float], t: list[float], rate_hz: float) -> Shape | None:
    tt = np.maximum.accumulate(np.asarray(t, dtype=np.float64))
    keep = np.concatenate(([True], np.diff(tt) > 0))  # one point per timer tick
    tt, xs, ys = tt[keep], np.asarray(x, np.float64)[keep], np.asarray(y, np.float64)[keep]
    if len(tt) < 2:
        return None
    at = np.arange(tt[0], tt[-1], 1000.0 / rate_hz)
    if not MIN_POINTS <= len(at) <= MAX_POINTS:
        return None
    return np.column_stack((np.interp(at, tt, xs), np.interp(at, tt, ys)))


def load_shapes(rate_hz: float, limit: int = 4_000) -> tuple[list[Shape], str]:
    """Real stroke shapes at `rate_hz` and where they came from ("synthetic" without data)."""
    path = data_path()
    if not path.is_file():
        return [], "synthetic"
    shapes: list[Shape] = []
    for gesture in gestures(path):
        if gesture.get("input") != "pen":  # the bots play a stylus
            continue
        for stroke in gesture["strokes"]:
            shape = _resample(stroke["x"], stroke["y"], stroke["t"], rate_hz)
            if shape is not None:
                shapes.append(shape)
        if len(shapes) >= limit:
            break
    return shapes, path.name


def _onto(shape: Shape, target: npt.NDArray[np.float64]) -> Shape:
    start, end = shape[0], shape[-1]
    chord = end - start
    lo, hi = shape.min(axis=0), shape.max(axis=0)
    span = float(np.hypot(*(hi - lo))) or 1.0
    if np.hypot(*chord) > 0.2 * span:  # open stroke: its ends onto the target's ends
        a = complex(*chord)
        b = complex(*(target[-1] - target[0]))
        z = (shape[:, 0] - start[0]) + 1j * (shape[:, 1] - start[1])
        w = z * (b / a) + complex(*target[0])
        return np.column_stack((w.real, w.imag))
    t_lo, t_hi = target.min(axis=0), target.max(axis=0)
    scale = float(np.hypot(*(t_hi - t_lo))) / span
    fitted: Shape = (shape - (lo + hi) / 2) * scale + (t_lo + t_hi) / 2
    return fitted


def _synthetic(target: npt.NDArray[np.float64], rng: np.random.Generator) -> Shape:
    seg = np.hypot(*np.diff(target, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    n = int(rng.integers(120, 240))
    tau = np.linspace(0.0, 1.0, n)
    at = (10 * tau**3 - 15 * tau**4 + 6 * tau**5) * cum[-1]
    xy = np.column_stack((np.interp(at, cum, target[:, 0]), np.interp(at, cum, target[:, 1])))
    return xy + rng.normal(0.0, 1.5, xy.shape)


def stroke_rows(
    shapes: list[Shape], target: npt.NDArray[np.float64], rate_hz: float, seed: int
) -> Iterator[Rows]:
    """An endless supply of wire rows (x, y, t, pressure, tilt_x, tilt_y) along `target`."""
    rng = np.random.default_rng(seed)
    while True:
        if shapes:
            xy = _onto(shapes[int(rng.integers(len(shapes)))], target)
        else:
            xy = _synthetic(target, rng)
        n = len(xy)
        rows = np.empty((n, 6), np.float32)
        rows[:, :2] = xy
        rows[:, 2] = np.arange(n) * (1000.0 / rate_hz)
        rows[:, 3] = 0.5 + 0.3 * np.sin(np.linspace(0.0, np.pi, n))
        rows[:, 4] = 20.0
        rows[:, 5] = 0.0
        yield rows

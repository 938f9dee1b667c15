"""Slow, obvious reference versions of the scoring kernels, for the kernel tests.

Plain Python loops over plain floats: no grids, no diagonals, no buffers to rotate. Each
function follows the docstring of the kernel it stands for, not the kernel's code.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from scoring import constants as C
from scoring.types import FloatArray

# Un-jitted kernels (the coverage run) are pure Python and some 100x slower: fewer
# examples there still run every line, and keep that run well under a minute too.
# INKROOM_KERNEL_EXAMPLES=5000 makes a long soak of the same tests.
SLOW = bool(getattr(numba.config, "DISABLE_JIT", 0))
EXAMPLES = int(os.environ.get("INKROOM_KERNEL_EXAMPLES", "15" if SLOW else "80"))
fast = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
seeds = st.integers(0, 2**32 - 1)


def rng_of(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- elastic distances ----------------------------------------------------------------------


def dp_distance(a: FloatArray, b: FloatArray, combine: str, squared: bool = False) -> float:
    """The full (n + 1) x (m + 1) dynamic programme: "sum" is DTW, "max" discrete Frechet."""
    n, m = len(a), len(b)
    big = [[math.inf] * (m + 1) for _ in range(n + 1)]
    big[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c = math.dist(a[i - 1], b[j - 1])
            if squared:
                c = c * c
            best = min(big[i - 1][j], big[i][j - 1], big[i - 1][j - 1])
            big[i][j] = c + best if combine == "sum" else max(c, best)
    return big[n][m]


def dtw(a: FloatArray, b: FloatArray, metric: str = "euclidean") -> float:
    if metric == "sqeuclidean":
        return math.sqrt(dp_distance(a, b, "sum", squared=True))
    return dp_distance(a, b, "sum")


def frechet(a: FloatArray, b: FloatArray) -> float:
    return dp_distance(a, b, "max")


# --- polylines --------------------------------------------------------------------------------


def cumulative(xy: FloatArray) -> list[float]:
    """Arc length at each vertex."""
    out = [0.0]
    for k in range(1, len(xy)):
        out.append(out[-1] + math.dist(xy[k - 1], xy[k]))
    return out


def length(xy: FloatArray) -> float:
    return cumulative(xy)[-1] if len(xy) else 0.0


def closest_on_segment(
    p: Sequence[float], a: Sequence[float], b: Sequence[float]
) -> tuple[float, float]:
    """(distance from p to segment ab, parameter 0..1 of the nearest point)."""
    vx, vy = b[0] - a[0], b[1] - a[1]
    vv = vx * vx + vy * vy
    u = 0.0 if vv == 0.0 else ((p[0] - a[0]) * vx + (p[1] - a[1]) * vy) / vv
    u = min(max(u, 0.0), 1.0)
    return math.hypot(p[0] - (a[0] + u * vx), p[1] - (a[1] + u * vy)), u


@dataclass(frozen=True)
class Projection:
    distance: float
    arc: float
    # every arc position whose distance ties (to 1e-9 relative) with the nearest
    tied_arcs: tuple[float, ...]

    @property
    def unique(self) -> bool:
        spread = max(self.tied_arcs) - min(self.tied_arcs)
        return spread <= 1e-9 * max(1.0, abs(self.arc))


def project(p: Sequence[float], txy: FloatArray) -> Projection:
    """Brute force over every segment: the nearest point's distance and arc length."""
    cum = cumulative(txy)
    found = []
    for k in range(len(txy) - 1):
        d, u = closest_on_segment(p, txy[k], txy[k + 1])
        found.append((d, cum[k] + u * (cum[k + 1] - cum[k])))
    best = min(d for d, _ in found)
    first = next(s for d, s in found if d == best)
    slack = 1e-9 * max(best, 1e-12 * max(1.0, abs(p[0]), abs(p[1])))
    tied = tuple(s for d, s in found if d <= best + slack)
    return Projection(best, first, tied)


def resample(xy: FloatArray, k: int) -> FloatArray:
    """k points evenly spaced by arc length; all at the start if there is no length."""
    cum = cumulative(xy)
    total = cum[-1]
    out = np.empty((k, 2))
    if total <= 0.0 or k < 2:
        out[:] = xy[0]
        return out
    for j in range(k):
        s = total * j / (k - 1)
        for i in range(len(xy) - 1):
            if cum[i + 1] > cum[i] and (cum[i + 1] >= s or i == len(xy) - 2):
                u = min(max((s - cum[i]) / (cum[i + 1] - cum[i]), 0.0), 1.0)
                out[j] = xy[i] + u * (xy[i + 1] - xy[i])
                break
        else:  # the last segments have no length: s is the end point
            out[j] = xy[-1]
    return out


INSIDE_SLOPE = C.INSIDE_SLOPE


def soft(err: float) -> float:
    """Soft score of an error in tolerances (constants.py's comment gives the formula)."""
    if err <= 1.0:
        return 1.0 - INSIDE_SLOPE * max(err, 0.0)
    return (1.0 - INSIDE_SLOPE) * float(2.0 ** (-((err - 1.0) ** 2)))


def arc_step(s0: float, s1: float, total: float, closed: bool) -> float:
    d = s1 - s0
    if closed:
        if d > total / 2:
            d -= total
        elif d < -total / 2:
            d += total
    return d


def swept_bins(s0: float, s1: float, total: float, closed: bool, nb: int) -> set[int]:
    """Bins (of nb equal parts of the arc length) from s0 to s1, the short way if closed."""
    if total <= 0.0:
        return set()
    d = arc_step(s0, s1, total, closed)
    lo = min(s0, s0 + d)
    # A position on a bin edge belongs to either bin; (nb / total) is grouped as the kernel
    # groups it, so both round an edge the same way (a target vertex often lies on one).
    scale = nb / total
    first = math.floor(lo * scale)
    last = math.floor((lo + abs(d)) * scale)
    if closed:
        return {i % nb for i in range(first, min(last, first + nb - 1) + 1)}
    return {min(max(i, 0), nb - 1) for i in range(first, last + 1)}


def frame(strokes: Sequence[FloatArray], samples: int) -> tuple[float, float, float]:
    """Centroid and RMS radius of the strokes resampled in proportion to their lengths."""
    lengths = [length(s) for s in strokes]
    total = sum(lengths)
    points = []
    for s, ln in zip(strokes, lengths, strict=True):
        if len(s) == 0:
            continue
        k = max(2, round(samples * ln / total)) if total > 0.0 else 2
        points.extend(resample(s, k).tolist())
    if not points:
        return 0.0, 0.0, 0.0
    arr = np.array(points)
    cx, cy = float(arr[:, 0].mean()), float(arr[:, 1].mean())
    radius = math.sqrt(sum((px - cx) ** 2 + (py - cy) ** 2 for px, py in points) / len(points))
    return cx, cy, radius


# --- quality --------------------------------------------------------------------------------


def binomial_smooth(a: Sequence[float]) -> list[float]:
    weights = (1.0, 4.0, 6.0, 4.0, 1.0)
    out = list(a)
    for i in range(2, len(a) - 2):
        out[i] = sum(w * a[i + o] for w, o in zip(weights, range(-2, 3), strict=True)) / 16.0
    return out


def jitter(xy: FloatArray, tol: float) -> float:
    k = min(max(int(length(xy) / (0.5 * tol)) + 1, 8), 512)
    r = resample(xy, k)
    sx = binomial_smooth(r[:, 0].tolist())
    sy = binomial_smooth(r[:, 1].tolist())
    gaps = [(r[i, 0] - sx[i]) ** 2 + (r[i, 1] - sy[i]) ** 2 for i in range(2, k - 2)]
    return math.sqrt(sum(gaps) / len(gaps)) / tol


def position_at(x: FloatArray, y: FloatArray, t: FloatArray, tt: float) -> tuple[float, float]:
    """Linear interpolation in time; at a repeated time, the last point with that time."""
    n = len(t)
    for j in range(n - 1):
        if t[j] <= tt <= t[j + 1] and (t[j + 1] > tt or j == n - 2):
            span = t[j + 1] - t[j]
            u = 0.0 if span <= 0.0 else (tt - t[j]) / span
            return float(x[j] + u * (x[j + 1] - x[j])), float(y[j] + u * (y[j + 1] - y[j]))
    return float(x[-1]), float(y[-1])


def middle(t: Sequence[float], trim: float) -> tuple[int, int]:
    """[a, b): the points with trim <= (t - t0) / duration <= 1 - trim, at least one."""
    lo = t[0] + trim * (t[-1] - t[0])
    hi = t[-1] - trim * (t[-1] - t[0])
    inside = [i for i in range(len(t)) if lo <= t[i] <= hi]
    if not inside:
        a = next((i for i in range(len(t)) if t[i] >= lo), len(t) - 1)
        return a, a + 1
    return inside[0], inside[-1] + 1


# --- ingest ---------------------------------------------------------------------------------


def repair(
    rows: Sequence[Sequence[float]], last: tuple[float, float, float] | None = None
) -> tuple[list[list[float]], list[int], tuple[float, float, float] | None]:
    """Point by point: (kept rows, counts [nonfinite, clipped, backward, duplicate], last kept)."""
    kept: list[list[float]] = []
    counts = [0, 0, 0, 0]
    for raw in rows:
        x, y, t, p, tx, ty = (float(v) for v in raw)
        if not all(math.isfinite(v) for v in (x, y, t, p, tx, ty)):
            counts[0] += 1
            continue
        clipped = [min(max(p, 0.0), 1.0), min(max(tx, -90.0), 90.0), min(max(ty, -90.0), 90.0)]
        if clipped != [p, tx, ty]:
            counts[1] += 1
            p, tx, ty = clipped
        if last is not None:
            if t < last[2]:
                counts[2] += 1
                t = last[2]
            if (x, y, t) == last:
                counts[3] += 1
                continue
        kept.append([x, y, t, p, tx, ty])
        last = (x, y, t)
    return kept, counts, last


def spread(t: Sequence[float]) -> tuple[list[float], int]:
    """Runs of equal times spread evenly to the next distinct time (the end: median step)."""
    out = list(t)
    steps = [b - a for a, b in itertools.pairwise(t) if b > a]
    typical = float(np.median(steps)) if steps else 0.0
    moved = 0
    runs: list[list[int]] = []
    for i in range(len(t)):
        if runs and t[runs[-1][0]] == t[i]:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        if len(run) < 2:
            continue
        end = run[-1] + 1
        step = ((t[end] - t[run[0]]) if end < len(t) else typical) / len(run)
        if step <= 0.0:
            continue
        for k, i in enumerate(run[1:], start=1):
            out[i] = t[run[0]] + k * step
            moved += 1
    return out, moved

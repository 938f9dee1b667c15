"""Elastic distances between two 2-D curves: dynamic time warping and discrete Frechet.

Theory of operation: both are the same dynamic programme over the n x m grid of point
pairs, D[i, j] = combine(cost(i, j), min(D[i-1, j], D[i, j-1], D[i-1, j-1])), with
combine = + for DTW and max for Frechet. Filling the grid row by row chains every cell
on its left neighbour, so the CPU waits on each min. We fill it by anti-diagonals
instead (i + j = k): every cell of a diagonal depends only on the two diagonals before
it, so the inner loop has no carried dependency and LLVM turns it into SIMD. Three
rotating buffers indexed by i hold diagonals k-2, k-1 and k; the second curve is read
reversed so that (i, k - i) walks both arrays forwards.
"""

from __future__ import annotations

import numba
import numpy as np

from scoring._jit import kernel
from scoring.types import FloatArray

_INF = np.inf

EUCLIDEAN = 0
SQEUCLIDEAN = 1
COMBINE_SUM = 0
COMBINE_MAX = 1


@kernel
def _diagonal_dp(ax, ay, bx, by, metric, combine):
    # metric and combine are compile-time literals (numba.literally): each pair gets its
    # own specialisation, with the branches in the inner loops folded away.
    numba.literally(metric)  # type: ignore[attr-defined]
    numba.literally(combine)  # type: ignore[attr-defined]
    n = ax.shape[0]
    m = bx.shape[0]
    rbx = bx[::-1].copy()
    rby = by[::-1].copy()
    cost = np.empty(n)
    # Row k % 3 holds diagonal k, indexed by i + 1; index 0 and the slot past a
    # diagonal's end are borders that read as infinity.
    buf = np.full((3, n + 2), _INF)
    for k in range(n + m - 1):
        lo = max(0, k - m + 1)
        hi = min(n - 1, k)
        cnt = hi - lo + 1
        # Cell (i, j = k - i) reads b[j] = rb[m - 1 - k + i]. Slicing first gives LLVM
        # plain unit-stride loops over distinct arrays, which it vectorises.
        axs = ax[lo:]
        ays = ay[lo:]
        bxs = rbx[m - 1 - k + lo :]
        bys = rby[m - 1 - k + lo :]
        for t in range(cnt):
            ex = axs[t] - bxs[t]
            ey = ays[t] - bys[t]
            c = ex * ex + ey * ey
            if metric == EUCLIDEAN:
                c = np.sqrt(c)
            cost[t] = c
        d0 = buf[k % 3]
        if k == 0:
            d0[1] = cost[0]
            continue
        d1 = buf[(k - 1) % 3][lo:]
        d2 = buf[(k - 2) % 3][lo:]
        out = d0[lo + 1 :]
        # neighbours: (i-1, j) and (i, j-1) on diagonal k-1, (i-1, j-1) on diagonal k-2
        for t in range(cnt):
            x = d1[t]
            y = d1[t + 1]
            z = d2[t]
            best = x if x < y else y
            best = best if best < z else z
            c = cost[t]
            if combine == COMBINE_SUM:
                out[t] = c + best
            else:
                out[t] = c if c > best else best
        d0[lo] = _INF
        d0[hi + 2] = _INF
    return buf[(n + m - 2) % 3, n]


@kernel
def dtw_kernel(a, b, metric):
    """DTW between C-contiguous (n, 2) and (m, 2) float64 arrays (n, m >= 1)."""
    ax = a[:, 0].copy()
    ay = a[:, 1].copy()
    bx = b[:, 0].copy()
    by = b[:, 1].copy()
    if metric == SQEUCLIDEAN:
        return np.sqrt(_diagonal_dp(ax, ay, bx, by, 1, 0))
    return _diagonal_dp(ax, ay, bx, by, 0, 0)


@kernel
def frechet_kernel(a, b):
    """Discrete Frechet distance between (n, 2) and (m, 2) float64 arrays (n, m >= 1)."""
    ax = a[:, 0].copy()
    ay = a[:, 1].copy()
    return _diagonal_dp(ax, ay, b[:, 0].copy(), b[:, 1].copy(), 0, 1)


def _curve(name: str, value: object) -> FloatArray:
    arr = np.ascontiguousarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name}: expected an (n, 2) array, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains a non-finite value")
    return arr


def dtw_distance(a: object, b: object, metric: str = "euclidean") -> float:
    """DTW between two 2-D curves.

    metric "euclidean": the least sum of point distances along a warping path.
    metric "sqeuclidean": the square root of the least sum of squared distances (the
    definition dtaidistance uses).
    """
    if metric not in ("euclidean", "sqeuclidean"):
        raise ValueError(f"metric: {metric!r} is not 'euclidean' or 'sqeuclidean'")
    code = EUCLIDEAN if metric == "euclidean" else SQEUCLIDEAN
    return float(dtw_kernel(_curve("a", a), _curve("b", b), code))


def frechet_distance(a: object, b: object) -> float:
    """The discrete Frechet distance between two 2-D curves."""
    return float(frechet_kernel(_curve("a", a), _curve("b", b)))


@kernel
def shape_distances(a, b):
    """(DTW, discrete Frechet) between two short (k, 2) curves in one row-wise pass.

    For the few dozen points of the scorer's shape term, a plain row-by-row fill beats
    the diagonal sweep, whose per-diagonal set-up then dominates.
    """
    n = a.shape[0]
    m = b.shape[0]
    dp = np.full(m + 1, _INF)  # DTW, previous row
    fp = np.full(m + 1, _INF)  # Frechet, previous row
    dc = np.empty(m + 1)
    fc = np.empty(m + 1)
    dp[0] = 0.0
    fp[0] = 0.0
    for i in range(n):
        dc[0] = _INF
        fc[0] = _INF
        ax = a[i, 0]
        ay = a[i, 1]
        for j in range(m):
            ex = ax - b[j, 0]
            ey = ay - b[j, 1]
            c = np.sqrt(ex * ex + ey * ey)
            x = dp[j]
            y = dp[j + 1]
            z = dc[j]
            best = x if x < y else y
            best = best if best < z else z
            dc[j + 1] = c + best
            x = fp[j]
            y = fp[j + 1]
            z = fc[j]
            best = x if x < y else y
            best = best if best < z else z
            fc[j + 1] = c if c > best else best
        if i == 0:
            dp[0] = _INF
            fp[0] = _INF
        dp, dc = dc, dp
        fp, fc = fc, fp
    return dp[m], fp[m]

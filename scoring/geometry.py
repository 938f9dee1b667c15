"""Small geometric kernels shared by the accuracy, quality and live scorers."""

from __future__ import annotations

import numpy as np

from scoring import constants as C
from scoring._jit import kernel


@kernel
def soft_score(err):
    """From 1 at no error down to 1 - INSIDE_SLOPE at one unit, then a Gaussian fall-off
    that halves at every further unit squared: 0.45 at 2, 0.056 at 3."""
    over = err - 1.0
    if over <= 0.0:
        return 1.0 - C.INSIDE_SLOPE * max(err, 0.0)
    return (1.0 - C.INSIDE_SLOPE) * 2.0 ** (-(over * over))


@kernel
def closest_on_segment(px, py, ax, ay, bx, by):
    """Squared distance from (px, py) to segment a-b, and where along it (0..1) is nearest."""
    vx = bx - ax
    vy = by - ay
    wx = px - ax
    wy = py - ay
    vv = vx * vx + vy * vy
    u = 0.0
    if vv > 0.0:
        u = (wx * vx + wy * vy) / vv
        u = 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)
    dx = wx - u * vx
    dy = wy - u * vy
    return dx * dx + dy * dy, u


@kernel
def project_point(px, py, txy, cum):
    """Distance from (px, py) to the polyline txy, and the arc length of the nearest point.

    The plain scan over every segment: the reference `scoring.nearest` must agree with,
    and its fallback for points outside its grid.
    """
    best = np.inf
    best_s = 0.0
    for k in range(txy.shape[0] - 1):
        d, u = closest_on_segment(px, py, txy[k, 0], txy[k, 1], txy[k + 1, 0], txy[k + 1, 1])
        if d < best:
            best = d
            best_s = cum[k] + u * (cum[k + 1] - cum[k])
    return np.sqrt(best), best_s


@kernel
def arc_delta(s0, s1, length, closed):
    """Signed progress from arc position s0 to s1; on a closed target, the short way round."""
    d = s1 - s0
    if closed:
        half = 0.5 * length
        if d > half:
            d -= length
        elif d < -half:
            d += length
    return d


@kernel
def mark_bins(bins, s0, s1, length, closed):
    """Mark the coverage bins from arc position s0 to s1 (wrapping on closed targets)."""
    nb = bins.shape[0]
    if length <= 0.0:
        return
    scale = nb / length
    d = arc_delta(s0, s1, length, closed)
    a = s0 if d >= 0.0 else s0 + d
    ia = int(np.floor(a * scale))
    ib = int(np.floor((a + abs(d)) * scale))
    if ia == ib and 0 <= ia < nb:  # the common case: a step inside one bin
        bins[ia] = True
        return
    if ib - ia >= nb:
        ib = ia + nb - 1
    for i in range(ia, ib + 1):
        bins[i % nb if closed else min(max(i, 0), nb - 1)] = True


@kernel
def polyline_length(x, y):
    total = 0.0
    for i in range(x.shape[0] - 1):
        dx = x[i + 1] - x[i]
        dy = y[i + 1] - y[i]
        total += np.sqrt(dx * dx + dy * dy)
    return total


@kernel
def resample_xy(x, y, k):
    """k points evenly spaced by arc length along (x, y); all at the start if it has no length."""
    n = x.shape[0]
    out = np.empty((k, 2))
    cum = np.empty(n)
    cum[0] = 0.0
    for i in range(1, n):
        dx = x[i] - x[i - 1]
        dy = y[i] - y[i - 1]
        cum[i] = cum[i - 1] + np.sqrt(dx * dx + dy * dy)
    total = cum[n - 1]
    if total <= 0.0 or k < 2:
        for j in range(k):
            out[j, 0] = x[0]
            out[j, 1] = y[0]
        return out
    seg = 0
    for j in range(k):
        s = total * j / (k - 1)
        while seg < n - 2 and cum[seg + 1] < s:
            seg += 1
        span = cum[seg + 1] - cum[seg]
        u = 0.0 if span <= 0.0 else (s - cum[seg]) / span
        u = 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)
        out[j, 0] = x[seg] + u * (x[seg + 1] - x[seg])
        out[j, 1] = y[seg] + u * (y[seg + 1] - y[seg])
    return out


@kernel
def frame_of(x, y, off, samples):
    """Centroid and RMS radius of several strokes, each sampled in proportion to its length.

    Copy mode maps the drawing into the targets' frame with these: translation and
    uniform scale are free, everything else still counts.
    """
    ns = off.shape[0] - 1
    lengths = np.empty(ns)
    total = 0.0
    for i in range(ns):
        lengths[i] = polyline_length(x[off[i] : off[i + 1]], y[off[i] : off[i + 1]])
        total += lengths[i]
    sum_x = 0.0
    sum_y = 0.0
    count = 0
    parts = []
    for i in range(ns):
        a = off[i]
        b = off[i + 1]
        if b <= a:
            continue
        k = 2
        if total > 0.0:
            k = max(2, round(samples * lengths[i] / total))
        r = resample_xy(x[a:b], y[a:b], k)
        parts.append(r)
        for j in range(k):
            sum_x += r[j, 0]
            sum_y += r[j, 1]
        count += k
    if count == 0:
        return 0.0, 0.0, 0.0
    cx = sum_x / count
    cy = sum_y / count
    acc = 0.0
    for r in parts:
        for j in range(r.shape[0]):
            acc += (r[j, 0] - cx) ** 2 + (r[j, 1] - cy) ** 2
    return cx, cy, np.sqrt(acc / count)

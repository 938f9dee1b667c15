"""How cleanly a stroke was drawn, whatever its geometry.

Theory of operation: two views of one stroke. In space, the stroke is resampled every
half tolerance by arc length and compared with a binomial-smoothed copy of itself: the
RMS gap is jitter, the wobble a shaky hand adds at scales under about two tolerances.
In time, the stroke is resampled on a uniform RESAMPLE_MS grid (timestamps repaired by
scoring.ingest first), lightly smoothed against timer quantisation, and differentiated:
speed gives the speed variation (coefficient of variation over the middle of the stroke)
and the pauses; the velocity's second derivative gives the log dimensionless jerk
(Balasubramanian et al., 2015), a published smoothness measure that does not depend on
the stroke's size or duration. Pressure and tilt statistics come from the middle of the
stroke only, where the pen is neither landing nor lifting.
"""

from __future__ import annotations

import numpy as np

from scoring import constants as C
from scoring._jit import kernel
from scoring.geometry import polyline_length, resample_xy
from scoring.geometry import soft_score as g

Q_SMOOTHNESS = 0
Q_JITTER = 1
Q_JITTER_SCORE = 2
Q_LDLJ = 3
Q_LDLJ_SCORE = 4
Q_SPEED = 5
Q_SPEED_CV = 6
Q_HESITATION = 7
Q_PAUSES = 8
Q_PRESSURE = 9
Q_PRESSURE_CV = 10
Q_TILT = 11
Q_TILT_STD = 12
Q_DURATION = 13
Q_LENGTH = 14
Q_MEAN_SPEED = 15
N_QUALITY = 16

_MAX_GRID = 2048
_MIN_GRID = 7


@kernel
def _binomial_smooth(a):
    """[1, 4, 6, 4, 1] / 16 smoothing; the two samples at each end are kept as they are."""
    n = a.shape[0]
    out = a.copy()
    for i in range(2, n - 2):
        out[i] = (a[i - 2] + 4.0 * a[i - 1] + 6.0 * a[i] + 4.0 * a[i + 1] + a[i + 2]) / 16.0
    return out


@kernel
def jitter(x, y, tol):
    """RMS distance, in tolerances, between the stroke and its smoothed self."""
    length = polyline_length(x, y)
    k = int(length / (0.5 * tol)) + 1
    k = min(max(k, 8), 512)
    r = resample_xy(x, y, k)
    sx = _binomial_smooth(r[:, 0].copy())
    sy = _binomial_smooth(r[:, 1].copy())
    acc = 0.0
    for i in range(2, k - 2):
        dx = r[i, 0] - sx[i]
        dy = r[i, 1] - sy[i]
        acc += dx * dx + dy * dy
    return np.sqrt(acc / (k - 4)) / tol


@kernel
def time_grid(x, y, t):
    """Positions on a uniform time grid (step dt ms), by linear interpolation in t."""
    n = x.shape[0]
    if n < 2:
        return x.copy(), y.copy(), C.RESAMPLE_MS
    duration = t[n - 1] - t[0]
    dt = C.RESAMPLE_MS
    m = int(duration / dt) + 1
    if m > _MAX_GRID:
        dt = duration / (_MAX_GRID - 1)
        m = _MAX_GRID
    gx = np.empty(m)
    gy = np.empty(m)
    j = 0
    for i in range(m):
        tt = t[0] + i * dt
        while j < n - 2 and t[j + 1] <= tt:
            j += 1
        span = t[j + 1] - t[j]
        u = 0.0 if span <= 0.0 else (tt - t[j]) / span
        u = 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)
        gx[i] = x[j] + u * (x[j + 1] - x[j])
        gy[i] = y[j] + u * (y[j + 1] - y[j])
    return gx, gy, dt


@kernel
def _middle(t, trim):
    """Index range [a, b) of the points between trim and 1 - trim of the stroke's time."""
    n = t.shape[0]
    lo = t[0] + trim * (t[n - 1] - t[0])
    hi = t[n - 1] - trim * (t[n - 1] - t[0])
    a = 0
    while a < n - 1 and t[a] < lo:
        a += 1
    b = n
    while b > a + 1 and t[b - 1] > hi:
        b -= 1
    return a, b


@kernel
def stroke_quality(x, y, t, p, tx, ty, tol, use_pressure, use_tilt, out):
    out[:] = 0.0
    n = x.shape[0]
    if n == 0:
        return
    duration = t[n - 1] - t[0]
    length = polyline_length(x, y)
    out[Q_DURATION] = duration
    out[Q_LENGTH] = length
    out[Q_LDLJ] = C.LDLJ_BAD
    if n < 3 or duration <= 0.0 or length <= 0.0:
        return  # nothing drawn over time: no quality to speak of

    j = jitter(x, y, tol)
    out[Q_JITTER] = j
    out[Q_JITTER_SCORE] = g(j / C.JITTER_UNIT)

    gx, gy, dt = time_grid(x, y, t)
    m = gx.shape[0]
    if m < _MIN_GRID:
        # Too quick a flick to differentiate twice: judge its smoothness by the jitter
        # alone, and its speed and pauses not at all.
        out[Q_LDLJ] = 0.0
        out[Q_LDLJ_SCORE] = out[Q_JITTER_SCORE]
        out[Q_SPEED] = 1.0
        out[Q_HESITATION] = 1.0
        out[Q_MEAN_SPEED] = length / (duration / 1000.0)
    else:
        gx = _binomial_smooth(gx)
        gy = _binomial_smooth(gy)
        secs = dt / 1000.0
        vx = np.empty(m - 2)
        vy = np.empty(m - 2)
        speed = np.empty(m - 2)
        for i in range(1, m - 1):
            vx[i - 1] = (gx[i + 1] - gx[i - 1]) / (2.0 * secs)
            vy[i - 1] = (gy[i + 1] - gy[i - 1]) / (2.0 * secs)
            speed[i - 1] = np.sqrt(vx[i - 1] ** 2 + vy[i - 1] ** 2)
        vpeak = speed.max()
        out[Q_MEAN_SPEED] = length / (duration / 1000.0)
        jerk2 = 0.0
        for i in range(1, m - 3):
            ax = (vx[i + 1] - 2.0 * vx[i] + vx[i - 1]) / (secs * secs)
            ay = (vy[i + 1] - 2.0 * vy[i] + vy[i - 1]) / (secs * secs)
            jerk2 += (ax * ax + ay * ay) * secs
        big_t = duration / 1000.0
        dimensionless = big_t**3 / (vpeak * vpeak) * jerk2 if vpeak > 0.0 else 0.0
        # Under 1 is smoother than any real movement (a minimum-jerk reach is ~e**6):
        # no measurable jerk, only rounding noise; report it as smooth, not as +40.
        ldlj = -np.log(dimensionless) if dimensionless > 1.0 else C.LDLJ_GOOD
        out[Q_LDLJ] = ldlj
        score = (ldlj - C.LDLJ_BAD) / (C.LDLJ_GOOD - C.LDLJ_BAD)
        out[Q_LDLJ_SCORE] = min(max(score, 0.0), 1.0)

        ns = speed.shape[0]
        a = int(C.SPEED_TRIM * ns)
        b = max(ns - a, a + 1)
        mid = speed[a:b]
        mean = mid.mean()
        cv = mid.std() / mean if mean > 0.0 else 1e3
        out[Q_SPEED_CV] = cv
        out[Q_SPEED] = g(cv / C.SPEED_CV_OK)

        slow = C.PAUSE_SPEED * np.median(speed)
        need = int(np.ceil(C.PAUSE_MS / dt))
        pauses = 0
        run = 0
        for i in range(a, b):
            if speed[i] < slow:
                run += 1
                if run == need:
                    pauses += 1
            else:
                run = 0
        out[Q_PAUSES] = pauses
        out[Q_HESITATION] = max(0.0, 1.0 - C.PAUSE_COST * pauses)
    out[Q_SMOOTHNESS] = 0.5 * (out[Q_JITTER_SCORE] + out[Q_LDLJ_SCORE])

    a, b = _middle(t, C.SPEED_TRIM)
    if use_pressure:
        mid = p[a:b]
        mean = mid.mean()
        cv = mid.std() / mean if mean > 0.0 else 1e3
        out[Q_PRESSURE_CV] = cv
        out[Q_PRESSURE] = g(cv / C.PRESSURE_CV_OK)
    if use_tilt:
        std = np.sqrt(tx[a:b].var() + ty[a:b].var())
        out[Q_TILT_STD] = std
        out[Q_TILT] = g(std / C.TILT_STD_OK)


@kernel
def quality_all(sx, sy, st, sp, stx, sty, soff, tol, use_pressure, use_tilt, out):
    for i in range(soff.shape[0] - 1):
        a = soff[i]
        b = soff[i + 1]
        stroke_quality(
            sx[a:b], sy[a:b], st[a:b], sp[a:b], stx[a:b], sty[a:b],
            tol, use_pressure, use_tilt, out[i],
        )  # fmt: skip

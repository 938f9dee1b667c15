"""How well drawn strokes match target strokes: one kernel scores every (stroke, target) pair.

Theory of operation: for each drawn point we find its distance to the target polyline and
the arc length of its nearest target point (`project_point`). From those two columns come
closeness (soft score of each distance in tolerances), coverage (target arc bins swept by
consecutive near points), direction (signed progress along the target over total
progress) and the pressure-profile error. Start, end and length compare end points and
lengths. The shape term is a DTW between the stroke and the target, both resampled to
SHAPE_SAMPLES points by arc length, so it costs the same for any stroke length and keeps
the order of the drawing: a zig-zag over the guide stays close but loses shape.
The blend of these components is the pair's accuracy; the step assigns strokes to targets
by it (see scoring/step.py).
"""

from __future__ import annotations

import numpy as np

from scoring import constants as C
from scoring._jit import kernel
from scoring.distance import shape_distances
from scoring.geometry import arc_delta, mark_bins, polyline_length, resample_xy
from scoring.geometry import soft_score as g
from scoring.nearest import project_all

# Columns of a pair's metrics row.
A_ACCURACY = 0
A_CLOSENESS = 1
A_COVERAGE = 2
A_SHAPE = 3
A_START = 4
A_END = 5
A_LENGTH = 6
A_DIRECTION = 7
A_WITHIN = 8
A_MEAN_DEV = 9
A_MAX_DEV = 10
A_DTW = 11
A_FRECHET = 12
A_START_DIST = 13
A_END_DIST = 14
A_LENGTH_RATIO = 15
A_DIR_INDEX = 16
A_PROFILE_ERR = 17
A_REVERSED_FIT = 18
N_ACCURACY = 19

# Parameters vector.
P_TOL = 0
P_DIRECTIONAL = 1
P_USE_PROFILE = 2
N_PARAMS = 3

_W_CLOSE = C.ACCURACY_WEIGHTS["closeness"]
_W_COVER = C.ACCURACY_WEIGHTS["coverage"]
_W_SHAPE = C.ACCURACY_WEIGHTS["shape"]
_W_START = C.ACCURACY_WEIGHTS["start"]
_W_END = C.ACCURACY_WEIGHTS["end"]
_W_LENGTH = C.ACCURACY_WEIGHTS["length"]
_W_DIR = C.ACCURACY_WEIGHTS["direction"]
_K = C.SHAPE_SAMPLES
_BINS = C.COVERAGE_BINS
_REACH = C.COVER_REACH
_LEN_HALF = C.LENGTH_HALF


@kernel
def _pair(
    x,
    y,
    p,
    txy,
    seg,
    length,
    res,
    closed,
    profile,
    grid,
    cell_start,
    cand,
    tol,
    directional,
    use_profile,
    out,
):
    n = x.shape[0]
    out[:] = 0.0
    out[A_PROFILE_ERR] = -1.0
    if n == 0:
        return
    d = np.empty(n)
    s = np.empty(n)
    close_sum = 0.0
    within = 0
    dev_sum = 0.0
    dev_max = 0.0
    project_all(x, y, seg, grid, cell_start, cand, d, s)
    for i in range(n):
        di = d[i]
        close_sum += g(di / tol)
        if di <= tol:
            within += 1
        dev_sum += di
        dev_max = max(dev_max, di)
    out[A_CLOSENESS] = close_sum / n
    out[A_WITHIN] = within / n
    out[A_MEAN_DEV] = dev_sum / n
    out[A_MAX_DEV] = dev_max

    # Coverage and direction walk consecutive pairs of near points. A projection that
    # jumps further along the target than the pen moved (plus slack) is a shortcut, not
    # progress, and sweeps nothing.
    bins = np.zeros(_BINS, dtype=np.bool_)
    reach = _REACH * tol
    fwd = 0.0
    tot = 0.0
    for i in range(n):
        if d[i] > reach:
            continue
        mark_bins(bins, s[i], s[i], length, closed)
        if i == 0 or d[i - 1] > reach:
            continue
        dx = x[i] - x[i - 1]
        dy = y[i] - y[i - 1]
        moved = np.sqrt(dx * dx + dy * dy)
        ds = arc_delta(s[i - 1], s[i], length, closed)
        if abs(ds) <= moved + 2.0 * reach:
            mark_bins(bins, s[i - 1], s[i], length, closed)
            fwd += ds
            tot += abs(ds)
    covered = 0
    for b in range(_BINS):
        if bins[b]:
            covered += 1
    out[A_COVERAGE] = covered / _BINS
    dir_index = fwd / tot if tot > 0.0 else 0.0
    out[A_DIR_INDEX] = dir_index
    out[A_DIRECTION] = 0.5 * (1.0 + dir_index)

    # End points, in the target's orientation, or the better one if direction is free.
    m = txy.shape[0]
    fs = np.hypot(x[0] - txy[0, 0], y[0] - txy[0, 1])
    fe = np.hypot(x[n - 1] - txy[m - 1, 0], y[n - 1] - txy[m - 1, 1])
    rs = np.hypot(x[0] - txy[m - 1, 0], y[0] - txy[m - 1, 1])
    re = np.hypot(x[n - 1] - txy[0, 0], y[n - 1] - txy[0, 1])
    # Direction free: on an open target, the orientation whose ends fit better (clearly
    # better: a rounding-level tie stays forwards); on a closed one both ends are the same
    # point, so the way the pen went round decides.
    if directional:
        reversed_fit = False
    elif closed:
        reversed_fit = dir_index < 0.0
    else:
        reversed_fit = rs + re < (fs + fe) * (1.0 - 1e-9)
    ds0 = rs if reversed_fit else fs
    de0 = re if reversed_fit else fe
    out[A_REVERSED_FIT] = 1.0 if reversed_fit else 0.0
    out[A_START_DIST] = ds0 / tol
    out[A_END_DIST] = de0 / tol
    out[A_START] = g(ds0 / tol)
    out[A_END] = g(de0 / tol)

    drawn = polyline_length(x, y)
    ratio = drawn / length
    out[A_LENGTH_RATIO] = ratio
    out[A_LENGTH] = 0.0 if ratio <= 0.0 else 2.0 ** (-((np.log(ratio) / _LEN_HALF) ** 2))

    # Shape: DTW and discrete Frechet on arc-length resampled copies.
    drawn_r = resample_xy(x, y, _K)
    dtw, frechet = shape_distances(drawn_r, res[::-1] if reversed_fit else res)
    dtw_mean = dtw / _K
    out[A_DTW] = dtw_mean / tol
    out[A_FRECHET] = frechet / tol
    out[A_SHAPE] = g(dtw_mean / tol)

    if use_profile and profile[0] >= 0.0:
        # Compare shapes of the pressure curves, not levels: devices differ in how hard
        # "hard" is, so each side is centred on its own mean first.
        nps = profile.shape[0]
        q = np.empty(n)
        for i in range(n):
            u = s[i] / length * (nps - 1)
            k = min(int(u), nps - 2)
            f = u - k
            q[i] = profile[k] * (1.0 - f) + profile[k + 1] * f
        pm = p.mean()
        qm = q.mean()
        err = 0.0
        for i in range(n):
            err += abs((p[i] - pm) - (q[i] - qm))
        out[A_PROFILE_ERR] = err / n

    w_dir = _W_DIR if directional else 0.0
    acc = (
        _W_CLOSE * out[A_CLOSENESS]
        + _W_COVER * out[A_COVERAGE]
        + _W_SHAPE * out[A_SHAPE]
        + _W_START * out[A_START]
        + _W_END * out[A_END]
        + _W_LENGTH * out[A_LENGTH]
        + w_dir * out[A_DIRECTION]
    )
    out[A_ACCURACY] = acc / (_W_CLOSE + _W_COVER + _W_SHAPE + _W_START + _W_END + _W_LENGTH + w_dir)


@kernel
def match_all(
    sx,
    sy,
    sp,
    soff,
    txy,
    toff,
    segs,
    sof,
    tlen,
    tres,
    tclosed,
    profiles,
    grids,
    coff,
    cstarts,
    kof,
    cands,
    params,
    out,
):
    """Fill out[i, j, :] with the metrics of drawn stroke i against target j."""
    tol = params[P_TOL]
    directional = params[P_DIRECTIONAL] != 0.0
    use_profile = params[P_USE_PROFILE] != 0.0
    for i in range(soff.shape[0] - 1):
        a = soff[i]
        b = soff[i + 1]
        x = sx[a:b]
        y = sy[a:b]
        p = sp[a:b]
        for j in range(toff.shape[0] - 1):
            ta = toff[j]
            tb = toff[j + 1]
            _pair(
                x, y, p, txy[ta:tb], segs[sof[j] : sof[j + 1]], tlen[j], tres[j], tclosed[j],
                profiles[j], grids[j], cstarts[coff[j] : coff[j + 1]], cands[kof[j] : kof[j + 1]],
                tol, directional, use_profile, out[i, j],
            )  # fmt: skip

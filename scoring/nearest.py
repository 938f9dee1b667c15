"""Exact nearest-point queries against a target polyline, in O(1) for points near it.

Theory of operation: when a step is built, each target gets a uniform grid over its
bounding box widened by a margin. For every cell we know an upper bound on the distance
from any point of the cell to the polyline (the nearest segment to the cell's centre,
plus the cell's half-diagonal) and we keep, as the cell's candidates, every segment whose
lower bound (its distance to the centre less the half-diagonal) is under that bound. The
true nearest segment of any point in the cell is among them, so a query scans a handful
of segments instead of all of them. Points outside the grid, rare and far from the
target, fall back to the full scan.
"""

from __future__ import annotations

import numpy as np

from scoring._jit import inline_kernel, kernel
from scoring.geometry import closest_on_segment

# grid description columns: origin x, origin y, cell size, columns, rows
G_OX = 0
G_OY = 1
G_H = 2
G_NX = 3
G_NY = 4
N_GRID = 5


@kernel
def build_grid(txy, margin, max_side):
    """The grid (N_GRID floats), per-cell candidate offsets, and candidate segment ids."""
    m = txy.shape[0]
    lox = txy[:, 0].min() - margin
    loy = txy[:, 1].min() - margin
    w = txy[:, 0].max() + margin - lox
    hgt = txy[:, 1].max() + margin - loy
    h = max(w, hgt) / max_side
    if h <= 0.0:
        h = 1.0
    nx = max(1, min(max_side, int(np.ceil(w / h))))
    ny = max(1, min(max_side, int(np.ceil(hgt / h))))
    half = 0.5 * h * np.sqrt(2.0)
    ncell = nx * ny
    dist = np.empty(m - 1)
    counts = np.zeros(ncell + 1, dtype=np.int64)
    # Two passes: count candidates per cell, then fill them.
    for phase in range(2):
        cand = np.empty(counts[ncell] if phase == 1 else 0, dtype=np.int32)
        fill = counts.copy()
        for cy in range(ny):
            for cx in range(nx):
                px = lox + (cx + 0.5) * h
                py = loy + (cy + 0.5) * h
                best = np.inf
                for k in range(m - 1):
                    d2, _u = closest_on_segment(
                        px, py, txy[k, 0], txy[k, 1], txy[k + 1, 0], txy[k + 1, 1]
                    )
                    dk = np.sqrt(d2)
                    dist[k] = dk
                    best = min(best, dk)
                bound = best + 2.0 * half
                cell = cy * nx + cx
                for k in range(m - 1):
                    if dist[k] <= bound:
                        if phase == 0:
                            counts[cell + 1] += 1
                        else:
                            cand[fill[cell]] = k
                            fill[cell] += 1
        if phase == 0:
            for c in range(ncell):
                counts[c + 1] += counts[c]
    grid = np.array([lox, loy, h, float(nx), float(ny)])
    return grid, counts, cand


# segment table columns (one row per segment, so a candidate is one cache line)
S_AX = 0
S_AY = 1
S_VX = 2
S_VY = 3
S_IVV = 4
S_CUM = 5
S_DCUM = 6
N_SEG = 8


@kernel
def segment_table(txy, cum):
    m = txy.shape[0]
    seg = np.zeros((max(m - 1, 0), N_SEG))
    for k in range(m - 1):
        vx = txy[k + 1, 0] - txy[k, 0]
        vy = txy[k + 1, 1] - txy[k, 1]
        vv = vx * vx + vy * vy
        seg[k, S_AX] = txy[k, 0]
        seg[k, S_AY] = txy[k, 1]
        seg[k, S_VX] = vx
        seg[k, S_VY] = vy
        seg[k, S_IVV] = 1.0 / vv if vv > 0.0 else 0.0
        seg[k, S_CUM] = cum[k]
        seg[k, S_DCUM] = cum[k + 1] - cum[k]
    return seg


@inline_kernel
def _scan(px, py, seg, k, best, best_s):
    wx = px - seg[k, S_AX]
    wy = py - seg[k, S_AY]
    vx = seg[k, S_VX]
    vy = seg[k, S_VY]
    u = (wx * vx + wy * vy) * seg[k, S_IVV]
    u = min(max(u, 0.0), 1.0)
    dx = wx - u * vx
    dy = wy - u * vy
    d = dx * dx + dy * dy
    s = seg[k, S_CUM] + u * seg[k, S_DCUM]
    # Selects, not jumps: candidates come in no order a branch predictor could learn.
    closer = d < best
    return (d if closer else best), (s if closer else best_s)


@kernel
def project_all(x, y, seg, grid, cell_start, cand, dist, arc):
    """For every point: its distance to the polyline and the arc length of its nearest point.

    One loop over the points with the per-point search written inline: measured 3x
    faster than calling a per-point kernel.
    """
    h = grid[G_H]
    ox = grid[G_OX]
    oy = grid[G_OY]
    nx = int(grid[G_NX])
    ny = grid[G_NY]
    for i in range(x.shape[0]):
        px = x[i]
        py = y[i]
        fx = (px - ox) / h
        fy = (py - oy) / h
        best = np.inf
        best_s = 0.0
        if fx >= 0.0 and fy >= 0.0 and fx < nx and fy < ny:
            cell = int(fy) * nx + int(fx)
            for c in range(cell_start[cell], cell_start[cell + 1]):
                best, best_s = _scan(px, py, seg, cand[c], best, best_s)
        else:
            for k in range(seg.shape[0]):
                best, best_s = _scan(px, py, seg, k, best, best_s)
        dist[i] = np.sqrt(best)
        arc[i] = best_s

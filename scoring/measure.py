"""One kernel call measures a whole step: every (stroke, target) pair and every stroke.

Each call from Python into numba pays for checking every argument's type, so the step
is measured by a single call that runs both the accuracy and the quality kernels.
"""

from __future__ import annotations

import numpy as np

from scoring import accuracy as A
from scoring import quality as Q
from scoring._jit import kernel
from scoring.accuracy import match_all
from scoring.quality import quality_all
from scoring.spec import StepSpec
from scoring.stroke import Device
from scoring.types import FloatArray, IntArray

M_TOL = 0
M_DIRECTIONAL = 1
M_USE_PROFILE = 2
M_PRESSURE = 3
M_TILT = 4


@kernel
def measure_all(
    x, y, t, p, tx, ty, off,
    txy, toff, segs, sof, tlen, tres, tclosed, profiles, grids, coff, cstarts, kof, cands,
    params, acc, qual,
):  # fmt: skip
    match_all(
        x, y, p, off, txy, toff, segs, sof, tlen, tres, tclosed, profiles, grids, coff,
        cstarts, kof, cands, params[: A.N_PARAMS], acc,
    )  # fmt: skip
    quality_all(
        x, y, t, p, tx, ty, off, params[M_TOL], params[M_PRESSURE] != 0.0,
        params[M_TILT] != 0.0, qual,
    )  # fmt: skip


def measure(
    spec: StepSpec,
    x: FloatArray, y: FloatArray, t: FloatArray, p: FloatArray, tx: FloatArray, ty: FloatArray,
    off: IntArray, device: Device,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """(accuracy rows (strokes, targets, N_ACCURACY), quality rows (strokes, N_QUALITY))."""
    n = off.shape[0] - 1
    acc = np.empty((n, spec.n_targets, A.N_ACCURACY))
    qual = np.empty((n, Q.N_QUALITY))
    params = np.array(
        [
            spec.tolerance_px,
            float(spec.directional),
            float(device.pressure and spec.has_profile),
            float(device.pressure),
            float(device.tilt),
        ]
    )
    measure_all(
        x, y, t, p, tx, ty, off,
        spec.target_xy, spec.target_offsets, spec.segments, spec.seg_offsets,
        spec.target_lengths, spec.target_resampled, spec.target_closed, spec.profiles,
        spec.grids, spec.cell_offsets, spec.cell_starts, spec.cand_offsets, spec.cands,
        params, acc, qual,
    )  # fmt: skip
    return acc, qual

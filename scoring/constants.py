"""Every constant of the scoring formulas, in one place (docs/scoring.md explains each).

Changing any value here changes scores: bump SCORER_VERSION with it.
"""

from __future__ import annotations

from typing import Final

SCORER_VERSION: Final = "1.0.0"

# Numba flags, shared by every kernel. No "reassoc"/"contract"/"afn": those let LLVM reorder
# sums or fuse multiply-adds differently per CPU, and stored scores must re-score identically.
# No "ninf": the elastic-distance kernels use infinity as their border. "nnan" holds because
# every input is checked finite before a kernel sees it (Stroke, StepSpec, finite_rows).
FASTMATH: Final = frozenset({"nnan", "nsz"})

# --- limits on what a step may hold ---------------------------------------------------------
MAX_TARGETS: Final = 64
MAX_TARGET_POINTS: Final = 4096

# --- step defaults ----------------------------------------------------------------------------
DEFAULT_WEIGHTS: Final = {"accuracy": 0.6, "quality": 0.4}
DEFAULT_PASS_SCORE: Final = 0.6

# --- sampling -------------------------------------------------------------------------------
SHAPE_SAMPLES: Final = 32  # points per curve for the DTW / Frechet shape term
PROFILE_SAMPLES: Final = 64  # pressure profile samples along a target's arc length
COVERAGE_BINS: Final = 64  # bins along a target's arc length for coverage and progress
FRAME_SAMPLES: Final = 128  # points spread over all targets (or strokes) for the copy frame
CLOSED_EPS: Final = 0.02  # a target whose ends meet within 2 % of its length is closed
GRID_SIDE: Final = 96  # nearest-segment grid: at most 96 x 96 cells per target
GRID_MARGIN_TOL: Final = 4.0  # the grid reaches 4 tolerances ...
GRID_MARGIN_REL: Final = 0.25  # ... plus a quarter of the target's length past its box

# --- accuracy ---------------------------------------------------------------------------------
# Soft score of an error e measured in tolerances (scoring/geometry.py soft_score):
# g(e) = 1 - INSIDE_SLOPE * e up to one tolerance, then (1 - INSIDE_SLOPE) * 2 ** -((e - 1) ** 2).
INSIDE_SLOPE: Final = 0.1  # inside the tolerance a score still slopes from 1 to 0.9: progress shows
COVER_REACH: Final = 1.5  # a drawn point within 1.5 tolerances covers the target under it
LENGTH_HALF: Final = 0.4055  # ln(1.5): a stroke 1.5x (or 1/1.5x) the target's length scores 0.5
DIRECTION_REVERSED: Final = -0.3  # direction index below this is a reversed stroke
ACCURACY_WEIGHTS: Final = {
    "closeness": 0.25,
    "coverage": 0.25,
    "shape": 0.20,
    "start": 0.075,
    "end": 0.075,
    "length": 0.075,
    "direction": 0.075,
}
EXTRA_STROKE_WEIGHT: Final = 0.5  # an extra stroke counts as half a missed target
ORDER_PENALTY: Final = 0.5  # an ordered step loses up to half its accuracy to inversions

# --- quality ----------------------------------------------------------------------------------
RESAMPLE_MS: Final = 10.0  # uniform time grid for speed and jerk
JITTER_UNIT: Final = 0.15  # jitter (RMS, in tolerances) that still scores 1
LDLJ_GOOD: Final = -8.0  # log dimensionless jerk of a smooth stroke: scores 1
LDLJ_BAD: Final = -15.0  # and of a very jerky one: scores 0
SPEED_CV_OK: Final = 0.45  # coefficient of variation of speed that still scores 1
SPEED_TRIM: Final = 0.1  # fraction of the stroke's time ignored at each end for speed
PAUSE_SPEED: Final = 0.1  # a pause: speed under 10 % of the median speed ...
PAUSE_MS: Final = 120.0  # ... for at least this long, away from the stroke's ends
PAUSE_COST: Final = 0.25  # each pause costs a quarter of the hesitation score
PRESSURE_CV_OK: Final = 0.15  # pressure variation that still scores 1 (no profile)
PROFILE_ERR_OK: Final = 0.08  # mean profile error (pressure units) that still scores 1
TILT_STD_OK: Final = 6.0  # degrees of tilt wobble that still scores 1
QUALITY_WEIGHTS: Final = {
    "smoothness": 0.35,
    "speed": 0.25,
    "hesitation": 0.2,
    "pressure": 0.12,
    "tilt": 0.08,
}

# --- feedback thresholds ----------------------------------------------------------------------
FEEDBACK_WITHIN: Final = 0.8  # under 80 % of points within tolerance: off_path
FEEDBACK_COVERAGE: Final = 0.9  # under 90 % of the target covered: incomplete
FEEDBACK_COMPONENT: Final = 0.6  # a quality component under this earns its feedback

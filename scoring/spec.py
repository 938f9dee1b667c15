"""A lesson step as the scorer sees it: targets, tolerance, what counts.

Everything the kernels need about the targets (packed polylines, arc lengths, resampled
copies, the tolerance in canvas units) is computed once here, when the step is built, so
scoring a stroke never repeats it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from scoring import constants as C
from scoring.geometry import frame_of
from scoring.nearest import N_GRID, build_grid, segment_table
from scoring.types import FloatArray, IntArray

Mode = Literal["trace", "copy"]
ToleranceUnit = Literal["px", "relative"]

MODES: Final = ("trace", "copy")
TOLERANCE_UNITS: Final = ("px", "relative")
WEIGHT_KEYS: Final = ("accuracy", "quality")


def resample_polyline(points: FloatArray, k: int) -> FloatArray:
    """`k` points spaced evenly by arc length along a polyline (k >= 2)."""
    seg = np.hypot(np.diff(points[:, 0]), np.diff(points[:, 1]))
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    if cum[-1] <= 0.0:
        return np.repeat(points[:1], k, axis=0)
    at = np.linspace(0.0, cum[-1], k)
    return np.column_stack((np.interp(at, cum, points[:, 0]), np.interp(at, cum, points[:, 1])))


def _target(index: int, value: Any) -> FloatArray:
    name = f"targets[{index}]"
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not an array of numbers ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 2:
        raise ValueError(f"{name}: expected an (n, 2) polyline with n >= 2, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains a non-finite value (NaN or infinity)")
    if arr.shape[0] > C.MAX_TARGET_POINTS:
        raise ValueError(f"{name}: {arr.shape[0]} points, more than {C.MAX_TARGET_POINTS}")
    if float(np.hypot(*np.diff(arr, axis=0).T).sum()) <= 0.0:
        raise ValueError(f"{name}: has zero length")
    return np.ascontiguousarray(arr)


def _profile(index: int, value: Any) -> FloatArray:
    name = f"pressure_profile[{index}]"
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not an array of numbers ({exc})") from None
    if arr.ndim != 1 or arr.shape[0] < 2:
        raise ValueError(f"{name}: expected a 1-D array of at least 2 values, got {arr.shape}")
    if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(f"{name}: values must be finite and lie in 0..1")
    # Stored resampled evenly along the target's arc length, for O(1) lookup in kernels.
    at = np.linspace(0.0, 1.0, C.PROFILE_SAMPLES)
    return np.interp(at, np.linspace(0.0, 1.0, arr.shape[0]), arr)


class StepSpec:
    """A step's targets and scoring rules. Raises ValueError naming the bad field."""

    targets: list[FloatArray]
    tolerance: float
    tolerance_unit: ToleranceUnit
    weights: dict[str, float]
    mode: Mode
    directional: bool
    ordered: bool
    pressure_profile: list[FloatArray | None] | None
    pass_score: float
    tolerance_px: float

    def __init__(
        self,
        targets: Sequence[Any],
        tolerance: float,
        tolerance_unit: str = "px",
        weights: Mapping[str, float] | None = None,
        mode: str = "trace",
        directional: bool = True,
        ordered: bool = False,
        pressure_profile: Sequence[Any] | None = None,
        pass_score: float = C.DEFAULT_PASS_SCORE,
    ) -> None:
        if isinstance(targets, np.ndarray) and targets.ndim == 2:
            raise ValueError("targets: expected a list of (n, 2) polylines, got one array")
        if not isinstance(targets, Sequence | np.ndarray) or len(targets) == 0:
            raise ValueError("targets: expected a non-empty list of (n, 2) polylines")
        if len(targets) > C.MAX_TARGETS:
            raise ValueError(f"targets: {len(targets)} targets, more than {C.MAX_TARGETS}")
        self.targets = [_target(i, t) for i, t in enumerate(targets)]

        if tolerance_unit not in TOLERANCE_UNITS:
            raise ValueError(f"tolerance_unit: {tolerance_unit!r} is not one of {TOLERANCE_UNITS}")
        self.tolerance_unit = tolerance_unit  # type: ignore[assignment]
        try:
            tol = float(tolerance)
        except (TypeError, ValueError):
            raise ValueError(f"tolerance: {tolerance!r} is not a number") from None
        if not np.isfinite(tol) or tol <= 0.0:
            raise ValueError(f"tolerance: must be a finite number above 0, got {tolerance!r}")
        self.tolerance = tol

        if mode not in MODES:
            raise ValueError(f"mode: {mode!r} is not one of {MODES}")
        self.mode = mode  # type: ignore[assignment]
        self.directional = bool(directional)
        self.ordered = bool(ordered)

        raw = dict(C.DEFAULT_WEIGHTS if weights is None else weights)
        unknown = set(raw) - set(WEIGHT_KEYS)
        if unknown:
            raise ValueError(f"weights: unknown key(s) {sorted(unknown)}; known: {WEIGHT_KEYS}")
        w = {k: float(raw.get(k, 0.0)) for k in WEIGHT_KEYS}
        if any(not np.isfinite(v) or v < 0 for v in w.values()) or sum(w.values()) <= 0:
            raise ValueError("weights: must be finite, non-negative and not all zero")
        total = sum(w.values())
        self.weights = {k: v / total for k, v in w.items()}

        if pressure_profile is None:
            self.pressure_profile = None
        else:
            if len(pressure_profile) != len(self.targets):
                raise ValueError(
                    f"pressure_profile: {len(pressure_profile)} entries for "
                    f"{len(self.targets)} targets (use None for a target without one)"
                )
            self.pressure_profile = [
                None if p is None else _profile(i, p) for i, p in enumerate(pressure_profile)
            ]

        ps = float(pass_score)
        if not 0.0 <= ps <= 1.0:
            raise ValueError(f"pass_score: must lie in 0..1, got {pass_score!r}")
        self.pass_score = ps
        self._pack()

    def _pack(self) -> None:
        """Precompute the flat arrays the kernels read."""
        pts = np.concatenate(self.targets)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        diag = float(np.hypot(*(hi - lo)))
        self.tolerance_px = (
            self.tolerance if self.tolerance_unit == "px" else self.tolerance * max(diag, 1e-9)
        )
        n_t = len(self.targets)
        self.target_offsets: IntArray = _offsets([t.shape[0] for t in self.targets])
        self.target_xy: FloatArray = np.ascontiguousarray(pts)
        cum = []
        lengths = np.empty(n_t)
        for i, t in enumerate(self.targets):
            seg = np.hypot(np.diff(t[:, 0]), np.diff(t[:, 1]))
            c = np.concatenate(([0.0], np.cumsum(seg)))
            cum.append(c)
            lengths[i] = c[-1]
        self.target_cum: FloatArray = np.ascontiguousarray(np.concatenate(cum))
        self.target_lengths: FloatArray = lengths
        self.target_resampled: FloatArray = np.ascontiguousarray(
            np.stack([resample_polyline(t, C.SHAPE_SAMPLES) for t in self.targets])
        )
        self.target_closed = np.array(
            [
                float(np.hypot(*(t[-1] - t[0]))) <= C.CLOSED_EPS * max(lengths[i], 1e-9)
                for i, t in enumerate(self.targets)
            ],
            dtype=np.bool_,
        )
        self.segments: FloatArray = np.ascontiguousarray(
            np.concatenate(
                [
                    segment_table(t, self.target_cum[a:b])
                    for t, a, b in zip(
                        self.targets, self.target_offsets[:-1], self.target_offsets[1:], strict=True
                    )
                ]
            )
        )
        # Segment rows of target j: seg_offsets[j]..seg_offsets[j + 1] (one fewer than points).
        self.seg_offsets: IntArray = self.target_offsets - np.arange(n_t + 1)
        grids = np.empty((n_t, N_GRID))
        starts: list[IntArray] = []
        cands: list[npt.NDArray[np.int32]] = []
        for i, t in enumerate(self.targets):
            margin = C.GRID_MARGIN_TOL * self.tolerance_px + C.GRID_MARGIN_REL * lengths[i]
            grid, start, cand = build_grid(t, margin, C.GRID_SIDE)
            grids[i] = grid
            starts.append(start)
            cands.append(cand)
        self.grids: FloatArray = grids
        self.cell_offsets = _offsets([s.shape[0] for s in starts])
        self.cell_starts: IntArray = np.concatenate(starts)
        self.cand_offsets = _offsets([c.shape[0] for c in cands])
        self.cands = np.concatenate(cands)
        profiles = np.full((n_t, C.PROFILE_SAMPLES), -1.0)
        if self.pressure_profile is not None:
            for i, p in enumerate(self.pressure_profile):
                if p is not None:
                    profiles[i] = p
        self.profiles: FloatArray = profiles
        self.has_profile = self.pressure_profile is not None and any(
            p is not None for p in self.pressure_profile
        )
        # Copy mode frame: centroid and RMS radius of the targets, each point standing for
        # an equal share of arc length so dense and sparse polylines weigh the same.
        cx, cy, radius = frame_of(
            np.ascontiguousarray(pts[:, 0]),
            np.ascontiguousarray(pts[:, 1]),
            self.target_offsets,
            C.FRAME_SAMPLES,
        )
        self.frame_center: FloatArray = np.array([cx, cy])
        self.frame_radius = float(radius)

    @property
    def n_targets(self) -> int:
        return len(self.targets)

    def __repr__(self) -> str:
        return (
            f"StepSpec(targets={self.n_targets}, tolerance={self.tolerance:g}"
            f" {self.tolerance_unit}, mode={self.mode!r}, directional={self.directional},"
            f" ordered={self.ordered})"
        )


def _offsets(sizes: Sequence[int]) -> IntArray:
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    out[1:] = np.cumsum(sizes)
    return out

"""What a learner drew: one stroke's columns, and what the device could report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.types import FloatArray

# Wire layout of a point batch (DESIGN.md, "Points on the wire").
WIRE_COLUMNS = ("x", "y", "t", "pressure", "tilt_x", "tilt_y")
N_WIRE_COLUMNS = len(WIRE_COLUMNS)
DEFAULT_PRESSURE = 0.5
DEFAULT_TILT = 0.0


@dataclass(frozen=True, slots=True)
class Device:
    """What the drawing device can report; columns it cannot are ignored by the scorer."""

    pressure: bool = False
    tilt: bool = False


def as_column(name: str, values: Any, length: int | None = None) -> FloatArray:
    """A 1-D, C-contiguous, finite float64 copy of `values`, or ValueError naming `name`."""
    try:
        arr = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not an array of numbers ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name}: length {arr.shape[0]} differs from x's length {length}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains a non-finite value (NaN or infinity)")
    return arr


class Stroke:
    """One stroke: 1-D columns of one length, t in milliseconds since the stroke began.

    Columns are float64, C-contiguous and finite; t never decreases (repeated times are
    allowed: real devices send them, see `scoring.ingest`). Missing pressure or tilt
    columns are filled with the wire defaults (0.5 and 0).
    """

    __slots__ = ("pressure", "t", "tilt_x", "tilt_y", "x", "y")

    x: FloatArray
    y: FloatArray
    t: FloatArray
    pressure: FloatArray
    tilt_x: FloatArray
    tilt_y: FloatArray

    def __init__(
        self,
        x: Any,
        y: Any,
        t: Any,
        pressure: Any = None,
        tilt_x: Any = None,
        tilt_y: Any = None,
    ) -> None:
        self.x = as_column("x", x)
        n = self.x.shape[0]
        self.y = as_column("y", y, n)
        self.t = as_column("t", t, n)
        if n > 1 and bool((np.diff(self.t) < 0).any()):
            raise ValueError(
                "t: timestamps decrease; repair device streams with scoring.repair_points"
            )
        self.pressure = (
            np.full(n, DEFAULT_PRESSURE) if pressure is None else as_column("pressure", pressure, n)
        )
        if pressure is not None and n and (self.pressure.min() < 0 or self.pressure.max() > 1):
            raise ValueError("pressure: values must lie in 0..1")
        self.tilt_x = np.zeros(n) if tilt_x is None else as_column("tilt_x", tilt_x, n)
        self.tilt_y = np.zeros(n) if tilt_y is None else as_column("tilt_y", tilt_y, n)
        for name, col in (("tilt_x", self.tilt_x), ("tilt_y", self.tilt_y)):
            if n and (col.min() < -90 or col.max() > 90):
                raise ValueError(f"{name}: values must lie in -90..90 degrees")

    @classmethod
    def from_points(cls, points: Any) -> Stroke:
        """A stroke from an (n, 6) array in the wire column order."""
        arr = np.asarray(points)
        if arr.ndim != 2 or arr.shape[1] != N_WIRE_COLUMNS:
            raise ValueError(f"points: expected shape (n, {N_WIRE_COLUMNS}), got {arr.shape}")
        return cls(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5])

    @classmethod
    def from_repaired(cls, points: FloatArray) -> Stroke:
        """A stroke from (n, 6) rows that `scoring.ingest` repaired. They hold every invariant
        already (finite, t never decreasing, pressure and tilt in range), so nothing is
        checked again: the live scorer makes one of these at every stroke's end. Each column
        is a C-contiguous float64 copy."""
        columns = np.ascontiguousarray(np.asarray(points, dtype=np.float64).T)
        stroke = cls.__new__(cls)
        stroke.x, stroke.y, stroke.t, stroke.pressure, stroke.tilt_x, stroke.tilt_y = columns
        return stroke

    def to_points(self) -> FloatArray:
        """The stroke as an (n, 6) float64 array in the wire column order."""
        return np.column_stack((self.x, self.y, self.t, self.pressure, self.tilt_x, self.tilt_y))

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def duration_ms(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self) else 0.0

    def __repr__(self) -> str:
        return f"Stroke(n={len(self)}, duration_ms={self.duration_ms:g})"

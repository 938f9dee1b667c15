"""Repairing real device streams before they are scored.

Real styluses and touch screens send what the scorer must not see: rows with NaN,
pressure or tilt out of range, timestamps that repeat (a coarse ~15.6 ms timer shares one
time between several points) or step back by a millisecond, and points sent twice.
Repair, point by point and in O(1) each, so it works the same on a live stream and on a
whole stroke:

- a row with a non-finite value is dropped;
- pressure is clipped to 0..1 and tilt to -90..90 degrees;
- a timestamp earlier than the last one is raised to it (t never decreases);
- a row equal in x, y and t to the previous kept row is dropped.

When the stroke is complete, runs of equal timestamps are spread evenly up to the next
distinct time, so speeds are finite (`spread_timestamps`). Every repair is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring._jit import kernel
from scoring.stroke import N_WIRE_COLUMNS, Stroke
from scoring.types import FloatArray, IntArray

# repair counters
R_NONFINITE = 0
R_CLIPPED = 1
R_BACKWARD = 2
R_DUPLICATE = 3
R_SPREAD = 4
N_REPAIRS = 5

# stream state: the last kept row and whether there is one
ST_X = 0
ST_Y = 1
ST_T = 2
ST_HAS = 3
N_STATE = 4


@kernel
def repair_rows(rows, bits, mask, state, out, start, counts):
    """Repair `rows` (n, 6) into out[start:], returning how many rows were kept.

    `bits` is `rows` viewed as unsigned integers of the same width and `mask` its
    exponent mask: a value is non-finite exactly when all its exponent bits are set. The
    test is made on the integers because these kernels run with fast-math, under which
    LLVM may fold a floating-point NaN test away.
    """
    k = start
    for i in range(rows.shape[0]):
        finite = True
        for c in range(rows.shape[1]):
            if (bits[i, c] & mask) == mask:
                finite = False
        if not finite:
            counts[R_NONFINITE] += 1
            continue
        x = float(rows[i, 0])
        y = float(rows[i, 1])
        t = float(rows[i, 2])
        p = float(rows[i, 3])
        tx = float(rows[i, 4])
        ty = float(rows[i, 5])
        if p < 0.0 or p > 1.0 or tx < -90.0 or tx > 90.0 or ty < -90.0 or ty > 90.0:
            counts[R_CLIPPED] += 1
            p = min(max(p, 0.0), 1.0)
            tx = min(max(tx, -90.0), 90.0)
            ty = min(max(ty, -90.0), 90.0)
        if state[ST_HAS] != 0.0:
            if t < state[ST_T]:
                counts[R_BACKWARD] += 1
                t = state[ST_T]
            if x == state[ST_X] and y == state[ST_Y] and t == state[ST_T]:
                counts[R_DUPLICATE] += 1
                continue
        out[k, 0] = x
        out[k, 1] = y
        out[k, 2] = t
        out[k, 3] = p
        out[k, 4] = tx
        out[k, 5] = ty
        state[ST_X] = x
        state[ST_Y] = y
        state[ST_T] = t
        state[ST_HAS] = 1.0
        k += 1
    return k - start


@kernel
def spread_timestamps(t):
    """Spread runs of equal times evenly up to the next distinct time, in place.

    A run at the very end has no next time: it gets the stroke's median positive step,
    shared among the run. Returns how many timestamps moved.
    """
    n = t.shape[0]
    moved = 0
    if n < 2:
        return 0
    steps = np.diff(t)
    pos = steps[steps > 0.0]
    typical = np.median(pos) if pos.shape[0] > 0 else 0.0
    i = 0
    while i < n:
        j = i + 1
        while j < n and t[j] == t[i]:
            j += 1
        run = j - i
        if run > 1:
            step = (t[j] - t[i]) / run if j < n else typical / run
            if step > 0.0:
                for k in range(i + 1, j):
                    t[k] = t[i] + (k - i) * step
                    moved += 1
        i = j
    return moved


@dataclass(frozen=True, slots=True)
class RepairReport:
    """How many repairs of each kind a stream needed."""

    dropped_nonfinite: int = 0
    clipped: int = 0
    backward_t: int = 0
    duplicates: int = 0
    spread_t: int = 0

    @classmethod
    def from_counts(cls, counts: IntArray) -> RepairReport:
        return cls(*(int(c) for c in counts[:N_REPAIRS]))

    @property
    def total(self) -> int:
        return (
            self.dropped_nonfinite
            + self.clipped
            + self.backward_t
            + self.duplicates
            + self.spread_t
        )


_F32_EXPONENT = np.uint32(0x7F800000)
_F64_EXPONENT = np.uint64(0x7FF0000000000000)


def as_bits(rows: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.unsignedinteger[Any]]:
    """The integer view and exponent mask `repair_rows` tests finiteness with."""
    if rows.dtype == np.float32:
        return rows.view(np.uint32), _F32_EXPONENT
    return rows.view(np.uint64), _F64_EXPONENT


def _as_rows(points: Any) -> np.ndarray[Any, Any]:
    arr = np.asarray(points)
    if arr.ndim != 2 or arr.shape[1] != N_WIRE_COLUMNS:
        raise ValueError(f"points: expected shape (n, {N_WIRE_COLUMNS}), got {arr.shape}")
    if arr.dtype not in (np.float32, np.float64):
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"points: not an array of numbers ({exc})") from None
    return np.ascontiguousarray(arr)


def repair_points(points: Any) -> tuple[FloatArray, RepairReport]:
    """A whole stroke's (n, 6) wire rows, repaired: (clean float64 rows, what was repaired)."""
    rows = _as_rows(points)
    out = np.empty((rows.shape[0], N_WIRE_COLUMNS))
    counts = np.zeros(N_REPAIRS, dtype=np.int64)
    kept = repair_rows(rows, *as_bits(rows), np.zeros(N_STATE), out, 0, counts)
    clean = out[:kept]
    t = np.ascontiguousarray(clean[:, 2])
    counts[R_SPREAD] = spread_timestamps(t)
    clean[:, 2] = t
    return clean, RepairReport.from_counts(counts)


def repair_stroke(points: Any) -> tuple[Stroke, RepairReport]:
    """Repair a device stream and build the Stroke the scorer accepts."""
    clean, report = repair_points(points)
    return Stroke.from_points(clean), report


class StreamRepair:
    """The same repairs for a stroke that arrives in batches (O(batch) per call)."""

    def __init__(self) -> None:
        self.state = np.zeros(N_STATE)
        self.counts = np.zeros(N_REPAIRS, dtype=np.int64)

    def feed(self, rows: Any, out: FloatArray, start: int) -> int:
        """Repair `rows` into `out[start:]` (which must have room); returns rows kept."""
        arr = _as_rows(rows)
        return int(repair_rows(arr, *as_bits(arr), self.state, out, start, self.counts))

    @property
    def report(self) -> RepairReport:
        return RepairReport.from_counts(self.counts)

"""Scoring while the learner draws.

Theory of operation: a stroke arrives as point batches. Each batch goes through one
kernel call that repairs its rows (scoring.ingest), appends them to the stroke's buffer
and, for each new point only, finds its distance to the stroke's target and where along
the target it is, marking the coverage bins it sweeps. Nothing is recomputed over the
points already seen, so a batch costs O(batch) whatever the stroke's length. The target
is chosen at the stroke's first point: in an ordered step, the next one in order;
otherwise the unused target whose start is nearest (either end when direction is free).
At the end of a stroke it is scored in full, and its per-target rows are kept so the
step's result only re-runs the assignment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scoring import constants as C
from scoring._jit import loop_kernel
from scoring.geometry import arc_delta, mark_bins
from scoring.ingest import (
    N_REPAIRS,
    N_STATE,
    RepairReport,
    as_bits,
    repair_rows,
    spread_timestamps,
)
from scoring.nearest import project_all
from scoring.result import LiveFeedback, StepResult, StrokeScore
from scoring.spec import StepSpec
from scoring.step import Packed, assemble, assign, measure_packed, score_step, score_stroke
from scoring.stroke import N_WIRE_COLUMNS, Device, Stroke
from scoring.types import FloatArray

# live state
L_PREV_S = 0
L_PREV_D = 1
L_PREV_X = 2
L_PREV_Y = 3
L_HAS_PREV = 4
L_SHIFT_X = 5
L_SHIFT_Y = 6
L_MAX_DEV = 7
L_COVERED = 8
N_LIVE = 9

_INITIAL_CAPACITY = 512
_F32 = np.dtype(np.float32)  # compared as a dtype: against the scalar type numpy converts it
_COVERAGE_BINS = float(C.COVERAGE_BINS)


@loop_kernel
def live_update(
    rows,
    bits,
    mask,
    buf,
    start,
    rstate,
    counts,
    seg,
    grid,
    cell_start,
    cand,
    length,
    closed,
    tol,
    bins,
    lstate,
):
    """Repair and append `rows`, update coverage; returns (kept, deviation of the last point)."""
    kept = repair_rows(rows, bits, mask, rstate, buf, start, counts)
    if kept == 0:
        return 0, lstate[L_PREV_D]
    x = buf[start : start + kept, 0] + lstate[L_SHIFT_X]
    y = buf[start : start + kept, 1] + lstate[L_SHIFT_Y]
    d = np.empty(kept)
    s = np.empty(kept)
    project_all(x, y, seg, grid, cell_start, cand, d, s)
    reach = C.COVER_REACH * tol
    for i in range(kept):
        lstate[L_MAX_DEV] = max(lstate[L_MAX_DEV], d[i])
        if d[i] <= reach:
            mark_bins(bins, s[i], s[i], length, closed)
            if lstate[L_HAS_PREV] != 0.0 and lstate[L_PREV_D] <= reach:
                moved = np.hypot(x[i] - lstate[L_PREV_X], y[i] - lstate[L_PREV_Y])
                if abs(arc_delta(lstate[L_PREV_S], s[i], length, closed)) <= moved + 2.0 * reach:
                    mark_bins(bins, lstate[L_PREV_S], s[i], length, closed)
        lstate[L_PREV_S] = s[i]
        lstate[L_PREV_D] = d[i]
        lstate[L_PREV_X] = x[i]
        lstate[L_PREV_Y] = y[i]
        lstate[L_HAS_PREV] = 1.0
    covered = 0
    for b in range(bins.shape[0]):
        if bins[b]:
            covered += 1
    lstate[L_COVERED] = covered
    return kept, d[kept - 1]


def _target_args(spec: StepSpec) -> list[tuple[Any, ...]]:
    """Each target's arguments to `live_update`, sliced out of the spec once per step, not
    once per batch (and its scalars as Python's own, which numba's dispatch types fastest)."""
    args = []
    for j in range(spec.n_targets):
        args.append((
            spec.segments[spec.seg_offsets[j] : spec.seg_offsets[j + 1]], spec.grids[j],
            spec.cell_starts[spec.cell_offsets[j] : spec.cell_offsets[j + 1]],
            spec.cands[spec.cand_offsets[j] : spec.cand_offsets[j + 1]],
            float(spec.target_lengths[j]), bool(spec.target_closed[j]), float(spec.tolerance_px),
        ))  # fmt: skip
    return args


class LiveScorer:
    """Scores one step while it is drawn: begin_stroke, add_points..., end_stroke, result."""

    def __init__(self, spec: StepSpec, device: Device | None = None) -> None:
        self.spec = spec
        self.device = device or Device()
        self._strokes: list[Stroke] = []
        self._acc: list[FloatArray] = []
        self._qual: list[FloatArray] = []
        self._targets: list[int] = []
        self._buf = np.empty((_INITIAL_CAPACITY, N_WIRE_COLUMNS))
        self._n = 0
        self._drawing = False
        self._rstate = np.zeros(N_STATE)
        self._counts = np.zeros(N_REPAIRS, dtype=np.int64)
        self._total_counts = np.zeros(N_REPAIRS, dtype=np.int64)
        self._lstate = np.zeros(N_LIVE)
        self._bins = np.zeros(C.COVERAGE_BINS, dtype=np.bool_)
        self._target = -1
        self._target_args = _target_args(spec)

    # -- drawing --------------------------------------------------------------------------

    @property
    def drawing(self) -> bool:
        return self._drawing

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        return tuple(self._strokes)

    def begin_stroke(self) -> None:
        if self._drawing:
            raise RuntimeError("begin_stroke: a stroke is already being drawn")
        self._drawing = True
        self._n = 0
        self._rstate[:] = 0.0
        self._counts[:] = 0
        self._lstate[:] = 0.0
        self._bins[:] = False
        self._target = -1

    def add_points(self, batch: Any) -> LiveFeedback:
        """Take an (n, 6) batch in the wire layout; answer with live feedback."""
        if not self._drawing:
            raise RuntimeError("add_points: no stroke begun")
        rows = batch if isinstance(batch, np.ndarray) else np.asarray(batch)
        shape = rows.shape
        if len(shape) != 2 or shape[1] != N_WIRE_COLUMNS:
            raise ValueError(f"batch: expected shape (n, {N_WIRE_COLUMNS}), got {rows.shape}")
        if rows.dtype != _F32 or not rows.flags.c_contiguous:
            rows = np.ascontiguousarray(rows, dtype=np.float64)
        need = self._n + rows.shape[0]
        if need > self._buf.shape[0]:
            grown = np.empty((max(need, 2 * self._buf.shape[0]), N_WIRE_COLUMNS))
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        if self._target < 0 and not self._choose_target(rows):
            return LiveFeedback(0, 0.0, 0.0, False, self._n)
        seg, grid, cells, cands, length, closed, tol = self._target_args[self._target]
        bits, mask = as_bits(rows)
        kept, deviation = live_update(
            rows, bits, mask, self._buf, self._n, self._rstate, self._counts,
            seg, grid, cells, cands, length, closed, tol, self._bins, self._lstate,
        )  # fmt: skip
        self._n += kept
        return LiveFeedback(
            self._target, self._lstate.item(L_COVERED) / _COVERAGE_BINS, deviation,
            deviation > tol, self._n,
        )  # fmt: skip

    def _choose_target(self, rows: Any) -> bool:
        finite = np.isfinite(rows).all(axis=1)
        if not finite.any():
            return False
        first = rows[int(np.argmax(finite))]
        px, py = float(first[0]), float(first[1])
        spec = self.spec
        if spec.ordered:
            j = min(len(self._strokes), spec.n_targets - 1)
        else:
            free = [k for k in range(spec.n_targets) if k not in self._targets]
            candidates = free or list(range(spec.n_targets))

            def distance(k: int) -> float:
                t = spec.targets[k]
                ends = [t[0]] if spec.directional else [t[0], t[-1]]
                return min(float(np.hypot(px - e[0], py - e[1])) for e in ends)

            j = min(candidates, key=distance)
        self._target = j
        if spec.mode == "copy":
            # Position is free in copy mode: measure live from the target's start.
            start = spec.targets[j][0]
            self._lstate[L_SHIFT_X] = start[0] - px
            self._lstate[L_SHIFT_Y] = start[1] - py
        return True

    def end_stroke(self) -> StrokeScore:
        """Finish the stroke; score it against the step so far."""
        if not self._drawing:
            raise RuntimeError("end_stroke: no stroke begun")
        self._drawing = False
        points = self._buf[: self._n].copy()
        t = np.ascontiguousarray(points[:, 2])
        self._counts[4] += spread_timestamps(t)
        points[:, 2] = t
        self._total_counts += self._counts
        stroke = Stroke.from_repaired(points)  # repaired as it came: not checked again
        self._strokes.append(stroke)
        self._targets.append(self._target)
        if self.spec.mode == "copy":  # the frame moves with every stroke: rescore the step
            return self.result().strokes[-1]
        acc, qual = measure_packed(self.spec, Packed([stroke]), self.device)
        self._acc.append(acc[0])
        self._qual.append(qual[0])
        # Only this stroke's score is wanted: assign over the step (a new stroke can take a
        # target from an earlier one) but score just the last stroke, not all of them again.
        last = len(self._strokes) - 1
        pairs = assign(np.stack([a[:, 0] for a in self._acc]))
        target = next((j for i, j in pairs if i == last), None)
        return score_stroke(self.spec, self.device, last, target, acc[0], qual[0].tolist())

    # -- the step ------------------------------------------------------------------------

    def undo(self) -> None:
        """Take back the last finished stroke (or abandon the one being drawn)."""
        if self._drawing:
            self._drawing = False
            return
        if self._strokes:
            self._strokes.pop()
            self._targets.pop()
            if self._acc:
                self._acc.pop()
                self._qual.pop()

    def reset(self) -> None:
        """Start the step over (a retry)."""
        self.__init__(self.spec, self.device)  # type: ignore[misc]

    def result(self) -> StepResult:
        if self.spec.mode == "copy" or not self._strokes:
            return score_step(self.spec, self._strokes, self.device)
        acc = np.stack(self._acc)
        qual = np.stack(self._qual)
        return assemble(self.spec, self.device, acc, qual, assign(acc[:, :, 0]))

    @property
    def repairs(self) -> RepairReport:
        """Repairs over the finished strokes and the one being drawn."""
        return RepairReport.from_counts(self._total_counts + (self._counts if self._drawing else 0))

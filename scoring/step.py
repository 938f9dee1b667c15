"""Scoring a whole step: match drawn strokes to targets, then blend accuracy and quality.

Every (stroke, target) pair is scored by one kernel call (scoring/accuracy.py) and every
stroke's quality by another (scoring/quality.py); this module only assigns strokes to
targets (scipy's linear_sum_assignment, maximising accuracy, so hatching can be drawn in
any order), applies the step-level rules (missing and extra strokes, order) and writes
the result and the feedback.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

import numpy as np
from scipy.optimize import linear_sum_assignment

from scoring import accuracy as A
from scoring import constants as C
from scoring import quality as Q
from scoring.feedback import Feedback
from scoring.geometry import frame_of
from scoring.geometry import soft_score as g
from scoring.measure import measure
from scoring.result import StepResult, StrokeScore
from scoring.spec import StepSpec
from scoring.stroke import Device, Stroke
from scoring.types import FloatArray, IntArray

_NO_DEVICE = Device()

# Per-stroke metric names for the accuracy and quality rows.
_PAIR_METRICS = (
    ("closeness", A.A_CLOSENESS),
    ("coverage", A.A_COVERAGE),
    ("shape", A.A_SHAPE),
    ("start", A.A_START),
    ("end", A.A_END),
    ("length", A.A_LENGTH),
    ("direction", A.A_DIRECTION),
    ("within_tolerance", A.A_WITHIN),
    ("mean_deviation_px", A.A_MEAN_DEV),
    ("max_deviation_px", A.A_MAX_DEV),
    ("dtw_tol", A.A_DTW),
    ("frechet_tol", A.A_FRECHET),
    ("start_error_tol", A.A_START_DIST),
    ("end_error_tol", A.A_END_DIST),
    ("length_ratio", A.A_LENGTH_RATIO),
    ("direction_index", A.A_DIR_INDEX),
)
_QUALITY_METRICS = (
    ("smoothness", Q.Q_SMOOTHNESS),
    ("jitter_tol", Q.Q_JITTER),
    ("ldlj", Q.Q_LDLJ),
    ("speed", Q.Q_SPEED),
    ("speed_cv", Q.Q_SPEED_CV),
    ("hesitation", Q.Q_HESITATION),
    ("pauses", Q.Q_PAUSES),
    ("duration_ms", Q.Q_DURATION),
    ("length_px", Q.Q_LENGTH),
    ("mean_speed_px_s", Q.Q_MEAN_SPEED),
)
_GEOMETRY_ORDER = ("reversed", "off_path", "incomplete", "start_off", "end_off")
_QUALITY_ORDER = ("wobbly", "hesitation", "uneven_speed", "uneven_pressure")
_STEP_ORDER = ("missing_strokes", "extra_strokes", "wrong_order")
_RANK = {code: i for i, code in enumerate(_STEP_ORDER + _GEOMETRY_ORDER + _QUALITY_ORDER)}


class Packed:
    """Strokes as the kernels take them: columns concatenated, with offsets."""

    __slots__ = ("off", "p", "t", "tx", "ty", "x", "y")

    def __init__(self, strokes: Sequence[Stroke]) -> None:
        if len(strokes) == 1:
            s = strokes[0]
            self.x, self.y, self.t = s.x, s.y, s.t
            self.p, self.tx, self.ty = s.pressure, s.tilt_x, s.tilt_y
            self.off: IntArray = np.array([0, s.x.shape[0]], dtype=np.int64)
            return
        self.x = np.concatenate([s.x for s in strokes])
        self.y = np.concatenate([s.y for s in strokes])
        self.t = np.concatenate([s.t for s in strokes])
        self.p = np.concatenate([s.pressure for s in strokes])
        self.tx = np.concatenate([s.tilt_x for s in strokes])
        self.ty = np.concatenate([s.tilt_y for s in strokes])
        off = np.zeros(len(strokes) + 1, dtype=np.int64)
        off[1:] = np.cumsum([len(s) for s in strokes])
        self.off = off

    def to_frame(self, spec: StepSpec) -> None:
        """Copy mode: move and scale the drawing onto the targets' centroid and size."""
        cx, cy, radius = frame_of(self.x, self.y, self.off, C.FRAME_SAMPLES)
        scale = spec.frame_radius / radius if radius > 0.0 else 1.0
        self.x = (self.x - cx) * scale + spec.frame_center[0]
        self.y = (self.y - cy) * scale + spec.frame_center[1]


def measure_packed(spec: StepSpec, packed: Packed, device: Device) -> tuple[FloatArray, FloatArray]:
    """Accuracy rows of every (stroke, target) pair and quality rows of every stroke."""
    return measure(
        spec, packed.x, packed.y, packed.t, packed.p, packed.tx, packed.ty, packed.off, device
    )


def pair_metrics(spec: StepSpec, packed: Packed, device: Device) -> FloatArray:
    """The (strokes, targets, N_ACCURACY) accuracy rows of every pair."""
    return measure_packed(spec, packed, device)[0]


def quality_metrics(spec: StepSpec, packed: Packed, device: Device) -> FloatArray:
    """The (strokes, N_QUALITY) quality rows of every stroke."""
    return measure_packed(spec, packed, device)[1]


def assign(acc: FloatArray) -> list[tuple[int, int]]:
    """(stroke, target) pairs maximising total accuracy, in drawing order."""
    if acc.shape == (1, 1):
        return [(0, 0)]
    rows, cols = linear_sum_assignment(acc, maximize=True)
    return sorted(zip(rows.tolist(), cols.tolist(), strict=True))


_PAIR_NAMES = tuple(name for name, _k in _PAIR_METRICS)
_PAIR_PICK = itemgetter(*(k for _name, k in _PAIR_METRICS))
_QUALITY_NAMES = tuple(name for name, _k in _QUALITY_METRICS)
_QUALITY_PICK = itemgetter(*(k for _name, k in _QUALITY_METRICS))
_WS, _WV, _WH = (C.QUALITY_WEIGHTS[k] for k in ("smoothness", "speed", "hesitation"))
_WP, _WT = C.QUALITY_WEIGHTS["pressure"], C.QUALITY_WEIGHTS["tilt"]


def _pressure_score(profile_error: float | None, qrow: list[float]) -> float:
    if profile_error is not None and profile_error >= 0.0:
        return float(g(profile_error / C.PROFILE_ERR_OK))
    return qrow[Q.Q_PRESSURE]


def stroke_quality(qrow: list[float], pressure: float, device: Device) -> float:
    """A stroke's quality: its available components, weights renormalised over them."""
    total = _WS * qrow[Q.Q_SMOOTHNESS] + _WV * qrow[Q.Q_SPEED] + _WH * qrow[Q.Q_HESITATION]
    weight = _WS + _WV + _WH
    if device.pressure:
        total += _WP * pressure
        weight += _WP
    if device.tilt:
        total += _WT * qrow[Q.Q_TILT]
        weight += _WT
    return total / weight


def stroke_feedback(
    spec: StepSpec, pair: list[float] | None, qrow: list[float], pressure: float,
    device: Device, target: int | None,
) -> list[Feedback]:  # fmt: skip
    found: list[Feedback] = []
    if pair is not None:
        reversed_ = spec.directional and pair[A.A_DIR_INDEX] < C.DIRECTION_REVERSED
        if reversed_:
            found.append(Feedback.of("reversed", target))
        if pair[A.A_WITHIN] < C.FEEDBACK_WITHIN:
            found.append(Feedback.of("off_path", target))
        if pair[A.A_COVERAGE] < C.FEEDBACK_COVERAGE:
            found.append(Feedback.of("incomplete", target))
        if not reversed_ and pair[A.A_START_DIST] > 1.0:
            found.append(Feedback.of("start_off", target))
        if not reversed_ and pair[A.A_END_DIST] > 1.0:
            found.append(Feedback.of("end_off", target))
    if qrow[Q.Q_SMOOTHNESS] < C.FEEDBACK_COMPONENT:
        found.append(Feedback.of("wobbly", target))
    if qrow[Q.Q_PAUSES] >= 1.0:
        found.append(Feedback.of("hesitation", target))
    if qrow[Q.Q_SPEED] < C.FEEDBACK_COMPONENT:
        found.append(Feedback.of("uneven_speed", target))
    if device.pressure and pressure < C.FEEDBACK_COMPONENT:
        found.append(Feedback.of("uneven_pressure", target))
    return found


def _inversions(sequence: list[int]) -> int:
    return sum(1 for i, a in enumerate(sequence) for b in sequence[i + 1 :] if a > b)


def _empty(spec: StepSpec) -> StepResult:
    metrics = {"accuracy": 0.0, "quality": 0.0, "total": 0.0, "strokes": 0.0}
    metrics.update(targets=float(spec.n_targets), missing=float(spec.n_targets), extra=0.0)
    return StepResult(
        0.0, 0.0, 0.0, False, metrics, (Feedback.of("missing_strokes"),),
        scorer_version=C.SCORER_VERSION,
    )  # fmt: skip


def score_step(
    spec: StepSpec, strokes: Sequence[Stroke], device: Device = _NO_DEVICE
) -> StepResult:
    """Score the strokes a learner drew for one step."""
    if not isinstance(spec, StepSpec):
        raise TypeError(f"spec: expected a StepSpec, got {type(spec).__name__}")
    strokes = list(strokes)
    for i, s in enumerate(strokes):
        if not isinstance(s, Stroke):
            raise TypeError(f"strokes[{i}]: expected a Stroke, got {type(s).__name__}")
    if not strokes:
        return _empty(spec)
    packed = Packed(strokes)
    if spec.mode == "copy":
        packed.to_frame(spec)
    acc, qual = measure_packed(spec, packed, device)
    pairs = assign(acc[:, :, A.A_ACCURACY])
    return assemble(spec, device, acc, qual, pairs)


def assemble(
    spec: StepSpec, device: Device, acc: FloatArray, qual: FloatArray,
    pairs: list[tuple[int, int]],
) -> StepResult:  # fmt: skip
    n_strokes, n_targets = acc.shape[0], acc.shape[1]
    target_of: list[int | None] = [None] * n_strokes
    for i, matched in pairs:
        target_of[i] = matched
    n_missing = n_targets - len(pairs)
    n_extra = n_strokes - len(pairs)

    # Plain Python floats from here on: a handful of numbers per stroke, where numpy
    # scalars would cost more than the arithmetic.
    qrows = qual.tolist()
    scores = [
        score_stroke(spec, device, i, target_of[i], acc[i], qrows[i]) for i in range(n_strokes)
    ]
    feedback = [item for score in scores for item in score.feedback]
    w_acc, w_qual = spec.weights["accuracy"], spec.weights["quality"]

    accuracy = sum(s.accuracy for s in scores) / (n_targets + C.EXTRA_STROKE_WEIGHT * n_extra)
    inversions = 0
    if spec.ordered and len(pairs) > 1:
        sequence = [j for _i, j in pairs]
        inversions = _inversions(sequence)
        worst = len(sequence) * (len(sequence) - 1) / 2
        accuracy *= 1.0 - C.ORDER_PENALTY * inversions / worst
        if inversions:
            feedback.append(Feedback.of("wrong_order"))
    if n_missing:
        feedback.append(Feedback.of("missing_strokes"))
    if n_extra:
        feedback.append(Feedback.of("extra_strokes"))

    drawn = sum(s.metrics["length_px"] for s in scores)
    if drawn > 0:
        quality = sum(s.metrics["length_px"] * s.quality for s in scores) / drawn
    else:
        quality = sum(s.quality for s in scores) / n_strokes
    total = w_acc * accuracy + w_qual * quality
    # A stroke with no duration or no length was not drawn by a hand: it may score, never pass.
    drawn_over_time = [qrows[i][Q.Q_DURATION] > 0 and qrows[i][Q.Q_LENGTH] > 0 for i, _j in pairs]
    metrics = _step_metrics(scores, pairs)
    metrics.update(
        accuracy=accuracy, quality=quality, total=total, strokes=float(n_strokes),
        targets=float(n_targets), missing=float(n_missing), extra=float(n_extra),
        order_inversions=float(inversions),
    )  # fmt: skip
    return StepResult(
        accuracy=accuracy,
        quality=quality,
        total=total,
        passed=total >= spec.pass_score and n_missing == 0 and all(drawn_over_time),
        metrics=metrics,
        feedback=_dedupe(feedback),
        strokes=tuple(scores),
        assignment=tuple(target_of),
        scorer_version=C.SCORER_VERSION,
    )


def score_stroke(
    spec: StepSpec, device: Device, i: int, j: int | None, acc: FloatArray, qrow: list[float]
) -> StrokeScore:
    """Stroke `i`'s score, matched to target `j` (None: an extra stroke), from its accuracy
    rows against every target, `acc` (targets, N_ACCURACY), and its quality row; the same
    whether the whole step is assembled or the live scorer wants just the stroke it ended."""
    pair = None if j is None else acc[j].tolist()
    if device.pressure:
        pressure = _pressure_score(None if pair is None else pair[A.A_PROFILE_ERR], qrow)
    else:
        pressure = 0.0
    quality = stroke_quality(qrow, pressure, device)
    accuracy = 0.0 if pair is None else pair[A.A_ACCURACY]
    metrics = {"accuracy": accuracy, "quality": quality}
    if pair is not None:
        metrics.update(zip(_PAIR_NAMES, _PAIR_PICK(pair), strict=True))
    metrics.update(zip(_QUALITY_NAMES, _QUALITY_PICK(qrow), strict=True))
    if device.pressure:
        metrics["pressure"] = pressure
    if device.tilt:
        metrics["tilt"] = qrow[Q.Q_TILT]
        metrics["tilt_std_deg"] = qrow[Q.Q_TILT_STD]
    items = stroke_feedback(spec, pair, qrow, pressure, device, j)
    total = spec.weights["accuracy"] * accuracy + spec.weights["quality"] * quality
    return StrokeScore(i, j, accuracy, quality, total, metrics, tuple(items))


_SUMMED = frozenset({"duration_ms", "pauses", "length_px"})


def _step_metrics(scores: list[StrokeScore], pairs: list[tuple[int, int]]) -> dict[str, float]:
    """Component metrics of the step: means over matched strokes (quality: all strokes)."""
    if len(scores) == 1:
        return dict(scores[0].metrics)
    out: dict[str, float] = {}
    matched = [scores[i].metrics for i, _j in pairs]
    if matched:
        for name in _PAIR_NAMES:
            values = [m[name] for m in matched]
            out[name] = max(values) if name.startswith("max_") else sum(values) / len(values)
    every = [s.metrics for s in scores]
    for name in (*_QUALITY_NAMES, "pressure", "tilt", "tilt_std_deg"):
        if name in every[0]:
            values = [m[name] for m in every]
            out[name] = sum(values) if name in _SUMMED else sum(values) / len(values)
    return out


def _dedupe(items: list[Feedback]) -> tuple[Feedback, ...]:
    """One item per code (the first target it concerns), most important first."""
    seen: dict[str, Feedback] = {}
    for item in items:
        seen.setdefault(item.code, item)
    return tuple(sorted(seen.values(), key=lambda f: _RANK[f.code]))

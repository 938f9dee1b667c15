"""Strokes for bots and the load test: real human strokes fitted onto a step's targets, or
synthesised ones. Pure: numpy only, no I/O except reading the data file in `StrokeBank.load`.

Theory of operation.

- **The bank.** Every pen stroke of the MMG set (`inkroom_client.mmg`) long enough to be a
  mark (`MIN_POINTS`, `MIN_DURATION_MS`, `MIN_LENGTH_PX`) is kept as it was recorded: x, y in
  the data's pixels and t in milliseconds from the stroke's first point, timer artefacts and
  all (the server repairs them, as it does for any real device). Its shape signature is the
  stroke resampled at `FIT_POINTS` points evenly spaced along its length, as complex numbers,
  centred and scaled to unit norm.
- **The fit.** A stroke is put onto a target polyline by the similarity (rotation, uniform
  scale, translation, and a mirror image where that fits better) that maps its signature onto
  the target's with the least squared error: orthogonal Procrustes in the complex plane.
  Point k of one signature corresponds to point k of the other, so the stroke's start lands on
  the target's start and its direction is the target's; a closed stroke fits a closed target
  whatever point it started from, because a rotation moves that point round. For unit-norm
  signatures z and w the best residual is `1 - |<z, w>|^2` (0: the same shape), computed for the
  whole bank at once, so choosing a stroke for a target ranks every stroke in the bank and picks
  one of the best few at random: a line for a line, an arc for an arc.
- **Synthesis** (no data file, or asked for): the target's polyline swept with a minimum-jerk
  speed profile, sampled at a jittery ~120 Hz with some repeated timestamps, plus a slow
  wandering drift and a little tremor.
- **Pressure and tilt.** The MMG set has neither: where a stroke carries `pressure` it is used;
  otherwise pressure follows the step's profile for that target where it has one (a list along
  the stroke's length, or "downstrokes": heavier going down), else a light-heavy-light bell,
  with jitter. Tilt drifts around a pen held at ~25 degrees.
- **Batches.** `batches(rows, window_ms)` groups a stroke's points into the batches a client
  sends every `window_ms` of the stroke's own time, each due at the end of its window.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from inkroom_client.mmg import data_path, gestures

XY = npt.NDArray[np.float64]  # (n, 2)
Column = npt.NDArray[np.float64]  # (n,)
Rows = npt.NDArray[np.float32]  # (n, 6): x, y, t, pressure, tilt_x, tilt_y
Shape = XY  # the load test's name: (n, 2) at a fixed rate
Profile = None | str | Sequence[float]  # one target's pressure profile (docs/lessons.md)

FIT_POINTS: Final = 32
TOP_CHOICES: Final = 8  # a stroke is picked at random among the best-fitting few
MIN_POINTS: Final = 8
MIN_DURATION_MS: Final = 40.0
MIN_LENGTH_PX: Final = 20.0
BATCH_MS: Final = 16.0  # a browser sends its points about once a frame
SYNTH_HZ: Final = 120.0
# the load test's rate-resampled shapes
RESAMPLE_MIN_POINTS: Final = 12
RESAMPLE_MAX_POINTS: Final = 2_000


@dataclass(frozen=True, slots=True)
class HumanStroke:
    xy: XY  # the data's pixels
    t: Column  # ms from the stroke's first point, as recorded
    pressure: Column | None  # 0..1 when the data has it
    label: str  # the gesture it came from ("D", "asterisk", ...)


@dataclass(frozen=True, slots=True)
class Similarity:
    """w = a * (z - src) + dst in complex coordinates, z conjugated first when `mirror`."""

    a: complex
    mirror: bool
    src: complex
    dst: complex
    residual: float  # 0 (same shape) .. 1

    def apply(self, xy: XY) -> XY:
        z = xy[:, 0] + 1j * xy[:, 1]
        if self.mirror:
            z = np.conj(z)
        w = self.a * (z - self.src) + self.dst
        return np.column_stack((w.real, w.imag))


# -- shapes ---------------------------------------------------------------------------------


def path_length(xy: XY) -> float:
    return float(np.hypot(*np.diff(xy, axis=0).T).sum()) if len(xy) > 1 else 0.0


def arc_resample(xy: XY, n: int = FIT_POINTS) -> XY:
    """n points evenly spaced along the polyline's length (n copies of it if it has none)."""
    xy = np.asarray(xy, dtype=np.float64)
    seg = np.hypot(*np.diff(xy, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    if cum[-1] <= 0.0:
        return np.repeat(xy[:1], n, axis=0)
    at = np.linspace(0.0, cum[-1], n)
    return np.column_stack((np.interp(at, cum, xy[:, 0]), np.interp(at, cum, xy[:, 1])))


def _signature(xy: XY) -> tuple[npt.NDArray[np.complex128], complex, float]:
    """The centred unit-norm signature, the centre, and the norm before scaling."""
    r = arc_resample(xy)
    z = r[:, 0] + 1j * r[:, 1]
    centre = complex(z.mean())
    z = z - centre
    norm = float(np.sqrt((np.abs(z) ** 2).sum()))
    return (z / norm if norm > 0 else z), centre, norm


def similarity(xy: XY, target: XY) -> Similarity:
    """The similarity that best maps stroke `xy` onto polyline `target` (see the module)."""
    z, src, z_norm = _signature(xy)
    w, dst, w_norm = _signature(target)
    if z_norm == 0.0 or w_norm == 0.0:
        return Similarity(0j, False, src, dst, 1.0)
    direct = complex(np.vdot(z, w))  # sum(conj(z) * w)
    mirrored = complex(np.sum(z * w))  # the same with conj(z) for z
    mirror = abs(mirrored) > abs(direct)
    inner = mirrored if mirror else direct
    if inner == 0j:
        return Similarity(0j, False, src, dst, 1.0)
    # The least-squares scale would be |inner| * w_norm / z_norm, shrinking a poor fit towards
    # the centre; a person draws the target's size, so the rotation keeps the sizes equal.
    return Similarity(
        a=inner / abs(inner) * (w_norm / z_norm),
        mirror=mirror,
        src=complex(np.conj(src)) if mirror else src,
        dst=dst,
        residual=max(0.0, 1.0 - abs(inner) ** 2),
    )


def fit_onto(xy: XY, target: XY) -> XY:
    """The stroke's points moved onto the target by `similarity`, every point kept."""
    fit = similarity(xy, target)
    if fit.a == 0j:
        return np.repeat(np.asarray(target, np.float64)[:1], len(xy), axis=0)
    return fit.apply(xy)


# -- the bank of real strokes ------------------------------------------------------------------


class StrokeBank:
    """Real human strokes and their signatures; empty (`source == "synthetic"`) without data."""

    def __init__(
        self, strokes: Sequence[HumanStroke], source: str, gaps_ms: Sequence[float] = ()
    ) -> None:
        self.strokes = list(strokes)
        self.source = source
        self.gaps_ms = np.asarray(gaps_ms, dtype=np.float64)  # real pen-up times between strokes
        sigs = [_signature(s.xy)[0] for s in self.strokes]
        self._signatures = (
            np.vstack(sigs) if sigs else np.empty((0, FIT_POINTS), dtype=np.complex128)
        )

    def __len__(self) -> int:
        return len(self.strokes)

    @classmethod
    def load(
        cls, path: Path | None = None, *, inputs: tuple[str, ...] = ("pen",), limit: int = 0
    ) -> StrokeBank:
        """The strokes of the MMG file at `path` (default: where `inkroom_client.mmg` finds it)
        drawn with one of `inputs`; at most `limit` (0: all). An absent file gives an empty bank."""
        path = path or data_path()
        if not path.is_file():
            return cls([], "synthetic")
        strokes: list[HumanStroke] = []
        gaps: list[float] = []
        for gesture in gestures(path):
            if gesture.get("input") not in inputs:
                continue
            previous_end: float | None = None
            for raw in gesture.get("strokes", []):
                stroke = human_stroke(raw, str(gesture.get("label", "")))
                t = raw.get("t") or [0.0]
                if previous_end is not None and t[0] > previous_end:
                    gaps.append(float(t[0]) - previous_end)
                previous_end = float(t[-1])
                if stroke is not None:
                    strokes.append(stroke)
            if limit and len(strokes) >= limit:
                break
        return cls(strokes, path.name, gaps)

    def residuals(self, target: XY) -> npt.NDArray[np.float64]:
        """How badly each stroke's shape fits the target's (0 best, 1 worst)."""
        w, _, norm = _signature(np.asarray(target, np.float64))
        if norm == 0.0 or not len(self):
            return np.ones(len(self))
        direct = np.abs(self._signatures.conj() @ w) ** 2
        mirrored = np.abs(self._signatures @ w) ** 2
        return np.asarray(1.0 - np.maximum(direct, mirrored), dtype=np.float64)

    def choose(self, target: XY, rng: np.random.Generator, top: int = TOP_CHOICES) -> HumanStroke:
        """One of the `top` strokes whose shape best fits the target, at random."""
        if not len(self):
            raise LookupError("the stroke bank is empty")
        residuals = self.residuals(target)
        best = np.argsort(residuals, kind="stable")[: max(1, top)]
        return self.strokes[int(best[int(rng.integers(len(best)))])]

    def gap_ms(self, rng: np.random.Generator) -> float:
        """A real pen-up time between two strokes of one gesture (ms)."""
        if len(self.gaps_ms):
            return float(self.gaps_ms[int(rng.integers(len(self.gaps_ms)))])
        return float(rng.uniform(250.0, 700.0))


def human_stroke(raw: dict[str, Any], label: str = "") -> HumanStroke | None:
    """One stroke of the data file, or None if it is too small to be a mark."""
    try:
        x = np.asarray(raw["x"], dtype=np.float64)
        y = np.asarray(raw["y"], dtype=np.float64)
        t = np.asarray(raw["t"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return None
    if x.ndim != 1 or not len(x) == len(y) == len(t) or len(x) < MIN_POINTS:
        return None
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(t).all()):
        return None
    t = t - t[0]
    xy = np.column_stack((x, y))
    if float(t.max()) < MIN_DURATION_MS or path_length(xy) < MIN_LENGTH_PX:
        return None
    pressure = None
    if "pressure" in raw:
        p = np.asarray(raw["pressure"], dtype=np.float64)
        if p.shape == x.shape and np.isfinite(p).all():
            pressure = np.clip(p, 0.0, 1.0)
    return HumanStroke(xy, np.maximum(t, 0.0), pressure, label)


# -- making a stroke for a target -----------------------------------------------------------


def synthesise(target: XY, rng: np.random.Generator, wobble: float = 2.5) -> tuple[XY, Column]:
    """A human-like stroke along `target`: (xy, t in ms)."""
    target = np.asarray(target, dtype=np.float64)
    seg = np.hypot(*np.diff(target, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    length = float(cum[-1])
    duration = float(np.clip(length / rng.uniform(350.0, 900.0) * 1000.0, 150.0, 4000.0))
    steps = rng.normal(1000.0 / SYNTH_HZ, 1.5, int(duration * SYNTH_HZ / 1000.0) + 2)
    t = np.concatenate(([0.0], np.cumsum(np.clip(steps, 1.0, None))))
    t = t[t <= duration]
    t = np.round(t)
    repeat = rng.random(len(t)) < 0.1  # a coarse timer repeats a timestamp now and then
    repeat[0] = False
    t[repeat] = t[np.flatnonzero(repeat) - 1]
    t = np.maximum.accumulate(t)
    tau = t / max(duration, 1.0)
    at = (10 * tau**3 - 15 * tau**4 + 6 * tau**5) * length
    xy = np.column_stack((np.interp(at, cum, target[:, 0]), np.interp(at, cum, target[:, 1])))
    drift = np.cumsum(rng.normal(0.0, 1.0, (len(t), 2)), axis=0)
    drift -= np.linspace(0.0, 1.0, len(t))[:, None] * drift[-1]  # ends near the target's end
    scale = float(np.abs(drift).max()) or 1.0
    xy = xy + drift / scale * wobble + rng.normal(0.0, wobble * 0.15, xy.shape)
    return xy, t


def pressure_along(
    xy: XY, profile: Profile, rng: np.random.Generator, jitter: float = 0.03
) -> Column:
    """Pressure for a stroke's points (see the module), in 0.05..1."""
    n = len(xy)
    seg = np.hypot(*np.diff(xy, axis=0).T) if n > 1 else np.zeros(0)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    s = cum / cum[-1] if n and cum[-1] > 0 else np.linspace(0.0, 1.0, n)
    if isinstance(profile, str):  # "downstrokes": heavy going down (y grows downwards)
        dy = np.gradient(xy[:, 1]) if n > 1 else np.zeros(n)
        step = np.hypot(*np.gradient(xy, axis=0).T) if n > 1 else np.ones(n)
        down = np.clip(dy / np.maximum(step, 1e-9), 0.0, 1.0)
        base = 0.2 + 0.7 * np.convolve(down, np.ones(5) / 5, mode="same")
    elif profile is not None and len(profile) >= 2:
        values = np.asarray(profile, dtype=np.float64)
        base = np.interp(s, np.linspace(0.0, 1.0, len(values)), values)
    else:
        base = 0.3 + 0.3 * np.sin(np.pi * s) + rng.uniform(-0.05, 0.05)
    return np.clip(base + rng.normal(0.0, jitter, n), 0.05, 1.0)


def wire_rows(xy: XY, t: Column, pressure: Column, rng: np.random.Generator) -> Rows:
    """A stroke as wire rows (float32): x, y, t, pressure, tilt_x, tilt_y."""
    n = len(xy)
    rows = np.empty((n, 6), dtype=np.float32)
    rows[:, :2] = xy
    rows[:, 2] = t
    rows[:, 3] = pressure
    tilt = rng.uniform(18.0, 32.0) + np.cumsum(rng.normal(0.0, 0.3, n))
    rows[:, 4] = np.clip(tilt, -90.0, 90.0)
    rows[:, 5] = np.clip(rng.uniform(-8.0, 8.0) + np.cumsum(rng.normal(0.0, 0.2, n)), -90, 90)
    return rows


class StrokeMaker:
    """Wire rows for one target at a time: a real stroke fitted onto it, or a synthesised one."""

    def __init__(self, bank: StrokeBank, seed: int, synthetic: bool = False) -> None:
        self.bank = bank
        self.synthetic = synthetic or not len(bank)
        self.rng = np.random.default_rng(seed)

    @property
    def source(self) -> str:
        return "synthetic" if self.synthetic else self.bank.source

    def make(self, target: XY, profile: Profile = None) -> Rows:
        target = np.asarray(target, dtype=np.float64)
        if self.synthetic:
            xy, t = synthesise(target, self.rng)
            pressure = pressure_along(xy, profile, self.rng)
        else:
            stroke = self.bank.choose(target, self.rng)
            xy, t = fit_onto(stroke.xy, target), stroke.t
            pressure = (
                stroke.pressure
                if stroke.pressure is not None
                else pressure_along(xy, profile, self.rng)
            )
        return wire_rows(xy, t, pressure, self.rng)

    def gap_ms(self) -> float:
        """Pen up between two strokes (ms)."""
        if self.synthetic:
            return float(self.rng.uniform(250.0, 700.0))
        return self.bank.gap_ms(self.rng)


def profile_for(step_profile: Any, index: int) -> Profile:
    """Target `index`'s pressure profile from a step's `pressure_profile` (docs/lessons.md)."""
    if step_profile is None or isinstance(step_profile, str):
        return step_profile
    if isinstance(step_profile, Sequence) and index < len(step_profile):
        entry = step_profile[index]
        if entry is None or isinstance(entry, str):
            return entry
        if isinstance(entry, Sequence) and all(isinstance(v, int | float) for v in entry):
            values = [float(v) for v in entry]
            if all(math.isfinite(v) for v in values):
                return [min(1.0, max(0.0, v)) for v in values]
    return None


def batches(rows: Rows, window_ms: float, max_points: int) -> list[tuple[float, Rows]]:
    """The stroke's points as batches: (due, rows), due in ms of the stroke's time at the end of
    the batch's window; no batch over `max_points` rows, none empty."""
    if not len(rows):
        return []
    if window_ms <= 0 or max_points < 1:
        raise ValueError("window_ms and max_points must be positive")
    clock = np.maximum.accumulate(rows[:, 2].astype(np.float64))  # a backward step stays put
    window = np.floor(clock / window_ms).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], np.diff(window) > 0)))
    ends = np.append(starts[1:], len(rows))
    out: list[tuple[float, Rows]] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        due = float((window[a] + 1) * window_ms)
        for lo in range(a, b, max_points):
            out.append((due, rows[lo : min(b, lo + max_points)]))
    return out


# -- the load test's steady-rate strokes (benchmarks/load) -----------------------------------


def resample(
    x: Sequence[float], y: Sequence[float], t: Sequence[float], rate_hz: float
) -> XY | None:
    """A stroke resampled at `rate_hz` along its own real time (one point per timer tick kept),
    or None if that gives fewer than 12 or more than 2,000 points."""
    tt = np.maximum.accumulate(np.asarray(t, dtype=np.float64))
    keep = np.concatenate(([True], np.diff(tt) > 0))
    tt, xs, ys = tt[keep], np.asarray(x, np.float64)[keep], np.asarray(y, np.float64)[keep]
    if len(tt) < 2:
        return None
    at = np.arange(tt[0], tt[-1], 1000.0 / rate_hz)
    if not RESAMPLE_MIN_POINTS <= len(at) <= RESAMPLE_MAX_POINTS:
        return None
    return np.column_stack((np.interp(at, tt, xs), np.interp(at, tt, ys)))


def load_shapes(
    rate_hz: float, limit: int = 4_000, path: Path | None = None
) -> tuple[list[Shape], str]:
    """Real pen stroke shapes at `rate_hz` and where they came from ("synthetic" without data)."""
    path = path or data_path()
    if not path.is_file():
        return [], "synthetic"
    shapes: list[Shape] = []
    for gesture in gestures(path):
        if gesture.get("input") != "pen":
            continue
        for stroke in gesture["strokes"]:
            shape = resample(stroke["x"], stroke["y"], stroke["t"], rate_hz)
            if shape is not None:
                shapes.append(shape)
        if len(shapes) >= limit:
            break
    return shapes, path.name


def stroke_rows(shapes: list[Shape], target: XY, rate_hz: float, seed: int) -> Iterator[Rows]:
    """An endless supply of wire rows at `rate_hz` along `target`: a random shape of `shapes`
    fitted onto it, or synthesised strokes when `shapes` is empty."""
    rng = np.random.default_rng(seed)
    target = np.asarray(target, dtype=np.float64)
    while True:
        if shapes:
            xy = fit_onto(shapes[int(rng.integers(len(shapes)))], target)
        else:
            xy, _ = synthesise(target, rng)
        n = len(xy)
        rows = np.empty((n, 6), np.float32)
        rows[:, :2] = xy
        rows[:, 2] = np.arange(n) * (1000.0 / rate_hz)
        rows[:, 3] = 0.5 + 0.3 * np.sin(np.linspace(0.0, np.pi, n))
        rows[:, 4] = 20.0
        rows[:, 5] = 0.0
        yield rows

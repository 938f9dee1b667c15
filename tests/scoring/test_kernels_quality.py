from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import binomial_smooth, fast, jitter, middle, position_at, rng_of, seeds, soft

from scoring import constants as C
from scoring import quality as Q
from scoring.types import FloatArray

Stroke = tuple[FloatArray, FloatArray, FloatArray]


def quality(
    x: FloatArray,
    y: FloatArray,
    t: FloatArray,
    p: FloatArray | None = None,
    tilt: tuple[FloatArray, FloatArray] | None = None,
    tol: float = 5.0,
) -> FloatArray:
    n = len(x)
    out = np.full(Q.N_QUALITY, np.nan)
    tx, ty = tilt if tilt is not None else (np.zeros(n), np.zeros(n))
    pressure = p if p is not None else np.full(n, 0.5)
    Q.stroke_quality(x, y, t, pressure, tx, ty, tol, p is not None, tilt is not None, out)
    return out


def straight(n: int, duration: float, dx: float = 300.0, dy: float = 100.0) -> Stroke:
    u = np.linspace(0.0, 1.0, n)
    return 10 + dx * u, 20 + dy * u, duration * u


# --- _binomial_smooth, jitter ---------------------------------------------------------------


@fast
@given(seeds, st.integers(0, 30))
def test_quality_binomial_smooth_random(seed: int, n: int) -> None:
    a = rng_of(seed).normal(size=n) * 100
    got = Q._binomial_smooth(a)
    np.testing.assert_allclose(got, binomial_smooth(a.tolist()), rtol=1e-13, atol=1e-12)
    assert got is not a


def test_quality_binomial_smooth_keeps_lines_and_ends() -> None:
    a = np.array([0.0, 0.0, 16.0, 0.0, 0.0, 5.0])
    np.testing.assert_allclose(Q._binomial_smooth(a), [0.0, 0.0, 6.0, 69 / 16, 0.0, 5.0])
    line = np.linspace(-1e4, 1e4, 9)
    np.testing.assert_allclose(Q._binomial_smooth(line), line, rtol=1e-15, atol=1e-11)
    np.testing.assert_array_equal(Q._binomial_smooth(np.array([1.0, 9.0, 2.0])), [1.0, 9.0, 2.0])


@fast
@given(seeds, st.integers(2, 60), st.sampled_from([0.5, 3.0, 20.0]))
def test_quality_jitter_random(seed: int, n: int, tol: float) -> None:
    xy = np.cumsum(rng_of(seed).normal(size=(n, 2)) * 4.0, axis=0)
    got = Q.jitter(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), tol)
    assert got == pytest.approx(jitter(xy, tol), rel=1e-9, abs=1e-12)


def test_quality_jitter_straight_line_is_zero_and_zigzag_is_not() -> None:
    x, y, _ = straight(50, 1.0)
    assert Q.jitter(x, y, 2.0) == pytest.approx(0.0, abs=1e-9)
    zx = np.arange(60.0)
    zy = 1.0 * (np.arange(60) % 2)
    xy = np.column_stack((zx, zy))
    assert Q.jitter(zx, zy, 1.0) == pytest.approx(jitter(xy, 1.0), rel=1e-9)
    assert Q.jitter(zx, zy, 1.0) > 0.1


def test_quality_jitter_still_point_is_zero() -> None:
    assert Q.jitter(np.full(4, 1e4), np.full(4, 1e4), 1.0) == 0.0


# --- time_grid, _middle ---------------------------------------------------------------------


def check_time_grid(x: FloatArray, y: FloatArray, t: FloatArray) -> FloatArray:
    gx, gy, dt = Q.time_grid(x, y, t)
    duration = t[-1] - t[0]
    if duration / C.RESAMPLE_MS + 1 <= 2048:
        assert dt == C.RESAMPLE_MS
        assert len(gx) == int(duration / C.RESAMPLE_MS) + 1
    else:
        assert len(gx) == 2048
        assert dt == pytest.approx(duration / 2047)
    for i in range(len(gx)):
        ex, ey = position_at(x, y, t, t[0] + i * dt)
        assert gx[i] == pytest.approx(ex, rel=1e-9, abs=1e-9)
        assert gy[i] == pytest.approx(ey, rel=1e-9, abs=1e-9)
    return np.asarray(gx)


@fast
@given(seeds, st.integers(2, 40), st.sampled_from([0.5, 7.0, 40.0]))
def test_quality_time_grid_random(seed: int, n: int, mean_step: float) -> None:
    rng = rng_of(seed)
    t = np.cumsum(rng.exponential(mean_step, size=n)) + 1000.0
    if n > 3:
        t[2] = t[1]  # a repeated time
    x = rng.normal(size=n).cumsum()
    y = rng.normal(size=n).cumsum()
    check_time_grid(x, y, t)


def test_quality_time_grid_fixed_and_long() -> None:
    gx = check_time_grid(np.array([0.0, 10.0, 30.0]), np.zeros(3), np.array([0.0, 10.0, 20.0]))
    np.testing.assert_allclose(gx, [0.0, 10.0, 30.0])
    # a very long stroke is capped at 2048 grid points
    x, y, t = straight(100, 60_000.0)
    assert len(check_time_grid(x, y, t)) == 2048


def test_quality_time_grid_zero_duration() -> None:
    gx, gy, _dt = Q.time_grid(np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 5.0]))
    assert (list(gx), list(gy)) == ([1.0], [3.0])


@fast
@given(seeds, st.integers(1, 40), st.sampled_from([0.0, 0.1, 0.25, 0.49]))
def test_quality_middle_random(seed: int, n: int, trim: float) -> None:
    rng = rng_of(seed)
    t = np.sort(rng.integers(0, 50, size=n).astype(np.float64))  # with repeats
    a, b = Q._middle(t, trim)
    assert (a, b) == middle(t.tolist(), trim)
    assert 0 <= a < b <= n


def test_quality_middle_fixed() -> None:
    t = np.arange(11.0) * 10.0
    assert Q._middle(t, 0.1) == (1, 10)
    assert Q._middle(t, 0.0) == (0, 11)
    assert Q._middle(np.array([0.0, 100.0]), 0.1) == (1, 2)
    assert Q._middle(np.array([7.0]), 0.1) == (0, 1)


# --- stroke_quality -------------------------------------------------------------------------


def test_quality_stroke_constant_speed_line() -> None:
    x, y, t = straight(101, 1000.0)
    out = quality(x, y, t)
    assert out[Q.Q_DURATION] == 1000.0
    assert out[Q.Q_LENGTH] == pytest.approx(np.hypot(300.0, 100.0), rel=1e-12)
    assert out[Q.Q_MEAN_SPEED] == pytest.approx(np.hypot(300.0, 100.0), rel=1e-12)
    assert out[Q.Q_SPEED_CV] == pytest.approx(0.0, abs=1e-9)
    assert out[Q.Q_SPEED] == pytest.approx(soft(0.0))
    assert out[Q.Q_PAUSES] == 0.0
    assert out[Q.Q_HESITATION] == 1.0
    assert out[Q.Q_JITTER] == pytest.approx(0.0, abs=1e-9)
    assert out[Q.Q_LDLJ_SCORE] == 1.0
    assert out[Q.Q_SMOOTHNESS] == pytest.approx(0.5 * (out[Q.Q_JITTER_SCORE] + 1.0))
    # no pressure or tilt asked for: those columns stay 0
    assert out[[Q.Q_PRESSURE, Q.Q_PRESSURE_CV, Q.Q_TILT, Q.Q_TILT_STD]].tolist() == [0.0] * 4


def test_quality_stroke_uniform_motion_ldlj_is_good() -> None:
    # the kernel's own rule: "a perfectly uniform motion has no jerk at all" -> LDLJ_GOOD
    out = quality(*straight(101, 1000.0))
    assert out[Q.Q_LDLJ] == pytest.approx(C.LDLJ_GOOD)


def test_quality_stroke_uniform_motion_on_the_grid_ldlj_is_good() -> None:
    # times already on the 10 ms grid: the jerk sums to exactly 0
    t = np.arange(0.0, 1001.0, 10.0)
    out = quality(0.3 * t, np.zeros_like(t), t)
    assert out[Q.Q_LDLJ] == C.LDLJ_GOOD
    assert out[Q.Q_LDLJ_SCORE] == 1.0


def test_quality_stroke_constant_speed_ignores_sampling_rate() -> None:
    # irregular timestamps on a constant-speed line still give one speed
    rng = rng_of(4)
    t = np.concatenate(([0.0], np.sort(rng.uniform(0.0, 800.0, 120)), [800.0]))
    x = 0.25 * t
    out = quality(x, np.zeros_like(x), t)
    assert out[Q.Q_SPEED_CV] == pytest.approx(0.0, abs=1e-9)
    assert out[Q.Q_MEAN_SPEED] == pytest.approx(250.0)


def test_quality_stroke_pause_in_the_middle() -> None:
    # 400 ms at 200 px/s, a 300 ms stop, 400 ms more
    t = np.arange(0.0, 1101.0, 5.0)
    x = np.where(t < 400, t, np.where(t < 700, 400.0, t - 300.0)) * 0.2
    out = quality(x, np.zeros_like(x), t)
    assert out[Q.Q_PAUSES] == 1.0
    assert out[Q.Q_HESITATION] == pytest.approx(1.0 - C.PAUSE_COST)
    assert out[Q.Q_DURATION] == 1100.0
    assert out[Q.Q_LENGTH] == pytest.approx(160.0)
    smooth = quality(*straight(221, 1100.0, 160.0, 0.0))
    assert smooth[Q.Q_PAUSES] == 0.0
    assert out[Q.Q_SPEED_CV] > smooth[Q.Q_SPEED_CV] + 0.3


def test_quality_stroke_two_pauses() -> None:
    t = np.arange(0.0, 1601.0, 5.0)
    moving = ((t < 400) | ((t >= 650) & (t < 1000)) | (t >= 1250)).astype(np.float64)
    x = np.concatenate(([0.0], np.cumsum(moving[1:] * 5.0 * 0.2)))
    out = quality(x, np.zeros_like(x), t)
    assert out[Q.Q_PAUSES] == 2.0
    assert out[Q.Q_HESITATION] == pytest.approx(1.0 - 2 * C.PAUSE_COST)


@fast
@given(seeds, st.integers(3, 80))
def test_quality_stroke_pressure_and_tilt_on_the_middle(seed: int, n: int) -> None:
    rng = rng_of(seed)
    x, y, t = straight(n, 20.0 * n)
    t = np.sort(t + rng.uniform(-5.0, 5.0, n))
    t -= t[0]
    p = rng.uniform(0.05, 1.0, n)
    tx = rng.uniform(-90.0, 90.0, n)
    ty = rng.uniform(-90.0, 90.0, n)
    out = quality(x, y, t, p, (tx, ty))
    a, b = middle(t.tolist(), C.SPEED_TRIM)
    cv = p[a:b].std() / p[a:b].mean()
    std = float(np.hypot(tx[a:b].std(), ty[a:b].std()))
    assert out[Q.Q_PRESSURE_CV] == pytest.approx(cv, rel=1e-9, abs=1e-12)
    assert out[Q.Q_PRESSURE] == pytest.approx(soft(cv / C.PRESSURE_CV_OK), rel=1e-9, abs=1e-300)
    assert out[Q.Q_TILT_STD] == pytest.approx(std, rel=1e-9, abs=1e-12)
    assert out[Q.Q_TILT] == pytest.approx(soft(std / C.TILT_STD_OK), rel=1e-9, abs=1e-300)
    assert out[Q.Q_DURATION] == pytest.approx(t[-1] - t[0])


def test_quality_stroke_pressure_zero_is_very_uneven() -> None:
    x, y, t = straight(30, 600.0)
    out = quality(x, y, t, np.zeros(30), (np.full(30, 5.0), np.full(30, -5.0)))
    assert out[Q.Q_PRESSURE_CV] == 1e3
    assert out[Q.Q_PRESSURE] == 0.0
    assert out[Q.Q_TILT_STD] == 0.0  # constant tilt
    assert out[Q.Q_TILT] == 1.0


@fast
@given(seeds, st.integers(3, 60), st.sampled_from([30.0, 300.0, 3000.0]))
def test_quality_stroke_random_duration_and_length(seed: int, n: int, duration: float) -> None:
    rng = rng_of(seed)
    xy = np.cumsum(rng.normal(size=(n, 2)) * 3.0, axis=0)
    t = np.sort(rng.uniform(0.0, duration, n))
    t[0], t[-1] = 0.0, duration
    out = quality(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), t)
    total = float(np.hypot(*np.diff(xy, axis=0).T).sum())
    assert out[Q.Q_DURATION] == duration
    assert out[Q.Q_LENGTH] == pytest.approx(total, rel=1e-12)
    assert out[Q.Q_MEAN_SPEED] == pytest.approx(total / (duration / 1000.0), rel=1e-12)
    assert out[Q.Q_JITTER] == pytest.approx(jitter(xy, 5.0), rel=1e-9, abs=1e-12)
    assert np.isfinite(out).all()
    scores = [Q.Q_SMOOTHNESS, Q.Q_JITTER_SCORE, Q.Q_LDLJ_SCORE, Q.Q_SPEED, Q.Q_HESITATION]
    assert ((out[scores] >= 0.0) & (out[scores] <= 1.0)).all()


def test_quality_stroke_short_flick_judged_by_jitter() -> None:
    x, y, t = straight(5, 40.0)  # 5 grid points: too few to differentiate twice
    out = quality(x, y, t)
    assert out[Q.Q_LDLJ] == 0.0
    assert out[Q.Q_LDLJ_SCORE] == out[Q.Q_JITTER_SCORE]
    assert out[Q.Q_SPEED] == 1.0
    assert out[Q.Q_HESITATION] == 1.0
    assert out[Q.Q_MEAN_SPEED] == pytest.approx(np.hypot(300.0, 100.0) / 0.04)


@pytest.mark.parametrize(
    "stroke",
    [
        (np.empty(0), np.empty(0), np.empty(0)),
        (np.array([1.0]), np.array([2.0]), np.array([0.0])),
        (np.array([1.0, 2.0]), np.array([2.0, 2.0]), np.array([0.0, 10.0])),
        (np.full(5, 1e4), np.full(5, 1e4), np.arange(5.0) * 10),  # still pen
        (np.arange(5.0), np.zeros(5), np.zeros(5)),  # no time
    ],
)
def test_quality_stroke_degenerate_has_no_quality(stroke: Stroke) -> None:
    x, y, t = stroke
    out = quality(x, y, t)
    n = len(x)
    assert out[Q.Q_DURATION] == (t[-1] - t[0] if n else 0.0)
    assert out[Q.Q_LENGTH] == pytest.approx(float(np.abs(np.diff(x)).sum()) if n else 0.0)
    expected_ldlj = C.LDLJ_BAD if n else 0.0
    assert out[Q.Q_LDLJ] == expected_ldlj
    rest = np.delete(out, [Q.Q_DURATION, Q.Q_LENGTH, Q.Q_LDLJ])
    np.testing.assert_array_equal(rest, 0.0)


def test_quality_all_matches_one_stroke_at_a_time() -> None:
    rng = rng_of(9)
    strokes = [straight(40, 500.0), straight(3, 20.0, 5.0, 5.0), straight(70, 900.0, -50.0)]
    x = np.concatenate([s[0] for s in strokes])
    y = np.concatenate([s[1] for s in strokes]) + rng.normal(size=len(x))
    t = np.concatenate([s[2] for s in strokes])
    p = rng.uniform(0.2, 0.8, len(x))
    tx, ty = rng.normal(size=len(x)), rng.normal(size=len(x))
    off = np.array([0, 40, 43, 113], dtype=np.int64)
    out = np.full((3, Q.N_QUALITY), np.nan)
    Q.quality_all(x, y, t, p, tx, ty, off, 4.0, True, True, out)
    for i in range(3):
        a, b = off[i], off[i + 1]
        one = quality(x[a:b], y[a:b], t[a:b], p[a:b], (tx[a:b], ty[a:b]), tol=4.0)
        np.testing.assert_array_equal(out[i], one)

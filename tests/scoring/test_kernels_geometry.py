from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import (
    INSIDE_SLOPE,
    arc_step,
    cumulative,
    fast,
    frame,
    length,
    project,
    resample,
    rng_of,
    seeds,
    soft,
    swept_bins,
)

from scoring.geometry import (
    arc_delta,
    frame_of,
    mark_bins,
    polyline_length,
    project_point,
    resample_xy,
    soft_score,
)
from scoring.types import FloatArray, IntArray


def columns(xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])


def walk(rng: np.random.Generator, n: int, scale: float = 1.0) -> FloatArray:
    return np.cumsum(rng.normal(size=(n, 2)) * scale, axis=0)


# --- soft_score -----------------------------------------------------------------------------


def test_geometry_soft_score_fixed_values() -> None:
    inside = 1.0 - INSIDE_SLOPE
    assert soft_score(0.0) == 1.0
    assert soft_score(-2.0) == 1.0
    assert soft_score(1.0) == pytest.approx(inside)
    assert soft_score(2.0) == pytest.approx(inside * 0.5)
    assert soft_score(3.0) == pytest.approx(inside / 16.0)
    assert soft_score(1e4) == 0.0


@fast
@given(st.floats(-10.0, 50.0, allow_nan=False))
def test_geometry_soft_score_random_matches_formula(err: float) -> None:
    assert soft_score(err) == pytest.approx(soft(err), rel=1e-12, abs=1e-300)


def test_geometry_soft_score_never_rises() -> None:
    errs = np.linspace(-1.0, 8.0, 901)
    scores = np.array([soft_score(e) for e in errs])
    assert (np.diff(scores) <= 0.0).all()
    assert scores.max() <= 1.0
    assert scores.min() >= 0.0


# --- project_point --------------------------------------------------------------------------


@fast
@given(seeds, st.integers(2, 20), st.sampled_from([1.0, 1e4]))
def test_geometry_project_point_random_matches_brute_force(seed: int, m: int, off: float) -> None:
    rng = rng_of(seed)
    txy = walk(rng, m, 5.0) + off
    cum = np.array(cumulative(txy))
    for p in rng.normal(size=(20, 2)) * 10.0 + txy.mean(axis=0):
        d, s = project_point(p[0], p[1], txy, cum)
        ref = project(p, txy)
        assert d == pytest.approx(ref.distance, rel=1e-9, abs=1e-9)
        if ref.unique:
            assert s == pytest.approx(ref.arc, rel=1e-9, abs=1e-9)


def test_geometry_project_point_degenerate() -> None:
    same = np.array([[1.0, 2.0], [1.0, 2.0]])
    assert project_point(4.0, 6.0, same, np.zeros(2)) == (5.0, 0.0)
    line = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 0.0], [10.0, 4.0]])
    cum = np.array(cumulative(line))
    assert project_point(3.0, -2.0, line, cum) == pytest.approx((2.0, 3.0))
    assert project_point(13.0, 2.0, line, cum) == pytest.approx((3.0, 12.0))
    assert project_point(-1.0, 0.0, line, cum) == pytest.approx((1.0, 0.0))


# --- arc_delta and mark_bins ----------------------------------------------------------------


def test_geometry_arc_delta_fixed() -> None:
    assert arc_delta(1.0, 9.0, 10.0, False) == 8.0
    assert arc_delta(1.0, 9.0, 10.0, True) == -2.0
    assert arc_delta(9.0, 1.0, 10.0, True) == 2.0
    assert arc_delta(4.0, 6.0, 10.0, True) == 2.0
    assert arc_delta(3.0, 3.0, 10.0, True) == 0.0


@fast
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(1e-3, 1e4), st.booleans())
def test_geometry_arc_delta_random(u0: float, u1: float, total: float, closed: bool) -> None:
    s0, s1 = u0 * total, u1 * total
    assert arc_delta(s0, s1, total, closed) == arc_step(s0, s1, total, closed)
    if closed:
        assert abs(arc_delta(s0, s1, total, closed)) <= 0.5 * total


def marked(s0: float, s1: float, total: float, closed: bool, nb: int = 64) -> set[int]:
    bins = np.zeros(nb, dtype=np.bool_)
    mark_bins(bins, s0, s1, total, closed)
    return set(np.flatnonzero(bins).tolist())


def test_geometry_mark_bins_fixed() -> None:
    assert marked(0.0, 0.0, 64.0, False) == {0}
    assert marked(2.5, 2.5, 64.0, False) == {2}
    assert marked(2.5, 5.5, 64.0, False) == {2, 3, 4, 5}
    assert marked(5.5, 2.5, 64.0, False) == {2, 3, 4, 5}
    assert marked(64.0, 64.0, 64.0, False) == {63}  # the very end is in the last bin
    assert marked(62.5, 1.5, 64.0, True) == {62, 63, 0, 1}  # the short way, over the seam
    assert marked(1.5, 62.5, 64.0, True) == {62, 63, 0, 1}
    assert marked(62.5, 1.5, 64.0, False) == set(range(1, 63))
    assert marked(0.0, 64.0, 64.0, False) == set(range(64))
    assert marked(1.0, 2.0, 0.0, False) == set()  # a target without length has no bins


def test_geometry_mark_bins_keeps_what_was_marked() -> None:
    bins = np.zeros(8, dtype=np.bool_)
    mark_bins(bins, 0.5, 0.5, 8.0, False)
    mark_bins(bins, 5.5, 6.5, 8.0, False)
    assert np.flatnonzero(bins).tolist() == [0, 5, 6]


@fast
@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(1e-2, 1e4),
    st.booleans(),
    st.sampled_from([1, 7, 64]),
)
def test_geometry_mark_bins_random(
    u0: float, u1: float, total: float, closed: bool, nb: int
) -> None:
    s0, s1 = u0 * total, u1 * total
    assert marked(s0, s1, total, closed, nb) == swept_bins(s0, s1, total, closed, nb)


# --- polyline_length and resample_xy --------------------------------------------------------


@fast
@given(seeds, st.integers(0, 40), st.sampled_from([1.0, 1e4]))
def test_geometry_polyline_length_random(seed: int, n: int, scale: float) -> None:
    xy = walk(rng_of(seed), n, scale)
    expected = length(xy) if n else 0.0
    assert polyline_length(*columns(xy)) == pytest.approx(expected, rel=1e-12)


def test_geometry_polyline_length_degenerate() -> None:
    assert polyline_length(np.empty(0), np.empty(0)) == 0.0
    assert polyline_length(np.array([3.0]), np.array([4.0])) == 0.0
    assert polyline_length(np.full(5, 1e4), np.full(5, -1e4)) == 0.0
    assert polyline_length(np.array([0.0, 3.0, 3.0, 0.0]), np.array([0.0, 4.0, 4.0, 0.0])) == 10.0


@fast
@given(seeds, st.integers(1, 30), st.integers(1, 40), st.sampled_from([1.0, 1e4]))
def test_geometry_resample_xy_random(seed: int, n: int, k: int, scale: float) -> None:
    rng = rng_of(seed)
    xy = walk(rng, n, scale)
    if n > 3:
        xy[rng.integers(1, n - 1)] = xy[rng.integers(0, n)]  # a repeated point somewhere
    got = resample_xy(*columns(xy), k)
    assert got.shape == (k, 2)
    np.testing.assert_allclose(got, resample(xy, k), rtol=1e-9, atol=1e-9 * scale)


def test_geometry_resample_xy_even_spacing_on_a_bent_line() -> None:
    xy = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 0.0], [3.0, 9.0]])
    got = resample_xy(*columns(xy), 5)
    np.testing.assert_allclose(got, [[0, 0], [3, 0], [3, 3], [3, 6], [3, 9]], atol=1e-12)


def test_geometry_resample_xy_degenerate() -> None:
    one = np.array([[2.0, 5.0]])
    np.testing.assert_array_equal(resample_xy(*columns(one), 4), np.tile([2.0, 5.0], (4, 1)))
    still = np.tile([1e4, -1e4], (6, 1))
    np.testing.assert_array_equal(resample_xy(*columns(still), 3), np.tile([1e4, -1e4], (3, 1)))
    line = np.array([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(resample_xy(*columns(line), 1), [[0.0, 0.0]])
    np.testing.assert_array_equal(resample_xy(*columns(line), 2), line)
    assert resample_xy(*columns(line), 0).shape == (0, 2)


# --- frame_of -------------------------------------------------------------------------------


def packed(strokes: list[FloatArray]) -> tuple[FloatArray, FloatArray, IntArray]:
    xy = np.concatenate(strokes) if strokes else np.empty((0, 2))
    off = np.zeros(len(strokes) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(s) for s in strokes])
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), off


def check_frame(strokes: list[FloatArray], samples: int = 128) -> tuple[float, float, float]:
    got = frame_of(*packed(strokes), samples)
    expected = frame(strokes, samples)
    scale = max([1.0] + [float(np.abs(s).max()) for s in strokes if len(s)])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * scale)
    return float(got[0]), float(got[1]), float(got[2])


@fast
@given(seeds, st.lists(st.integers(0, 12), min_size=1, max_size=5), st.sampled_from([8, 128]))
def test_geometry_frame_of_random(seed: int, sizes: list[int], samples: int) -> None:
    rng = rng_of(seed)
    check_frame([walk(rng, n, 3.0) + rng.normal(size=2) * 20 for n in sizes], samples)


def test_geometry_frame_of_fixed_circle() -> None:
    u = np.linspace(0.0, 2 * np.pi, 200)
    ring = np.column_stack((10 + 5 * np.cos(u), -3 + 5 * np.sin(u)))
    cx, cy, radius = check_frame([ring])
    assert (cx, cy) == pytest.approx((10.0, -3.0), abs=0.05)
    assert radius == pytest.approx(5.0, rel=1e-3)


def test_geometry_frame_of_degenerate() -> None:
    assert frame_of(*packed([]), 128) == (0.0, 0.0, 0.0)
    assert frame_of(*packed([np.empty((0, 2))]), 128) == (0.0, 0.0, 0.0)
    # one still point: the centre is the point, no radius
    assert check_frame([np.array([[4.0, 5.0]])]) == (4.0, 5.0, 0.0)
    # a zero-length stroke beside a long one still adds its two samples
    line = np.array([[0.0, 0.0], [100.0, 0.0]])
    cx, _cy, _r = check_frame([line, np.array([[1e4, 0.0], [1e4, 0.0]])])
    assert cx > 100.0
    # half-way rounding of the per-stroke sample counts (2.5 and 125.5 of 128)
    check_frame([np.array([[0.0, 0.0], [2.5, 0.0]]), np.array([[0.0, 1.0], [125.5, 1.0]])])
    assert math.isfinite(check_frame([np.tile([1e4, 1e4], (3, 1))] * 2)[2])

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import dtw, fast, frechet, rng_of, seeds

from scoring.distance import dtw_distance, frechet_distance, shape_distances
from scoring.types import FloatArray


def curve(*points: tuple[float, float]) -> FloatArray:
    return np.array(points, dtype=np.float64).reshape(-1, 2)


def check_all(a: FloatArray, b: FloatArray, rel: float = 1e-12, abs_: float = 1e-12) -> None:
    ref_dtw = dtw(a, b)
    ref_frechet = frechet(a, b)
    assert dtw_distance(a, b) == pytest.approx(ref_dtw, rel=rel, abs=abs_)
    assert dtw_distance(a, b, "sqeuclidean") == pytest.approx(
        dtw(a, b, "sqeuclidean"), rel=rel, abs=abs_
    )
    assert frechet_distance(a, b) == pytest.approx(ref_frechet, rel=rel, abs=abs_)
    shape_dtw, shape_frechet = shape_distances(a, b)
    assert shape_dtw == pytest.approx(ref_dtw, rel=rel, abs=abs_)
    assert shape_frechet == pytest.approx(ref_frechet, rel=rel, abs=abs_)


def test_distance_fixed_hand_computed() -> None:
    a = curve((0, 0), (1, 0), (2, 0))
    b = curve((0, 1), (2, 1))
    # DTW: (0,0)-(0,1), (1,0)-(0,1) or (2,1), (2,0)-(2,1): 1 + sqrt(2) + 1
    assert dtw_distance(a, b) == pytest.approx(2.0 + math.sqrt(2.0))
    assert dtw_distance(a, b, "sqeuclidean") == pytest.approx(math.sqrt(1.0 + 2.0 + 1.0))
    assert frechet_distance(a, b) == pytest.approx(math.sqrt(2.0))
    check_all(a, b)


def test_distance_fixed_reversed_curve_is_far() -> None:
    a = curve(*((float(i), 0.0) for i in range(10)))
    check_all(a, a[::-1].copy())
    assert frechet_distance(a, a[::-1]) == pytest.approx(9.0)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 7), (7, 1), (2, 2), (3, 11), (11, 3), (40, 33)])
def test_distance_fixed_sizes(n: int, m: int) -> None:
    rng = rng_of(n * 100 + m)
    check_all(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)))


@fast
@given(seeds, st.integers(1, 24), st.integers(1, 24), st.sampled_from([1e-3, 1.0, 1e4]))
def test_distance_random_matches_full_matrix(seed: int, n: int, m: int, scale: float) -> None:
    rng = rng_of(seed)
    a = rng.normal(size=(n, 2)) * scale
    b = rng.normal(size=(m, 2)) * scale + rng.normal(size=2) * scale
    check_all(a, b, rel=1e-11, abs_=1e-12 * scale)


@fast
@given(
    st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=1, max_size=12),
)
def test_distance_random_small_integer_grids_with_repeats(
    a: list[tuple[int, int]], b: list[tuple[int, int]]
) -> None:
    # integer points repeat a lot: many equal costs and tied paths
    check_all(np.array(a, dtype=np.float64), np.array(b, dtype=np.float64))


def test_distance_degenerate_one_point_each() -> None:
    a = curve((3.0, 4.0))
    b = curve((0.0, 0.0))
    assert dtw_distance(a, b) == 5.0
    assert dtw_distance(a, b, "sqeuclidean") == 5.0
    assert frechet_distance(a, b) == 5.0
    assert shape_distances(a, b) == (5.0, 5.0)


def test_distance_degenerate_identical_curves_are_zero() -> None:
    a = rng_of(1).normal(size=(17, 2)) * 1e4
    assert dtw_distance(a, a) == 0.0
    assert dtw_distance(a, a, "sqeuclidean") == 0.0
    assert frechet_distance(a, a) == 0.0
    assert shape_distances(a, a) == (0.0, 0.0)


def test_distance_degenerate_constant_curve_against_a_point() -> None:
    a = np.tile([1.0, 1.0], (9, 1))
    b = curve((4.0, 5.0))
    assert dtw_distance(a, b) == pytest.approx(45.0)
    assert dtw_distance(a, b, "sqeuclidean") == pytest.approx(15.0)
    assert frechet_distance(a, b) == pytest.approx(5.0)
    check_all(a, b)


def test_distance_degenerate_repeated_points_do_not_change_frechet() -> None:
    a = curve((0, 0), (1, 0), (2, 0))
    padded = curve((0, 0), (0, 0), (1, 0), (1, 0), (1, 0), (2, 0))
    b = curve((0, 1), (1, 2), (2, 1))
    assert frechet_distance(padded, b) == pytest.approx(frechet_distance(a, b))
    check_all(padded, b)


def test_distance_degenerate_collinear_large_coordinates() -> None:
    a = np.column_stack((np.linspace(1e4, 2e4, 30), np.full(30, 1e4)))
    b = np.column_stack((np.linspace(1e4, 2e4, 19), np.full(19, 1e4 + 3.0)))
    check_all(a, b, rel=1e-11)
    assert frechet_distance(a, b) >= 3.0


def test_distance_symmetric() -> None:
    rng = rng_of(7)
    a, b = rng.normal(size=(13, 2)), rng.normal(size=(6, 2))
    assert dtw_distance(a, b) == pytest.approx(dtw_distance(b, a), rel=1e-13)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-13)


def test_distance_accepts_lists_and_non_contiguous_arrays() -> None:
    rng = rng_of(3)
    a = rng.normal(size=(12, 4))[:, ::2]
    b = rng.normal(size=(5, 2))
    assert not a.flags.c_contiguous
    assert dtw_distance(a, b.tolist()) == pytest.approx(dtw(np.ascontiguousarray(a), b))
    assert frechet_distance(a.tolist(), b) == pytest.approx(frechet(np.ascontiguousarray(a), b))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((0, 2)), "empty"),
        (np.zeros((3, 3)), "shape"),
        (np.zeros(4), "shape"),
        (np.zeros((2, 2, 2)), "shape"),
        (np.array([[0.0, 0.0], [np.nan, 1.0]]), "non-finite"),
        (np.array([[0.0, np.inf], [1.0, 1.0]]), "non-finite"),
    ],
)
def test_distance_invalid_curve_raises_value_error(bad: FloatArray, message: str) -> None:
    good = np.zeros((3, 2))
    for fn in (dtw_distance, frechet_distance):
        with pytest.raises(ValueError, match=message):
            fn(bad, good)
        with pytest.raises(ValueError, match=message):
            fn(good, bad)


def test_distance_invalid_metric_raises_value_error() -> None:
    with pytest.raises(ValueError, match="metric"):
        dtw_distance(np.zeros((2, 2)), np.zeros((2, 2)), "cityblock")

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import (
    arc_step,
    dp_distance,
    fast,
    length,
    project,
    resample,
    rng_of,
    seeds,
    soft,
    swept_bins,
)

from scoring import accuracy as A
from scoring import constants as C
from scoring.spec import StepSpec
from scoring.step import Packed, pair_metrics
from scoring.stroke import Device, Stroke
from scoring.types import FloatArray

# columns the reference computes, and how closely each must agree
CHECKED = {
    A.A_CLOSENESS: 1e-9,
    A.A_WITHIN: 0.0,
    A.A_MEAN_DEV: 1e-9,
    A.A_MAX_DEV: 1e-9,
    A.A_START_DIST: 1e-9,
    A.A_END_DIST: 1e-9,
    A.A_LENGTH_RATIO: 1e-9,
    A.A_COVERAGE: 0.0,
    A.A_DIR_INDEX: 1e-9,
    A.A_REVERSED_FIT: 0.0,
    A.A_DTW: 1e-9,
    A.A_FRECHET: 1e-9,
}
NAMES = {v: k for k, v in vars(A).items() if k.startswith("A_") and isinstance(v, int)}


def reference_pair(
    target: FloatArray, xy: FloatArray, tol: float, directional: bool, closed: bool
) -> dict[int, float]:
    """A pair's metrics from brute-force projections and the rules in scoring/accuracy.py."""
    n = len(xy)
    total = length(target)
    proj = [project(p, target) for p in xy]
    d = [pr.distance for pr in proj]
    s = [pr.arc for pr in proj]

    # coverage: a near point covers the bin under it; two consecutive near points sweep the
    # bins between them unless the projection jumped further than the pen moved (+ slack)
    reach = C.COVER_REACH * tol
    covered: set[int] = set()
    fwd = tot = 0.0
    for i in range(n):
        if d[i] > reach:
            continue
        covered |= swept_bins(s[i], s[i], total, closed, C.COVERAGE_BINS)
        if i == 0 or d[i - 1] > reach:
            continue
        ds = arc_step(s[i - 1], s[i], total, closed)
        if abs(ds) <= math.dist(xy[i - 1], xy[i]) + 2.0 * reach:
            covered |= swept_bins(s[i - 1], s[i], total, closed, C.COVERAGE_BINS)
            fwd += ds
            tot += abs(ds)

    first, last = target[0], target[-1]
    forward = (math.dist(xy[0], first), math.dist(xy[-1], last))
    backward = (math.dist(xy[0], last), math.dist(xy[-1], first))
    fwd_index = fwd / tot if tot > 0.0 else 0.0
    if directional:
        reversed_fit = False
    elif closed:  # the ends are one point: the way round decides
        reversed_fit = fwd_index < 0.0
    else:  # the ends decide, a rounding-level tie staying forwards
        reversed_fit = sum(backward) < sum(forward) * (1.0 - 1e-9)
    start, end = backward if reversed_fit else forward

    drawn = resample(xy, C.SHAPE_SAMPLES)
    guide = resample(target, C.SHAPE_SAMPLES)
    if reversed_fit:
        guide = guide[::-1]
    return {
        A.A_CLOSENESS: sum(soft(di / tol) for di in d) / n,
        A.A_WITHIN: sum(di <= tol for di in d) / n,
        A.A_MEAN_DEV: sum(d) / n,
        A.A_MAX_DEV: max(d),
        A.A_START_DIST: start / tol,
        A.A_END_DIST: end / tol,
        A.A_LENGTH_RATIO: length(xy) / total,
        A.A_COVERAGE: len(covered) / C.COVERAGE_BINS,
        A.A_DIR_INDEX: fwd / tot if tot > 0.0 else 0.0,
        A.A_REVERSED_FIT: float(reversed_fit),
        A.A_DTW: dp_distance(drawn, guide, "sum") / C.SHAPE_SAMPLES / tol,
        A.A_FRECHET: dp_distance(drawn, guide, "max") / tol,
    }


def kernel_pair(spec: StepSpec, xy: FloatArray) -> FloatArray:
    stroke = Stroke(xy[:, 0], xy[:, 1], np.arange(len(xy)) * 8.0)
    out = pair_metrics(spec, Packed([stroke]), Device())
    assert out.shape == (1, spec.n_targets, A.N_ACCURACY)
    return np.asarray(out[0], dtype=np.float64)


def check(spec: StepSpec, xy: FloatArray, j: int = 0) -> FloatArray:
    got: FloatArray = kernel_pair(spec, xy)[j]
    target = spec.targets[j]
    expected = reference_pair(
        target, xy, spec.tolerance_px, spec.directional, bool(spec.target_closed[j])
    )
    for col, rel in CHECKED.items():
        assert got[col] == pytest.approx(expected[col], rel=rel, abs=1e-12), NAMES[col]
    # the blended scores follow from the raw columns
    assert got[A.A_START] == pytest.approx(soft(expected[A.A_START_DIST]), abs=1e-12)
    assert got[A.A_END] == pytest.approx(soft(expected[A.A_END_DIST]), abs=1e-12)
    dtw_mean = expected[A.A_DTW]
    assert got[A.A_SHAPE] == pytest.approx(soft(dtw_mean), abs=1e-12)
    ratio = expected[A.A_LENGTH_RATIO]
    length_score = 0.0 if ratio <= 0 else 2.0 ** -((math.log(ratio) / C.LENGTH_HALF) ** 2)
    assert got[A.A_LENGTH] == pytest.approx(length_score, abs=1e-12)
    assert got[A.A_DIRECTION] == pytest.approx(0.5 * (1 + expected[A.A_DIR_INDEX]), abs=1e-12)
    assert got[A.A_PROFILE_ERR] == -1.0  # no pressure profile, no pressure device
    assert 0.0 <= got[A.A_ACCURACY] <= 1.0
    return got


# --- fixed targets (built once: un-jitted, a 96 x 96 grid takes a while) --------------------


@cache
def spec_of(name: str, directional: bool = True) -> StepSpec:
    u = np.linspace(0.0, 1.0, 40)
    targets = {
        "line": np.array([[100.0, 100.0], [400.0, 180.0]]),
        "arc": np.column_stack((200 + 120 * np.cos(np.pi * u), 200 - 120 * np.sin(np.pi * u))),
        "circle": np.column_stack(
            (200 + 80 * np.cos(2 * np.pi * u), 200 + 80 * np.sin(2 * np.pi * u))
        ),
        "zigzag": np.column_stack((np.linspace(0, 300, 9), 60.0 * (np.arange(9) % 2))),
        "far": np.array([[1e4, 1e4], [1e4 + 250.0, 1e4 + 40.0], [1e4 + 400.0, 1e4 - 90.0]]),
    }
    return StepSpec([targets[name]], 8.0, directional=directional)


def along(target: FloatArray, a: float, b: float, n: int) -> FloatArray:
    """n points on the target, from fraction a to fraction b of its arc length."""
    cum = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(target, axis=0).T))))
    at = np.linspace(a, b, n) * cum[-1]
    return np.column_stack((np.interp(at, cum, target[:, 0]), np.interp(at, cum, target[:, 1])))


@pytest.mark.parametrize("name", ["line", "arc", "circle", "zigzag", "far"])
def test_accuracy_fixed_on_target_is_perfect(name: str) -> None:
    spec = spec_of(name)
    target = spec.targets[0]
    got = check(spec, along(target, 0.0, 1.0, 120))
    assert got[A.A_COVERAGE] == 1.0
    assert got[A.A_WITHIN] == 1.0
    assert got[A.A_MAX_DEV] == pytest.approx(0.0, abs=1e-6)
    assert got[A.A_DIR_INDEX] == pytest.approx(1.0)
    assert got[A.A_LENGTH_RATIO] == pytest.approx(1.0, rel=0.03)  # corners cut


@pytest.mark.parametrize("name", ["line", "arc", "circle", "zigzag", "far"])
def test_accuracy_fixed_half_drawn_covers_half(name: str) -> None:
    spec = spec_of(name)
    got = check(spec, along(spec.targets[0], 0.1, 0.6, 80) + np.array([3.0, -2.0]))
    assert 0.45 <= got[A.A_COVERAGE] <= 0.6


@pytest.mark.parametrize("name", ["line", "arc", "zigzag"])
@pytest.mark.parametrize("directional", [True, False])
def test_accuracy_fixed_reversed_stroke(name: str, directional: bool) -> None:
    spec = spec_of(name, directional)
    got = check(spec, along(spec.targets[0], 1.0, 0.0, 90))
    assert got[A.A_DIR_INDEX] == pytest.approx(-1.0)
    assert got[A.A_REVERSED_FIT] == (0.0 if directional else 1.0)
    if not directional:
        assert got[A.A_DTW] < 0.2  # only resampling apart
        assert got[A.A_START_DIST] == pytest.approx(0.0, abs=1e-9)


def test_accuracy_fixed_circle_across_the_seam() -> None:
    spec = spec_of("circle")
    assert spec.target_closed[0]
    # from 3/4 of the way round, over the start, to 1/4: the short way is forwards
    stroke = np.vstack(
        (along(spec.targets[0], 0.75, 0.999, 40), along(spec.targets[0], 0.001, 0.25, 40))
    )
    got = check(spec, stroke)
    assert got[A.A_DIR_INDEX] == pytest.approx(1.0)
    assert got[A.A_COVERAGE] == pytest.approx(0.5, abs=2 / 64)


def test_accuracy_fixed_shortcut_sweeps_nothing() -> None:
    # two dots at the ends of the zigzag: close, but the pen never went along it
    spec = spec_of("zigzag")
    target = spec.targets[0]
    got = check(spec, np.vstack((target[:1], target[-1:])))
    assert got[A.A_COVERAGE] == 2 / 64
    assert got[A.A_DIR_INDEX] == 0.0


def test_accuracy_fixed_far_off_stroke() -> None:
    spec = spec_of("arc")
    got = check(spec, np.column_stack((np.linspace(-500, -300, 30), np.full(30, -400.0))))
    assert got[A.A_COVERAGE] == 0.0
    assert got[A.A_WITHIN] == 0.0
    assert got[A.A_CLOSENESS] < 1e-6


def test_accuracy_fixed_zigzag_over_a_line_loses_shape_not_closeness() -> None:
    spec = spec_of("line")
    target = spec.targets[0]
    on = along(target, 0.0, 1.0, 121)
    normal = np.array([-80.0, 300.0]) / math.hypot(80.0, 300.0)
    wiggle = on + np.outer(6.0 * np.sign(np.sin(np.arange(121) * 1.3)), normal)
    straight = check(spec, on)
    zig = check(spec, wiggle[::-1][::-1].copy())
    assert zig[A.A_WITHIN] == 1.0
    assert zig[A.A_LENGTH_RATIO] > straight[A.A_LENGTH_RATIO]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_accuracy_degenerate_few_points(n: int) -> None:
    spec = spec_of("arc")
    got = check(spec, along(spec.targets[0], 0.2, 0.4, n))
    assert got[A.A_WITHIN] == 1.0


def test_accuracy_degenerate_still_pen() -> None:
    spec = spec_of("line")
    got = check(spec, np.tile([250.0, 140.0], (12, 1)))
    assert got[A.A_LENGTH_RATIO] == 0.0
    assert got[A.A_LENGTH] == 0.0
    assert got[A.A_DIR_INDEX] == 0.0
    assert got[A.A_COVERAGE] == 1 / 64


def test_accuracy_degenerate_repeated_points_and_collinear_stroke() -> None:
    spec = spec_of("line")
    xy = along(spec.targets[0], 0.0, 1.0, 30)
    xy = np.repeat(xy, 3, axis=0)
    got = check(spec, xy)
    assert got[A.A_COVERAGE] == 1.0


def test_accuracy_empty_stroke_scores_nothing() -> None:
    spec = spec_of("line")
    out = pair_metrics(spec, Packed([Stroke([], [], [])]), Device())
    expected = np.zeros(A.N_ACCURACY)
    expected[A.A_PROFILE_ERR] = -1.0
    np.testing.assert_array_equal(out[0, 0], expected)


def test_accuracy_several_strokes_and_targets_match_one_pair_at_a_time() -> None:
    rng = rng_of(17)
    specs = [spec_of("arc"), spec_of("zigzag")]
    both = StepSpec([s.targets[0] for s in specs], 8.0)
    strokes = [along(specs[0].targets[0], 0.0, 1.0, 50), rng.normal(size=(7, 2)) * 50 + 150]
    strokes.append(along(specs[1].targets[0], 0.3, 0.9, 40))
    packed = Packed([Stroke(s[:, 0], s[:, 1], np.arange(len(s)) * 8.0) for s in strokes])
    out = pair_metrics(both, packed, Device())
    assert out.shape == (3, 2, A.N_ACCURACY)
    for i, xy in enumerate(strokes):
        for j in range(2):
            # same target, same tolerance; only the packing differs
            np.testing.assert_allclose(out[i, j], kernel_pair(specs[j], xy)[0], rtol=1e-12)
            check(both, xy, j)


# --- random ---------------------------------------------------------------------------------


def random_target(rng: np.random.Generator, m: int) -> FloatArray:
    turn = np.cumsum(rng.normal(scale=0.6, size=m - 1))
    step = rng.uniform(10.0, 60.0, size=m - 1)
    pts = np.cumsum(np.column_stack((step * np.cos(turn), step * np.sin(turn))), axis=0)
    return np.vstack([[0.0, 0.0], pts]) + rng.uniform(-200, 200, size=2)


def random_stroke(rng: np.random.Generator, target: FloatArray, tol: float) -> FloatArray:
    a, b = rng.uniform(-0.1, 1.1, size=2)
    n = int(rng.integers(1, 80))
    xy = along(target, min(max(a, 0.0), 1.0), min(max(b, 0.0), 1.0), n)
    xy += rng.normal(scale=tol * rng.choice([0.1, 0.7, 2.0]), size=xy.shape)
    if n > 4 and rng.random() < 0.3:
        xy[rng.integers(0, n, size=2)] += rng.normal(scale=30 * tol, size=2)  # wild points
    return xy


@fast
@given(seeds, st.integers(2, 10), st.sampled_from([3.0, 10.0]), st.booleans())
def test_accuracy_random_matches_reference(
    seed: int, m: int, tol: float, directional: bool
) -> None:
    rng = rng_of(seed)
    target = random_target(rng, m)
    spec = StepSpec([target], tol, directional=directional)
    for _ in range(3):
        check(spec, random_stroke(rng, target, tol))


@fast
@given(seeds, st.sampled_from(["line", "arc", "circle", "zigzag", "far"]), st.booleans())
def test_accuracy_random_strokes_on_fixed_targets(seed: int, name: str, directional: bool) -> None:
    rng = rng_of(seed)
    spec = spec_of(name, directional)
    check(spec, random_stroke(rng, spec.targets[0], spec.tolerance_px))

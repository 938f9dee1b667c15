from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import Projection, cumulative, fast, project, rng_of, seeds

from scoring import constants as C
from scoring.nearest import G_H, G_NX, G_NY, G_OX, G_OY, build_grid, project_all, segment_table
from scoring.spec import StepSpec
from scoring.types import FloatArray, IntArray


def query(
    txy: FloatArray, points: FloatArray, margin: float, side: int
) -> tuple[FloatArray, FloatArray]:
    """project_all over a grid built for txy, as StepSpec._pack builds it."""
    cum = np.array(cumulative(txy))
    seg = segment_table(txy, cum)
    grid, cell_start, cand = build_grid(txy, margin, side)
    dist = np.full(len(points), np.nan)
    arc = np.full(len(points), np.nan)
    x = np.ascontiguousarray(points[:, 0])
    y = np.ascontiguousarray(points[:, 1])
    project_all(x, y, seg, grid, cell_start, cand, dist, arc)
    return dist, arc


def check(txy: FloatArray, points: FloatArray, dist: FloatArray, arc: FloatArray) -> int:
    """Compare with the brute-force scan; returns how many points had a unique nearest."""
    scale = max(1.0, float(np.abs(txy).max()))
    unique = 0
    for i, p in enumerate(points):
        ref: Projection = project(p, txy)
        assert dist[i] == pytest.approx(ref.distance, rel=1e-9, abs=1e-12 * scale), (i, p)
        if ref.unique:
            unique += 1
            assert arc[i] == pytest.approx(ref.arc, rel=1e-9, abs=1e-9 * scale), (i, p)
        else:
            # the nearest point is one of the tied ones
            assert min(abs(arc[i] - s) for s in ref.tied_arcs) <= 1e-9 * scale, (i, p)
    return unique


def points_around(rng: np.random.Generator, txy: FloatArray, margin: float, n: int) -> FloatArray:
    """Points inside the grid, near the polyline, on its vertices and far outside."""
    lo = txy.min(axis=0) - margin
    hi = txy.max(axis=0) + margin
    span = max(float((hi - lo).max()), 1e-9)
    inside = rng.uniform(lo, hi, size=(n, 2))
    k = rng.integers(0, len(txy) - 1, size=n)
    u = rng.uniform(0.0, 1.0, size=(n, 1))
    on_line = txy[k] + u * (txy[k + 1] - txy[k]) + rng.normal(scale=0.01 * span, size=(n, 2))
    far = rng.uniform(lo - 3 * span, hi + 3 * span, size=(n, 2))
    corners = np.array([[lo[0], lo[1] + 0.5 * span], hi, lo, [hi[0], lo[1]]])
    return np.vstack([inside, on_line, far, txy, corners])


def random_target(rng: np.random.Generator, m: int, scale: float) -> FloatArray:
    steps = rng.normal(size=(m - 1, 2)) * scale
    return np.vstack([np.zeros((1, 2)), np.cumsum(steps, axis=0)]) + rng.normal(size=2) * scale


@fast
@given(seeds, st.integers(2, 30), st.integers(1, 24), st.sampled_from([0.0, 0.5, 3.0]))
def test_nearest_random_matches_brute_force(seed: int, m: int, side: int, rel: float) -> None:
    rng = rng_of(seed)
    txy = random_target(rng, m, 10.0)
    margin = rel * float(np.ptp(txy, axis=0).max())
    points = points_around(rng, txy, margin, 40)
    dist, arc = query(txy, points, margin, side)
    check(txy, points, dist, arc)


@fast
@given(
    st.lists(st.tuples(st.integers(-4, 4), st.integers(-4, 4)), min_size=2, max_size=8),
    st.lists(st.tuples(st.integers(-12, 12), st.integers(-12, 12)), min_size=1, max_size=30),
    st.integers(1, 12),
)
def test_nearest_random_integer_targets_and_points_on_cell_edges(
    target: list[tuple[int, int]], queries: list[tuple[int, int]], side: int
) -> None:
    # integer coordinates land exactly on cell edges, vertices and repeated points
    txy = np.array(target, dtype=np.float64)
    points = np.array(queries, dtype=np.float64) / 2.0
    dist, arc = query(txy, points, 1.0, side)
    check(txy, points, dist, arc)


def test_nearest_fixed_square_inside_points() -> None:
    txy = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    points = np.array([[5.0, 1.0], [9.0, 5.0], [5.0, 8.5], [-3.0, -4.0], [12.0, 12.0]])
    dist, arc = query(txy, points, 2.0, 8)
    np.testing.assert_allclose(dist, [1.0, 1.0, 1.5, 5.0, math.hypot(2.0, 2.0)], rtol=1e-12)
    np.testing.assert_allclose(arc, [5.0, 15.0, 25.0, 0.0, 20.0], rtol=1e-12)
    check(txy, points, dist, arc)


def test_nearest_fixed_grid_covers_box_and_margin() -> None:
    txy = np.array([[0.0, 0.0], [30.0, 10.0], [5.0, 20.0]])
    grid, cell_start, cand = build_grid(txy, 4.0, 16)
    nx, ny, h = int(grid[G_NX]), int(grid[G_NY]), grid[G_H]
    assert (grid[G_OX], grid[G_OY]) == (-4.0, -4.0)
    assert max(nx, ny) <= 16
    assert nx * h >= 38.0 - 1e-9
    assert ny * h >= 28.0 - 1e-9
    assert cell_start.shape == (nx * ny + 1,)
    assert cell_start[0] == 0
    assert cell_start[-1] == len(cand)
    assert (np.diff(cell_start) >= 1).all()  # every cell holds its centre's nearest segment
    assert cand.min() >= 0
    assert cand.max() <= len(txy) - 2


def test_nearest_degenerate_one_segment() -> None:
    txy = np.array([[1.0, 1.0], [4.0, 5.0]])
    points = np.array([[1.0, 1.0], [4.0, 5.0], [0.0, 0.0], [10.0, 10.0], [2.5, 3.0]])
    dist, arc = query(txy, points, 1.0, 4)
    np.testing.assert_allclose(arc, [0.0, 5.0, 0.0, 5.0, 2.5], atol=1e-12)
    check(txy, points, dist, arc)


def test_nearest_degenerate_all_points_identical() -> None:
    txy = np.array([[2.0, 3.0], [2.0, 3.0], [2.0, 3.0]])
    points = np.array([[2.0, 3.0], [5.0, 7.0], [-1e4, 2.0]])
    for margin in (0.0, 1.0):
        dist, arc = query(txy, points, margin, 8)
        np.testing.assert_allclose(dist, [0.0, 5.0, math.hypot(1e4 + 2.0, 1.0)], rtol=1e-12)
        np.testing.assert_array_equal(arc, [0.0, 0.0, 0.0])


def test_nearest_degenerate_repeated_vertex_and_zero_length_segment() -> None:
    txy = np.array([[0.0, 0.0], [5.0, 0.0], [5.0, 0.0], [5.0, 5.0]])
    points = np.array([[2.0, 1.0], [6.0, 2.0], [7.0, -1.0], [5.0, 0.0]])
    dist, arc = query(txy, points, 1.0, 6)
    np.testing.assert_allclose(arc, [2.0, 7.0, 5.0, 5.0], atol=1e-12)
    check(txy, points, dist, arc)


def test_nearest_degenerate_collinear_back_and_forth() -> None:
    # the target doubles back over itself: every point near it has two nearest points
    txy = np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 0.0]])
    points = np.array([[5.0, 1.0], [1.0, -1.0], [12.0, 0.0]])
    dist, arc = query(txy, points, 1.0, 8)
    np.testing.assert_allclose(dist, [1.0, 1.0, 2.0], rtol=1e-12)
    assert arc[0] in (pytest.approx(5.0), pytest.approx(15.0))
    assert arc[1] == pytest.approx(1.0)  # only the first leg reaches x = 1
    assert arc[2] == pytest.approx(10.0)
    check(txy, points, dist, arc)


def test_nearest_degenerate_horizontal_target_has_flat_box() -> None:
    txy = np.column_stack((np.linspace(0.0, 100.0, 11), np.zeros(11)))
    rng = rng_of(5)
    points = points_around(rng, txy, 0.0, 30)
    dist, arc = query(txy, points, 0.0, 10)
    check(txy, points, dist, arc)


def test_nearest_degenerate_large_coordinates() -> None:
    rng = rng_of(11)
    txy = random_target(rng, 25, 50.0) + 1e4
    points = points_around(rng, txy, 20.0, 60)
    dist, arc = query(txy, points, 20.0, 32)
    assert check(txy, points, dist, arc) > 100


def spec_arrays(
    spec: StepSpec, j: int
) -> tuple[FloatArray, FloatArray, IntArray, npt.NDArray[np.int32]]:
    seg = spec.segments[spec.seg_offsets[j] : spec.seg_offsets[j + 1]]
    starts = spec.cell_starts[spec.cell_offsets[j] : spec.cell_offsets[j + 1]]
    cands = spec.cands[spec.cand_offsets[j] : spec.cand_offsets[j + 1]]
    return seg, spec.grids[j], starts, cands


@pytest.mark.parametrize("j", [0, 1])
def test_nearest_step_spec_grids_match_brute_force(j: int) -> None:
    rng = rng_of(21)
    arc = np.linspace(0.0, 1.5 * np.pi, 40)
    spiral = np.column_stack((200 + arc * 30 * np.cos(arc), 150 + arc * 30 * np.sin(arc)))
    zigzag = np.column_stack((np.linspace(0, 300, 13), 50.0 * (np.arange(13) % 2)))
    spec = StepSpec([spiral, zigzag], 6.0)
    txy = spec.targets[j]
    seg, grid, starts, cands = spec_arrays(spec, j)
    assert grid[G_NX] == C.GRID_SIDE or grid[G_NY] == C.GRID_SIDE
    margin = C.GRID_MARGIN_TOL * spec.tolerance_px + C.GRID_MARGIN_REL * spec.target_lengths[j]
    points = points_around(rng, txy, margin, 300)
    dist = np.empty(len(points))
    arcs = np.empty(len(points))
    project_all(
        np.ascontiguousarray(points[:, 0]),
        np.ascontiguousarray(points[:, 1]),
        seg,
        grid,
        starts,
        cands,
        dist,
        arcs,
    )
    assert check(txy, points, dist, arcs) > 250


def test_nearest_segment_table_rows() -> None:
    txy = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0], [3.0, 0.0]])
    cum = np.array(cumulative(txy))
    seg = segment_table(txy, cum)
    assert seg.shape == (3, 8)
    np.testing.assert_allclose(seg[:, :2], txy[:-1])
    np.testing.assert_allclose(seg[:, 2:4], np.diff(txy, axis=0))
    np.testing.assert_allclose(seg[:, 4], [1 / 25, 0.0, 1 / 16])
    np.testing.assert_allclose(seg[:, 5], cum[:-1])
    np.testing.assert_allclose(seg[:, 6], np.diff(cum))

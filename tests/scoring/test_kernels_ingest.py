from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import fast, repair, rng_of, seeds, spread

from scoring.ingest import (
    N_REPAIRS,
    N_STATE,
    R_BACKWARD,
    R_CLIPPED,
    R_DUPLICATE,
    R_NONFINITE,
    R_SPREAD,
    RepairReport,
    StreamRepair,
    as_bits,
    repair_points,
    repair_rows,
    repair_stroke,
    spread_timestamps,
)
from scoring.types import FloatArray


def messy_rows(rng: np.random.Generator, n: int) -> FloatArray:
    """Wire rows with every fault a device sends: NaN, infinities, out-of-range pressure
    and tilt, repeated and backward timestamps, points sent twice."""
    rows = np.column_stack(
        (
            rng.normal(size=n).cumsum() * 5,
            rng.normal(size=n).cumsum() * 5,
            np.floor(np.cumsum(rng.exponential(6.0, size=n)) / 15.6) * 15.6,  # coarse timer
            rng.uniform(-0.2, 1.2, size=n),
            rng.uniform(-100.0, 100.0, size=n),
            rng.uniform(-100.0, 100.0, size=n),
        )
    )
    for i in range(1, n):
        fault = rng.integers(0, 8)
        if fault == 0:
            rows[i] = rows[i - 1]  # sent twice
        elif fault == 1:
            rows[i, :3] = rows[i - 1, :3]  # same place and time, other pressure
        elif fault == 2:
            rows[i, 2] = rows[i - 1, 2] - rng.uniform(0.0, 3.0)  # a step back
        elif fault == 3:
            rows[i, rng.integers(0, 6)] = rng.choice([np.nan, np.inf, -np.inf])
        elif fault == 4:
            rows[i, :2] = rows[i - 1, :2]  # pen still, time moves
    return rows


def reference_points(rows: FloatArray) -> tuple[FloatArray, list[int]]:
    kept, counts, _last = repair(rows.tolist())
    clean = np.array(kept, dtype=np.float64).reshape(-1, 6)
    t, moved = spread(clean[:, 2].tolist())
    clean[:, 2] = t
    return clean, [*counts, moved]


def report_list(report: RepairReport) -> list[int]:
    return [
        report.dropped_nonfinite,
        report.clipped,
        report.backward_t,
        report.duplicates,
        report.spread_t,
    ]


# --- repair_points ------------------------------------------------------------------------


@fast
@given(seeds, st.integers(0, 80), st.sampled_from([np.float64, np.float32]))
def test_ingest_repair_points_random_matches_point_by_point(
    seed: int, n: int, dtype: type[np.floating]
) -> None:
    rows = messy_rows(rng_of(seed), n).astype(dtype)
    clean, report = repair_points(rows)
    expected, counts = reference_points(rows)
    assert clean.dtype == np.float64
    np.testing.assert_array_equal(clean, expected)
    assert report_list(report) == counts
    assert report.total == sum(counts)
    assert np.isfinite(clean).all()
    assert (np.diff(clean[:, 2]) >= 0.0).all()


def test_ingest_repair_points_fixed() -> None:
    nan = float("nan")
    rows = np.array(
        [
            [0.0, 0.0, 0.0, 0.5, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.7, 0.0, 0.0],  # same x, y, t: dropped
            [1.0, 0.0, nan, 0.5, 0.0, 0.0],  # NaN: dropped
            [1.0, 0.0, 16.0, 1.5, -95.0, 0.0],  # clipped (one count for the row)
            [2.0, 0.0, 15.0, 0.5, 0.0, 91.0],  # t back to 16, tilt clipped
            [3.0, 0.0, 16.0, 0.5, 0.0, 0.0],
            [4.0, 0.0, 32.0, 0.5, 0.0, 0.0],
            [4.0, 0.0, 31.0, 0.5, 0.0, 0.0],  # raised to 32: now a duplicate
        ]
    )
    clean, report = repair_points(rows)
    np.testing.assert_allclose(
        clean,
        [
            [0.0, 0.0, 0.0, 0.5, 0.0, 0.0],
            [1.0, 0.0, 16.0, 1.0, -90.0, 0.0],
            [2.0, 0.0, 16.0 + 16 / 3, 0.5, 0.0, 90.0],
            [3.0, 0.0, 16.0 + 32 / 3, 0.5, 0.0, 0.0],
            [4.0, 0.0, 32.0, 0.5, 0.0, 0.0],
        ],
    )
    assert report == RepairReport(
        dropped_nonfinite=1, clipped=2, backward_t=2, duplicates=2, spread_t=2
    )


def test_ingest_repair_points_degenerate() -> None:
    clean, report = repair_points(np.empty((0, 6)))
    assert clean.shape == (0, 6)
    assert report.total == 0
    one = np.array([[1e4, -1e4, 5.0, 0.5, 0.0, 0.0]])
    clean, report = repair_points(one)
    np.testing.assert_array_equal(clean, one)
    assert report.total == 0
    all_bad = np.full((3, 6), np.nan)
    clean, report = repair_points(all_bad)
    assert clean.shape == (0, 6)
    assert report.dropped_nonfinite == 3
    same = np.tile([1.0, 2.0, 3.0, 0.5, 0.0, 0.0], (5, 1))
    clean, report = repair_points(same)
    assert clean.shape == (1, 6)
    assert report.duplicates == 4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ingest_repair_points_largest_finite_values_are_kept(dtype: type[np.floating]) -> None:
    # finiteness is tested on the exponent bits: the largest finite and the tiniest
    # subnormal values must pass, every NaN and infinity must not
    info = np.finfo(dtype)
    big, tiny = float(info.max), float(info.smallest_subnormal)
    rows = np.array(
        [
            [big, -big, 0.0, tiny, -0.0, 0.0],
            [tiny, 1.0, 1.0, 0.5, 0.0, 0.0],
            [np.nan, 1.0, 2.0, 0.5, 0.0, 0.0],
            [1.0, 1.0, 3.0, 0.5, -np.inf, 0.0],
            [2.0, 1.0, 4.0, np.inf, 0.0, 0.0],
        ],
        dtype=dtype,
    )
    clean, report = repair_points(rows)
    np.testing.assert_array_equal(clean, rows[:2].astype(np.float64))
    assert report.dropped_nonfinite == 3
    assert report.clipped == 0


def test_ingest_repair_points_none_is_a_dropped_non_finite_row() -> None:
    # numpy turns None into NaN on the float conversion: a missing value, dropped
    clean, report = repair_points([[None] * 6, [1, 2, 3, 0.5, 0, 0]])
    np.testing.assert_array_equal(clean, [[1, 2, 3, 0.5, 0, 0]])
    assert report.dropped_nonfinite == 1


def test_ingest_repair_points_integer_rows_become_float() -> None:
    clean, report = repair_points([[0, 0, 0, 1, 0, 0], [1, 1, 10, 2, 0, 0]])
    np.testing.assert_array_equal(clean, [[0, 0, 0, 1, 0, 0], [1, 1, 10, 1, 0, 0]])
    assert report.clipped == 1


@pytest.mark.parametrize("bad", [np.zeros((3, 5)), np.zeros(6), np.zeros((2, 6, 1)), [["a"] * 6]])
def test_ingest_repair_points_bad_shape_or_type_raises_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="points"):
        repair_points(bad)


def test_ingest_repair_stroke_builds_a_valid_stroke() -> None:
    rows = messy_rows(rng_of(2), 60)
    stroke, report = repair_stroke(rows)
    clean, same = repair_points(rows)
    assert report == same
    np.testing.assert_array_equal(stroke.to_points(), clean)


# --- spread_timestamps ----------------------------------------------------------------------


@fast
@given(st.lists(st.integers(0, 6), max_size=40), st.sampled_from([1.0, 15.625, 1e-3]))
def test_ingest_spread_timestamps_random(steps: list[int], unit: float) -> None:
    t = np.cumsum(np.array(steps, dtype=np.float64) * unit) + 1000.0
    expected, moved = spread(t.tolist())
    got = t.copy()
    assert spread_timestamps(got) == moved
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    if len(t):
        assert (np.diff(got) >= 0.0).all()
        assert got[0] == t[0]


def test_ingest_spread_timestamps_fixed() -> None:
    t = np.array([0.0, 0.0, 0.0, 15.0, 20.0, 20.0, 30.0, 30.0, 30.0, 30.0])
    assert spread_timestamps(t) == 6
    # runs spread up to the next time; the final run shares the median step (10) in 4
    np.testing.assert_allclose(t, [0, 5, 10, 15, 20, 25, 30, 32.5, 35, 37.5])


def test_ingest_spread_timestamps_degenerate() -> None:
    for t in (np.empty(0), np.array([3.0]), np.array([3.0, 3.0, 3.0])):
        before = t.copy()
        assert spread_timestamps(t) == 0  # no step to spread by
        np.testing.assert_array_equal(t, before)
    t = np.array([0.0, 10.0, 20.0])
    assert spread_timestamps(t) == 0
    np.testing.assert_array_equal(t, [0.0, 10.0, 20.0])


# --- StreamRepair ---------------------------------------------------------------------------


def batches(rng: np.random.Generator, n: int) -> list[int]:
    cuts = np.sort(rng.integers(0, n + 1, size=rng.integers(0, 6)))
    return [0, *cuts.tolist(), n]


@fast
@given(seeds, st.integers(0, 60), st.sampled_from([np.float64, np.float32]))
def test_ingest_stream_repair_batches_match_one_call(
    seed: int, n: int, dtype: type[np.floating]
) -> None:
    rng = rng_of(seed)
    rows = messy_rows(rng, n).astype(dtype)
    whole = StreamRepair()
    out_whole = np.full((n, 6), np.nan)
    kept_whole = whole.feed(rows, out_whole, 0)

    split = StreamRepair()
    out_split = np.full((n, 6), np.nan)
    kept = 0
    bounds = batches(rng, n)
    for a, b in itertools.pairwise(bounds):
        kept += split.feed(rows[a:b], out_split, kept)
    assert kept == kept_whole
    np.testing.assert_array_equal(out_split[:kept], out_whole[:kept_whole])
    assert split.report == whole.report
    np.testing.assert_array_equal(split.state, whole.state)

    expected, counts, _last = repair(rows.tolist())
    np.testing.assert_array_equal(out_whole[:kept_whole], np.reshape(expected, (-1, 6)))
    assert report_list(whole.report)[:4] == counts
    assert whole.report.spread_t == 0  # spreading waits for the end of the stroke


def test_ingest_repair_rows_writes_after_start_only() -> None:
    rows = np.array([[1.0, 1.0, 1.0, 0.5, 0.0, 0.0], [2.0, 2.0, 2.0, 0.5, 0.0, 0.0]])
    out = np.full((5, 6), -7.0)
    state = np.zeros(N_STATE)
    counts = np.zeros(N_REPAIRS, dtype=np.int64)
    assert repair_rows(rows, *as_bits(rows), state, out, 3, counts) == 2
    np.testing.assert_array_equal(out[:3], -7.0)
    np.testing.assert_array_equal(out[3:], rows)
    assert state.tolist() == [2.0, 2.0, 2.0, 1.0]
    # the state carries over: the same last row again is a duplicate
    assert repair_rows(rows[1:], *as_bits(rows[1:]), state, out, 0, counts) == 0
    assert counts[R_DUPLICATE] == 1
    assert counts[[R_NONFINITE, R_CLIPPED, R_BACKWARD, R_SPREAD]].tolist() == [0, 0, 0, 0]

from __future__ import annotations

import numpy as np
import pytest
from synthetic import line

from scoring import Device, StepSpec, Stroke, score_step
from scoring.ingest import repair_points

GOOD = [line(0, 0, 100, 0)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"x": [0, np.nan], "y": [0, 0], "t": [0, 1]}, "x"),
        ({"x": [0, 1], "y": [0, np.inf], "t": [0, 1]}, "y"),
        ({"x": [0, 1], "y": [0, 1], "t": [0, np.nan]}, "t"),
        ({"x": [0, 1], "y": [0], "t": [0, 1]}, "y"),
        ({"x": [0, 1], "y": [0, 1], "t": [0, 1, 2]}, "t"),
        ({"x": [0, 1], "y": [0, 1], "t": [5, 1]}, "t"),
        ({"x": [0, 1], "y": [0, 1], "t": [0, 1], "pressure": [0.5]}, "pressure"),
        ({"x": [0, 1], "y": [0, 1], "t": [0, 1], "pressure": [0.5, 1.5]}, "pressure"),
        ({"x": [0, 1], "y": [0, 1], "t": [0, 1], "tilt_x": [0, np.nan]}, "tilt_x"),
        ({"x": [0, 1], "y": [0, 1], "t": [0, 1], "tilt_y": [0, 120]}, "tilt_y"),
        ({"x": [[0, 1]], "y": [0, 1], "t": [0, 1]}, "x"),
        ({"x": ["a", "b"], "y": [0, 1], "t": [0, 1]}, "x"),
    ],
)
def test_stroke_rejects_bad_columns_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        Stroke(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"targets": []}, "targets"),
        ({"targets": [np.array([[0, 0]])]}, "targets\\[0\\]"),
        ({"targets": [np.array([[0, 0], [np.nan, 1]])]}, "targets\\[0\\]"),
        ({"targets": [np.array([[0, 0], [0, 0]])]}, "targets\\[0\\]"),
        ({"targets": [line(0, 0, 1, 1), np.zeros((3, 3))]}, "targets\\[1\\]"),
        ({"tolerance": 0}, "tolerance"),
        ({"tolerance": float("nan")}, "tolerance"),
        ({"tolerance": "wide"}, "tolerance"),
        ({"tolerance_unit": "cm"}, "tolerance_unit"),
        ({"mode": "freehand"}, "mode"),
        ({"weights": {"accuracy": 1, "beauty": 1}}, "weights"),
        ({"weights": {"accuracy": -1, "quality": 1}}, "weights"),
        ({"weights": {"accuracy": 0, "quality": 0}}, "weights"),
        ({"pressure_profile": [[0.5, 0.5], None]}, "pressure_profile"),
        ({"pressure_profile": [[0.5, 2.0]]}, "pressure_profile\\[0\\]"),
        ({"pressure_profile": [[0.5]]}, "pressure_profile\\[0\\]"),
        ({"pass_score": 2}, "pass_score"),
    ],
)
def test_step_spec_rejects_bad_fields_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    args: dict[str, object] = {"targets": GOOD, "tolerance": 5.0, **kwargs}
    with pytest.raises(ValueError, match=rf"^{field}"):
        StepSpec(**args)  # type: ignore[arg-type]


def test_step_spec_relative_tolerance_scales_with_the_targets_diagonal() -> None:
    spec = StepSpec([line(0, 0, 300, 400)], 0.1, tolerance_unit="relative")
    assert spec.tolerance_px == pytest.approx(50.0)
    assert StepSpec([line(0, 0, 300, 400)], 7).tolerance_px == 7.0


def test_step_spec_weights_are_normalised() -> None:
    spec = StepSpec(GOOD, 5, weights={"accuracy": 3, "quality": 1})
    assert spec.weights == {"accuracy": 0.75, "quality": 0.25}


@pytest.mark.parametrize(
    "stroke",
    [
        Stroke([], [], []),
        Stroke([50.0], [0.0], [0.0]),
        Stroke([0.0, 50, 100], [0.0, 0, 0], [0.0, 0, 0]),
        Stroke([10.0] * 30, [0.0] * 30, np.linspace(0, 500, 30)),
    ],
    ids=["empty", "one-point", "zero-duration", "repeated-points"],
)
def test_score_step_degenerate_strokes_score_low_without_raising(stroke: Stroke) -> None:
    result = score_step(StepSpec(GOOD, 5), [stroke], Device(pressure=True, tilt=True))
    for value in (result.accuracy, result.quality, result.total):
        assert 0.0 <= value <= 1.0
    assert result.quality == 0.0  # nothing was drawn over time
    assert result.total <= 0.6
    assert not result.passed
    assert all(np.isfinite(v) for v in result.metrics.values())


def test_score_step_no_strokes_is_all_missing() -> None:
    result = score_step(StepSpec([line(0, 0, 100, 0), line(0, 50, 100, 50)], 5), [])
    assert (result.accuracy, result.quality, result.total, result.passed) == (0, 0, 0, False)
    assert result.codes == ("missing_strokes",)
    assert result.metrics["missing"] == 2


def test_score_step_rejects_wrong_types() -> None:
    with pytest.raises(TypeError, match="strokes\\[0\\]"):
        score_step(StepSpec(GOOD, 5), [np.zeros((3, 6))])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="spec"):
        score_step(GOOD, [])  # type: ignore[arg-type]


def test_stroke_from_and_to_points_round_trip() -> None:
    pts = np.column_stack(
        [np.arange(5.0), np.arange(5.0), np.arange(5.0), [0.5] * 5, [1] * 5, [2] * 5]
    )
    assert np.array_equal(Stroke.from_points(pts).to_points(), pts)
    with pytest.raises(ValueError, match="points"):
        Stroke.from_points(np.zeros((3, 4)))


def test_a_stroke_from_repaired_rows_equals_the_checked_one() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(40) * 4.0 - 6.0 * (rng.random(40) < 0.2)  # some step back
    raw = np.column_stack(
        (rng.normal(300, 50, 40), rng.normal(200, 50, 40), t,
         rng.uniform(-0.5, 1.5, 40), rng.uniform(-120, 120, 40), rng.uniform(-120, 120, 40))
    )  # fmt: skip
    raw[5, 0] = np.nan
    clean, report = repair_points(raw)
    assert report.dropped_nonfinite == 1 and report.clipped > 0
    fast, checked = Stroke.from_repaired(clean), Stroke.from_points(clean)
    for name in Stroke.__slots__:
        column = getattr(fast, name)
        assert column.flags.c_contiguous and column.dtype == np.float64
        assert np.array_equal(column, getattr(checked, name)), name
    clean[0, 0] = -1.0  # a copy: the rows it came from are not its own
    assert fast.x[0] != -1.0

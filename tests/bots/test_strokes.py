"""The stroke fitting and synthesis the bots and the load test share (pure, no server)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from inkroom_client.mmg import data_path
from inkroom_client.strokes import (
    HumanStroke,
    StrokeBank,
    StrokeMaker,
    arc_resample,
    batches,
    fit_onto,
    human_stroke,
    pressure_along,
    profile_for,
    similarity,
    synthesise,
)

from lessons import load_catalog
from scoring import Device, StepSpec, Stroke, score_step

CATALOG = load_catalog()
LINE = np.array([[100.0, 300.0], [700.0, 300.0]])
needs_data = pytest.mark.skipif(
    not data_path().is_file(), reason=f"no real stroke data at {data_path()}"
)


def _scored(rows_per_target: list[np.ndarray], spec: StepSpec) -> float:
    strokes = []
    for rows in rows_per_target:
        r = rows.astype(np.float64)
        strokes.append(Stroke(r[:, 0], r[:, 1], np.maximum.accumulate(r[:, 2]), *r[:, 3:].T))
    return score_step(spec, strokes, Device(True, True)).total


def _circle(n: int = 60, r: float = 50.0, start: float = 0.0, sign: float = 1.0) -> np.ndarray:
    a = start + sign * np.linspace(0.0, 2 * np.pi, n)
    return np.column_stack((r * np.cos(a), r * np.sin(a)))


def test_strokes_similarity_recovers_a_rotated_scaled_moved_copy() -> None:
    rng = np.random.default_rng(1)
    shape = np.cumsum(rng.normal(0.0, 1.0, (40, 2)), axis=0)  # a wandering open stroke
    turn = np.exp(1j * 0.7) * 3.0
    z = (shape[:, 0] + 1j * shape[:, 1]) * turn + (200 + 100j)
    target = np.column_stack((z.real, z.imag))
    fit = similarity(shape, target)
    assert fit.residual < 1e-9
    np.testing.assert_allclose(fit_onto(shape, target), target, atol=1e-6)


def test_strokes_similarity_mirrors_a_circle_drawn_the_other_way() -> None:
    clockwise = _circle(sign=-1.0) + 400.0
    counter = _circle(start=1.0, sign=1.0)
    fit = similarity(counter, clockwise)
    assert fit.mirror and fit.residual < 1e-3
    fitted = fit_onto(counter, clockwise)
    # lands on the target's circle and goes round the same way from the same start
    np.testing.assert_allclose(np.hypot(*(fitted - 400.0).T), 50.0, atol=0.5)
    np.testing.assert_allclose(fitted[0], clockwise[0], atol=2.0)
    np.testing.assert_allclose(fitted[5], clockwise[5], atol=2.0)


def test_strokes_fit_keeps_the_drawn_size_for_a_poor_shape() -> None:
    circle = _circle()
    fitted = fit_onto(circle, LINE)  # a circle onto a line: a bad fit, not a shrunken dot
    assert similarity(circle, LINE).residual > 0.3
    span = fitted.max(axis=0) - fitted.min(axis=0)
    assert np.hypot(*span) > 300.0


def test_strokes_fit_degenerate_inputs() -> None:
    dot = np.full((10, 2), 5.0)
    assert similarity(dot, LINE).residual == 1.0
    assert np.allclose(fit_onto(dot, LINE), LINE[0])
    assert arc_resample(dot, 4).shape == (4, 2)


def test_strokes_bank_chooses_a_shape_that_fits() -> None:
    line = HumanStroke(np.column_stack((np.linspace(0, 90, 20), np.zeros(20))), np.arange(20.0),
                       None, "line")  # fmt: skip
    ring = HumanStroke(_circle(20), np.arange(20.0), None, "null")
    bank = StrokeBank([ring, line], "test", gaps_ms=[300.0])
    rng = np.random.default_rng(0)
    assert bank.choose(LINE, rng, top=1).label == "line"
    assert bank.choose(_circle(33, 80.0) + 300, rng, top=1).label == "null"
    assert bank.residuals(LINE)[1] < 1e-9
    assert bank.gap_ms(rng) == 300.0


def test_strokes_bank_without_the_file_is_empty(tmp_path: Path) -> None:
    bank = StrokeBank.load(tmp_path / "missing.jsonl.gz")
    assert len(bank) == 0 and bank.source == "synthetic"
    maker = StrokeMaker(bank, seed=1)
    assert maker.synthetic and maker.source == "synthetic"
    with pytest.raises(LookupError):
        bank.choose(LINE, np.random.default_rng(0))


def test_strokes_human_stroke_refuses_dots_and_bad_values() -> None:
    assert human_stroke({"x": [1, 2], "y": [1, 2], "t": [0, 5]}) is None
    assert human_stroke({"x": "nope"}) is None
    n = 20
    xs = list(np.linspace(0, 100, n))
    assert human_stroke({"x": xs, "y": [0] * n, "t": [float("nan")] * n}) is None
    kept = human_stroke({"x": xs, "y": [0] * n, "t": list(range(100, 100 + 10 * n, 10)),
                         "pressure": [2.0] * n})  # fmt: skip
    assert kept is not None and kept.t[0] == 0.0
    assert kept.pressure is not None and kept.pressure.max() == 1.0


def test_strokes_synthesised_follow_the_target_like_a_person() -> None:
    rng = np.random.default_rng(3)
    xy, t = synthesise(LINE, rng)
    assert len(xy) == len(t) > 20
    assert (np.diff(t) >= 0).all() and (np.diff(t) == 0).any()  # repeated timestamps, as devices
    assert np.abs(xy[:, 1] - 300.0).max() < 10.0
    assert np.abs(xy[:, 1] - 300.0).max() > 0.1  # not a ruler line
    assert xy[0, 0] < 110.0 and xy[-1, 0] > 690.0


def test_strokes_pressure_follows_a_profile_and_downstrokes() -> None:
    rng = np.random.default_rng(4)
    xy = np.column_stack((np.zeros(50), np.linspace(0, 200, 50)))
    p = pressure_along(xy, [0.2, 0.9], rng, jitter=0.0)
    assert p[0] == pytest.approx(0.2) and p[-1] == pytest.approx(0.9)
    down = pressure_along(xy, "downstrokes", rng, jitter=0.0)
    up = pressure_along(xy[::-1], "downstrokes", rng, jitter=0.0)
    assert down[10:40].mean() > up[10:40].mean() + 0.4
    assert ((pressure_along(xy, None, rng) >= 0.05) & (pressure_along(xy, None, rng) <= 1)).all()
    assert profile_for([None, [0.1, 0.5]], 1) == [0.1, 0.5]
    assert profile_for("downstrokes", 3) == "downstrokes"
    assert profile_for([["bad"]], 0) is None and profile_for([None], 5) is None


def test_strokes_batches_by_window_and_limit() -> None:
    rows = np.zeros((10, 6), np.float32)
    rows[:, 2] = [0, 0, 5, 15, 17, 16, 40, 41, 42, 80]  # a repeat and a small backward step
    got = batches(rows, 16.0, max_points=2)
    sizes = [len(b) for _, b in got]
    dues = [d for d, _ in got]
    assert sum(sizes) == 10 and max(sizes) <= 2
    assert dues == [16.0, 16.0, 32.0, 48.0, 48.0, 96.0]
    np.testing.assert_array_equal(np.vstack([b for _, b in got]), rows)  # order kept
    assert batches(rows[:0], 16.0, 4) == []
    with pytest.raises(ValueError):
        batches(rows, 0.0, 4)


@pytest.mark.parametrize("synthetic", [False, True])
def test_strokes_real_and_synthetic_score_well_on_lines(synthetic: bool) -> None:
    if not synthetic and not data_path().is_file():
        pytest.skip(f"no real stroke data at {data_path()}")
    bank = StrokeBank.load(limit=3_000) if not synthetic else StrokeBank([], "synthetic")
    lesson = CATALOG.lesson("steady-lines")
    for k in (0, 1, 2):  # the three straight lines
        step = lesson.steps[k]
        totals = [
            _scored([StrokeMaker(bank, seed).make(t) for t in step.targets], step.to_spec())
            for seed in range(5)
        ]
        assert float(np.mean(totals)) > 0.75, (k, totals)


@needs_data
def test_strokes_real_strokes_land_on_every_first_marks_step() -> None:
    bank = StrokeBank.load(limit=3_000)
    maker = StrokeMaker(bank, seed=11)
    assert maker.source == data_path().name
    lesson = CATALOG.lesson("hatching")
    step = lesson.steps[0]
    rows = [
        maker.make(t, profile_for(step.pressure_profile, i)) for i, t in enumerate(step.targets)
    ]
    assert _scored(rows, step.to_spec()) > 0.8
    for target, r in zip(step.targets, rows, strict=True):  # each stroke on its own target
        assert np.hypot(*(r[0, :2] - target[0])) < 30.0

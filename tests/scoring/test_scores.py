"""What the scores mean: progress shows, modes, devices and determinism behave."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import circle, line, stroke_on

from scoring import SCORER_VERSION, Device, StepSpec, Stroke, score_step

LINE = line(100, 300, 500, 300)


def test_scores_accuracy_falls_steadily_as_the_stroke_drifts() -> None:
    spec = StepSpec([LINE], 10)
    accuracy = [
        score_step(spec, [stroke_on(LINE, offset=(0, dy))]).accuracy for dy in (0, 8, 15, 25, 40)
    ]
    assert accuracy == sorted(accuracy, reverse=True)
    assert accuracy[0] > 0.95
    assert accuracy[-1] < 0.5
    assert len(set(accuracy)) == len(accuracy)  # a score, not a pass/fail


def test_scores_copy_mode_ignores_translation_and_uniform_scale() -> None:
    ring = circle(400, 300, 100)
    spec = StepSpec([ring], 0.04, tolerance_unit="relative", mode="copy")
    here = score_step(spec, [stroke_on(ring)])
    elsewhere = score_step(spec, [stroke_on(circle(150, 120, 45))])
    assert here.accuracy > 0.95
    assert elsewhere.accuracy == pytest.approx(here.accuracy, abs=0.02)
    squashed = score_step(
        spec, [stroke_on(np.column_stack((ring[:, 0], 300 + 0.5 * (ring[:, 1] - 300))))]
    )
    assert squashed.accuracy < here.accuracy - 0.1  # shape still counts
    trace = StepSpec([ring], 0.04, tolerance_unit="relative")
    assert score_step(trace, [stroke_on(circle(150, 120, 45))]).accuracy < 0.3


def test_scores_copy_mode_keeps_strokes_relative_positions() -> None:
    cross = [line(200, 300, 400, 300), line(300, 200, 300, 400)]
    spec = StepSpec(cross, 0.05, tolerance_unit="relative", mode="copy")
    good = score_step(spec, [stroke_on(t * 0.5 + 20) for t in cross])
    apart = score_step(spec, [stroke_on(cross[0] * 0.5), stroke_on(cross[1] * 0.5 + [150, 0])])
    assert good.accuracy > 0.9
    assert apart.accuracy < good.accuracy - 0.2


def test_scores_mouse_is_not_punished_for_missing_pressure_and_tilt() -> None:
    spec = StepSpec([LINE], 10)
    stroke = stroke_on(LINE)
    mouse = score_step(spec, [stroke], Device())
    assert "pressure" not in mouse.metrics
    assert "tilt" not in mouse.metrics
    pen_bad = score_step(
        spec, [stroke_on(LINE, pressure=np.linspace(0.05, 1, 120))], Device(pressure=True)
    )
    assert mouse.quality > pen_bad.quality
    assert mouse.quality > 0.9


def test_scores_tilt_steadiness_counts_only_for_tilt_devices() -> None:
    spec = StepSpec([LINE], 10)
    rng = np.random.default_rng(2)
    wobbling = stroke_on(LINE, tilt=(rng.uniform(-60, 60, 120), rng.uniform(-60, 60, 120)))
    steady = stroke_on(LINE, tilt=(30.0, 10.0))
    tilt = Device(tilt=True)
    assert score_step(spec, [wobbling], tilt).metrics["tilt"] < 0.2
    assert score_step(spec, [steady], tilt).metrics["tilt"] == 1.0
    assert (
        score_step(spec, [wobbling], Device()).quality
        == score_step(spec, [steady], Device()).quality
    )


def test_scores_total_is_the_weights_blend() -> None:
    spec = StepSpec([LINE], 10, weights={"accuracy": 0.8, "quality": 0.2})
    result = score_step(spec, [stroke_on(LINE, offset=(0, 12))])
    assert result.total == pytest.approx(0.8 * result.accuracy + 0.2 * result.quality)


def test_scores_are_deterministic_and_versioned() -> None:
    spec = StepSpec([circle(300, 300, 120)], 8)
    rng = np.random.default_rng(9)
    stroke = stroke_on(circle(300, 300, 120) + rng.normal(0, 2, (65, 2)), n=180)
    first = score_step(spec, [stroke])
    again = score_step(StepSpec([circle(300, 300, 120)], 8), [Stroke(stroke.x, stroke.y, stroke.t)])
    assert first.metrics == again.metrics
    assert first.scorer_version == SCORER_VERSION
    assert SCORER_VERSION.count(".") == 2


def test_scores_stay_in_range_on_random_scribbles() -> None:
    rng = np.random.default_rng(11)
    spec = StepSpec([circle(300, 300, 120), LINE], 10)
    for _ in range(50):
        strokes = []
        for _k in range(rng.integers(0, 4)):
            n = int(rng.integers(1, 80))
            t = np.sort(rng.uniform(0, 1000, n))
            strokes.append(Stroke(rng.uniform(-200, 900, n), rng.uniform(-200, 900, n), t))
        result = score_step(spec, strokes, Device(pressure=True, tilt=True))
        for value in (result.accuracy, result.quality, result.total, *result.metrics.values()):
            assert np.isfinite(value)
        assert 0 <= result.accuracy <= 1 and 0 <= result.quality <= 1 and 0 <= result.total <= 1

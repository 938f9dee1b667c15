"""Every feedback code: absent from a clean drawing, present when its fault is drawn."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import circle, line, min_jerk, stroke_on

from scoring import FEEDBACK_CODES, Device, StepResult, StepSpec, Stroke, score_step

LINE = line(100, 300, 500, 300)
PEN = Device(pressure=True, tilt=True)


def clean() -> Stroke:
    return stroke_on(LINE, pressure=0.6, tilt=(20.0, -10.0))


def score(strokes: list[Stroke], spec: StepSpec | None = None) -> StepResult:
    return score_step(spec or StepSpec([LINE], 10), strokes, PEN)


def test_feedback_clean_stroke_has_none_and_passes() -> None:
    result = score([clean()])
    assert result.feedback == ()
    assert result.passed
    assert result.accuracy > 0.95
    assert result.quality > 0.9


def test_feedback_every_code_has_a_sentence() -> None:
    assert len(FEEDBACK_CODES) == 12
    result = score([])
    assert result.feedback[0].message.endswith(".")


def test_feedback_off_path() -> None:
    prog = min_jerk(120)
    bump = 60 * np.sin(np.pi * prog) ** 2  # bulges 60 px off a 10 px tolerance
    x = 100 + 400 * prog
    stroke = Stroke(x, 300 + bump, np.linspace(0, 900, 120))
    result = score([stroke])
    assert "off_path" in result.codes
    assert result.metrics["within_tolerance"] < 0.8
    assert result.accuracy < score([clean()]).accuracy


def test_feedback_incomplete() -> None:
    result = score([stroke_on(line(100, 300, 300, 300), pressure=0.6)])
    assert "incomplete" in result.codes
    assert "end_off" in result.codes
    assert result.metrics["coverage"] == pytest.approx(0.5, abs=0.05)


def test_feedback_reversed() -> None:
    result = score([stroke_on(LINE[::-1].copy(), pressure=0.6)])
    assert result.codes[0] == "reversed"
    assert "start_off" not in result.codes  # the one fault is named, not its symptoms
    free = score(
        [stroke_on(LINE[::-1].copy(), pressure=0.6)], StepSpec([LINE], 10, directional=False)
    )
    assert "reversed" not in free.codes
    assert free.accuracy > result.accuracy + 0.2


def test_feedback_wobbly() -> None:
    prog = min_jerk(300)
    x = 100 + 400 * prog
    y = 300 + 4.0 * np.sin(np.linspace(0, 60 * np.pi, 300))  # a 4 px tremor
    result = score([Stroke(x, y, np.linspace(0, 2000, 300))])
    assert "wobbly" in result.codes
    assert result.metrics["smoothness"] < 0.6


def test_feedback_uneven_speed() -> None:
    # 80 % of the way in the first fifth of the time, then a crawl.
    prog = np.concatenate((np.linspace(0, 0.8, 20), np.linspace(0.8, 1.0, 101)[1:]))
    result = score([stroke_on(LINE, progress=prog, duration=1500)])
    assert "uneven_speed" in result.codes
    assert result.metrics["speed_cv"] > 0.45


def test_feedback_hesitation() -> None:
    first = min_jerk(60) * 0.5
    prog = np.concatenate((first, np.full(40, 0.5), 0.5 + 0.5 * min_jerk(60)))
    t = np.concatenate(
        (np.linspace(0, 450, 60), np.linspace(460, 900, 40), np.linspace(910, 1360, 60))
    )
    x, y = 100 + 400 * prog, np.full(prog.shape, 300.0)
    result = score([Stroke(x, y, t)])
    assert "hesitation" in result.codes
    assert result.metrics["pauses"] == 1


def test_feedback_uneven_pressure() -> None:
    rng = np.random.default_rng(4)
    shaky = stroke_on(LINE, pressure=rng.uniform(0.1, 0.9, 120))
    assert "uneven_pressure" in score([shaky]).codes
    # A mouse cannot send pressure: the same stroke is not judged on it.
    assert "uneven_pressure" not in score_step(StepSpec([LINE], 10), [shaky], Device()).codes


def test_feedback_uneven_pressure_against_a_profile() -> None:
    thick_thin = np.linspace(0.9, 0.2, 16)
    spec = StepSpec([LINE], 10, pressure_profile=[thick_thin])
    following = stroke_on(LINE, pressure=np.linspace(0.9, 0.2, 120))
    flat = stroke_on(LINE, pressure=0.6)
    assert "uneven_pressure" not in score([following], spec).codes
    assert "uneven_pressure" in score([flat], spec).codes
    assert score([following], spec).quality > score([flat], spec).quality


def test_feedback_start_off_and_end_off() -> None:
    late_start = score([stroke_on(line(140, 300, 500, 300))])
    assert "start_off" in late_start.codes
    assert "end_off" not in late_start.codes
    overshoot = score([stroke_on(line(100, 300, 540, 300))])
    assert "end_off" in overshoot.codes
    assert "start_off" not in overshoot.codes


def test_feedback_missing_and_extra_strokes() -> None:
    two = StepSpec([LINE, line(100, 400, 500, 400)], 10)
    missing = score([clean()], two)
    assert "missing_strokes" in missing.codes
    assert not missing.passed
    assert missing.accuracy == pytest.approx(score([clean()]).accuracy / 2, rel=0.01)
    extra = score([clean(), stroke_on(line(100, 500, 500, 500))])
    assert "extra_strokes" in extra.codes
    assert extra.assignment == (0, None)
    assert extra.accuracy < score([clean()]).accuracy


def test_feedback_wrong_order_only_when_ordered() -> None:
    targets = [line(100, y, 500, y) for y in (200, 300, 400)]
    drawn = [stroke_on(t) for t in reversed(targets)]
    free = score(drawn, StepSpec(targets, 10))
    assert "wrong_order" not in free.codes
    assert free.assignment == (2, 1, 0)
    ordered = score(drawn, StepSpec(targets, 10, ordered=True))
    assert "wrong_order" in ordered.codes
    assert ordered.metrics["order_inversions"] == 3
    assert ordered.accuracy < free.accuracy


def test_feedback_hatching_in_any_order_scores_like_in_order() -> None:
    targets = [line(100 + 40 * k, 100, 100 + 40 * k, 400) for k in range(6)]
    in_order = score([stroke_on(t) for t in targets], StepSpec(targets, 8))
    shuffled = [stroke_on(targets[k]) for k in (3, 0, 5, 1, 4, 2)]
    any_order = score(shuffled, StepSpec(targets, 8))
    assert any_order.accuracy == pytest.approx(in_order.accuracy, abs=1e-9)
    assert any_order.assignment == (3, 0, 5, 1, 4, 2)


def test_feedback_circle_traced_well_passes() -> None:
    ring = circle(400, 300, 150)
    result = score_step(StepSpec([ring], 10), [stroke_on(ring, n=200, duration=1500)])
    assert result.passed
    assert result.metrics["coverage"] > 0.95

"""LiveScorer: feedback while drawing, and the same result as scoring the whole step."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import circle, line, stroke_on

from scoring import Device, LiveScorer, StepSpec, Stroke, score_step

LINE = line(100, 300, 500, 300)
PEN = Device(pressure=True, tilt=True)


def wire(stroke: Stroke) -> np.ndarray:
    return stroke.to_points().astype(np.float32)


def feed(live: LiveScorer, points: np.ndarray, size: int = 8) -> list[object]:
    live.begin_stroke()
    return [live.add_points(points[i : i + size]) for i in range(0, len(points), size)]


def test_live_progress_grows_and_deviation_follows_the_pen() -> None:
    live = LiveScorer(StepSpec([LINE], 10), PEN)
    answers = feed(live, wire(stroke_on(LINE, pressure=0.6)))
    progress = [a.progress for a in answers]  # type: ignore[attr-defined]
    assert progress == sorted(progress)
    assert progress[0] < 0.2
    assert progress[-1] > 0.95
    assert all(not a.off_path and a.deviation < 1e-3 for a in answers)  # type: ignore[attr-defined]
    assert answers[-1].points == 120  # type: ignore[attr-defined]


def test_live_off_path_is_flagged_while_drawing() -> None:
    live = LiveScorer(StepSpec([LINE], 10), PEN)
    pts = wire(stroke_on(LINE))
    pts[64:80, 1] += 40
    answers = feed(live, pts)
    assert answers[8].off_path  # type: ignore[attr-defined]
    assert answers[8].deviation == pytest.approx(40, abs=0.01)  # type: ignore[attr-defined]
    assert not answers[-1].off_path  # type: ignore[attr-defined]


def test_live_result_equals_score_step_on_the_same_strokes() -> None:
    targets = [line(100, 100 + 60 * k, 500, 100 + 60 * k) for k in range(3)]
    spec = StepSpec(targets, 8, pressure_profile=[np.linspace(0.8, 0.3, 8), None, None])
    live = LiveScorer(spec, PEN)
    rng = np.random.default_rng(5)
    strokes = []
    for k in (2, 0, 1):
        s = stroke_on(targets[k] + rng.normal(0, 2, targets[k].shape), pressure=0.7)
        feed(live, wire(s), size=int(rng.integers(1, 20)))
        score = live.end_stroke()
        assert score.target == k
        strokes.append(Stroke.from_points(wire(s).astype(np.float64)))
    expected = score_step(spec, strokes, PEN)
    got = live.result()
    assert got.metrics == pytest.approx(expected.metrics)
    assert got.assignment == expected.assignment == (2, 0, 1)


@pytest.mark.parametrize("mode", ["trace", "copy"])
def test_each_end_stroke_is_that_stroke_in_the_step_scored_so_far(mode: str) -> None:
    """end_stroke scores only the stroke it ends, yet must equal that stroke in the whole
    step's result: including an extra stroke, and a later stroke taking a target over."""
    targets = [line(100, 100 + 60 * k, 500, 100 + 60 * k) for k in range(3)]
    spec = StepSpec(targets, 8, mode=mode)
    live = LiveScorer(spec, PEN)
    rng = np.random.default_rng(11)
    drawn = [targets[0] + [0, 25], targets[0], targets[2], targets[1], targets[1] + [0, 5]]
    for shape in drawn:
        s = stroke_on(shape + rng.normal(0, 1.5, shape.shape), pressure=0.6)
        feed(live, wire(s), size=7)
        got = live.end_stroke()
        expected = live.result().strokes[-1]
        assert got == expected
    assert live.result().assignment.count(None) == 2  # two strokes were extra


def test_live_copy_mode_result_matches_score_step() -> None:
    ring = circle(400, 300, 100)
    spec = StepSpec([ring], 0.05, tolerance_unit="relative", mode="copy")
    live = LiveScorer(spec)
    # Live, copy mode can only assume the learner draws at the target's size from where
    # the pen lands: the same circle elsewhere is followed in full ...
    moved = feed(live, wire(stroke_on(circle(150, 200, 100), n=150)))
    assert moved[-1].progress > 0.95  # type: ignore[attr-defined]
    live.undo()
    live.undo()
    # ... and the end-of-stroke score frees scale too.
    stroke = stroke_on(circle(200, 200, 50), n=150)
    feed(live, wire(stroke))
    live.end_stroke()
    expected = score_step(spec, [Stroke.from_points(wire(stroke).astype(np.float64))])
    assert live.result().total == pytest.approx(expected.total)


def test_live_repairs_device_streams_and_counts_them() -> None:
    live = LiveScorer(StepSpec([LINE], 10), PEN)
    pts = wire(stroke_on(LINE, pressure=0.5))
    pts[10:20, 2] = pts[10, 2]  # coarse timer: ten points share a time
    pts[30, 2] = pts[29, 2] - 1  # a step back
    pts[50, 3] = 1.3  # pressure out of range
    pts = np.insert(pts, 40, pts[39], axis=0)  # a point sent twice
    pts = np.insert(pts, 60, np.nan, axis=0)  # garbage
    feed(live, pts)
    score = live.end_stroke()
    report = live.repairs
    assert report.dropped_nonfinite == 1
    assert report.duplicates == 1
    assert report.backward_t == 1
    assert report.clipped == 1
    assert report.spread_t >= 9
    stroke = live.strokes[0]
    assert len(stroke) == 120
    assert np.all(np.diff(stroke.t) >= 0)
    assert score.accuracy > 0.95


def test_live_undo_and_reset() -> None:
    spec = StepSpec([LINE, line(100, 400, 500, 400)], 10)
    live = LiveScorer(spec)
    feed(live, wire(stroke_on(LINE)))
    live.end_stroke()
    feed(live, wire(stroke_on(line(100, 200, 500, 200))))
    live.end_stroke()
    assert len(live.strokes) == 2
    live.undo()
    assert len(live.strokes) == 1
    assert "missing_strokes" in live.result().codes
    feed(live, wire(stroke_on(line(100, 400, 500, 400))))
    live.undo()  # abandons the stroke being drawn
    assert not live.drawing
    assert len(live.strokes) == 1
    live.reset()
    assert live.strokes == ()
    assert live.result().total == 0.0


def test_live_misuse_raises_clear_errors() -> None:
    live = LiveScorer(StepSpec([LINE], 10))
    with pytest.raises(RuntimeError, match="no stroke begun"):
        live.add_points(np.zeros((1, 6), np.float32))
    with pytest.raises(RuntimeError, match="no stroke begun"):
        live.end_stroke()
    live.begin_stroke()
    with pytest.raises(RuntimeError, match="already"):
        live.begin_stroke()
    with pytest.raises(ValueError, match="batch"):
        live.add_points(np.zeros((4, 5), np.float32))


def test_live_accepts_read_only_wire_buffers_and_float64() -> None:
    live = LiveScorer(StepSpec([LINE], 10))
    pts = wire(stroke_on(LINE))
    live.begin_stroke()
    frozen = np.frombuffer(pts[:60].tobytes(), dtype="<f4").reshape(-1, 6)
    assert not frozen.flags.writeable
    live.add_points(frozen)
    answer = live.add_points(pts[60:].astype(np.float64))
    assert answer.points == 120
    assert live.end_stroke().accuracy > 0.95


def test_live_batch_cost_does_not_grow_with_the_stroke() -> None:
    # O(batch): the kernel touches only the new points, so a 4,000-point stroke fed
    # 8 at a time does as many point visits as points (counted, not timed).
    live = LiveScorer(StepSpec([circle(400, 300, 150)], 10))
    stroke = stroke_on(circle(400, 300, 150), n=4000, duration=20000)
    answers = feed(live, wire(stroke))
    assert [a.points for a in answers] == list(range(8, 4001, 8))  # type: ignore[attr-defined]
    assert live.end_stroke().accuracy > 0.9

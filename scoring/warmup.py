"""Compile (or load from numba's cache) every kernel before the first real stroke."""

from __future__ import annotations

import numpy as np

from scoring.distance import dtw_distance, frechet_distance
from scoring.ingest import repair_points
from scoring.live import LiveScorer
from scoring.spec import StepSpec
from scoring.step import score_step
from scoring.stroke import Device, Stroke


def warm_up() -> None:
    """Run each kernel once on every argument type the server passes it."""
    arc = np.linspace(0.0, np.pi, 24)
    target = np.column_stack((100 + 50 * np.cos(arc), 100 + 50 * np.sin(arc)))
    n = 40
    u = np.linspace(0.0, np.pi, n)
    points = np.column_stack(
        (
            100 + 52 * np.cos(u),
            100 + 49 * np.sin(u),
            np.linspace(0.0, 600.0, n),
            np.full(n, 0.6),
            np.full(n, 10.0),
            np.full(n, -5.0),
        )
    )
    stroke = Stroke.from_points(points)
    full = Device(pressure=True, tilt=True)
    for mode in ("trace", "copy"):
        spec = StepSpec(
            [target, target[::-1] + 5.0],
            8.0,
            mode=mode,
            pressure_profile=[np.linspace(0.2, 0.9, 5), None],
        )
        score_step(spec, [stroke, stroke], full)
        score_step(spec, [stroke], Device())
        live = LiveScorer(spec, full)
        live.begin_stroke()
        f32 = points.astype(np.float32)
        live.add_points(f32[:8])
        readonly = np.frombuffer(f32[8:16].tobytes(), dtype=np.float32).reshape(-1, 6)
        live.add_points(readonly)
        live.add_points(points[16:])
        live.end_stroke()
        live.result()
    repair_points(points.astype(np.float32))
    repair_points(points)
    dtw_distance(target, target)
    dtw_distance(target, target, "sqeuclidean")
    frechet_distance(target, target)

"""The scoring engine against its bars (issue 2), with the peers measured in the same run.

    python3 -m pytest benchmarks/test_scoring.py --benchmark-only

- score_step, one target and a 256-point stroke: median <= 50 us; at least 50x faster
  than similaritymeasures.frechet_dist alone on the same curves.
- the DTW / Frechet kernels on 2-D 256 x 256: faster than dtaidistance's C DTW.
- LiveScorer.add_points with an 8-point batch: median <= 10 us.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
import similaritymeasures
from dtaidistance import dtw_ndim
from pytest_benchmark.fixture import BenchmarkFixture

from scoring import (
    Device,
    LiveScorer,
    StepSpec,
    Stroke,
    dtw_distance,
    frechet_distance,
    score_step,
    warm_up,
)

PEN = Device(pressure=True, tilt=True)


def _median_us(benchmark: BenchmarkFixture) -> float:
    return float(benchmark.stats.stats.median) * 1e6  # type: ignore[union-attr]


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warm_up()


@pytest.fixture(scope="module")
def curve() -> tuple[StepSpec, Stroke, np.ndarray]:
    """An S-curve target of 64 vertices and a wobbly 256-point pen stroke over it."""
    s = np.linspace(0.0, 1.0, 64)
    target = np.column_stack((100 + 500 * s, 300 + 120 * np.sin(2 * np.pi * s)))
    rng = np.random.default_rng(7)
    u = np.linspace(0.0, 1.0, 256)
    prog = 10 * u**3 - 15 * u**4 + 6 * u**5
    x = 100 + 500 * prog + rng.normal(0, 1.5, 256)
    y = 300 + 120 * np.sin(2 * np.pi * prog) + rng.normal(0, 1.5, 256)
    stroke = Stroke(
        x,
        y,
        np.linspace(0, 1400, 256),
        rng.uniform(0.5, 0.7, 256),
        np.full(256, 25.0),
        np.full(256, -8.0),
    )
    return StepSpec([target], 10.0), stroke, target


def test_bench_score_step_256(
    benchmark: BenchmarkFixture,
    curve: tuple[StepSpec, Stroke, np.ndarray],
    report: Callable[[str], None],
) -> None:
    spec, stroke, _ = curve
    result = benchmark(score_step, spec, [stroke], PEN)
    assert result.passed
    report(
        "score_step, 1 target (64 vertices), 256-point stroke: "
        f"median {_median_us(benchmark):.1f} us (bar 50 us)"
    )
    _SCORE_US.append(_median_us(benchmark))


_SCORE_US: list[float] = []


def test_bench_peer_similaritymeasures_frechet_256(
    benchmark: BenchmarkFixture,
    curve: tuple[StepSpec, Stroke, np.ndarray],
    report: Callable[[str], None],
) -> None:
    _, stroke, target = curve
    drawn = np.column_stack((stroke.x, stroke.y))
    value = benchmark.pedantic(  # type: ignore[no-untyped-call]
        similaritymeasures.frechet_dist, (drawn, target), rounds=5, iterations=1
    )
    assert value > 0
    peer = _median_us(benchmark)
    line = f"similaritymeasures.frechet_dist alone, same curves: median {peer:.0f} us"
    if _SCORE_US:
        line += f" -> score_step is {peer / _SCORE_US[0]:.0f}x faster (bar 50x)"
    report(line)


@pytest.fixture(scope="module")
def pair256() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    a = np.cumsum(rng.normal(0, 1, (256, 2)), axis=0)
    b = np.cumsum(rng.normal(0, 1, (256, 2)), axis=0)
    return a, b


_DTW_US: dict[str, float] = {}


def test_bench_peer_dtaidistance_c_dtw_256(
    benchmark: BenchmarkFixture,
    pair256: tuple[np.ndarray, np.ndarray],
    report: Callable[[str], None],
) -> None:
    a, b = pair256
    value = benchmark(dtw_ndim.distance, a, b, use_c=True)
    assert value == pytest.approx(dtw_distance(a, b, "sqeuclidean"), rel=1e-9)
    _DTW_US["dtaidistance"] = _median_us(benchmark)
    report(
        "dtaidistance C DTW (dtw_ndim.distance, use_c), 256x256: "
        f"median {_median_us(benchmark):.1f} us"
    )


@pytest.mark.parametrize("kind", ["dtw-sqeuclidean", "dtw-euclidean", "frechet"])
def test_bench_elastic_kernels_256(
    benchmark: BenchmarkFixture,
    pair256: tuple[np.ndarray, np.ndarray],
    kind: str,
    report: Callable[[str], None],
) -> None:
    a, b = pair256
    if kind == "frechet":
        benchmark(frechet_distance, a, b)
    else:
        benchmark(dtw_distance, a, b, kind.removeprefix("dtw-"))
    ours = _median_us(benchmark)
    line = f"inkroom {kind} 256x256: median {ours:.1f} us"
    if "dtaidistance" in _DTW_US:
        line += f" ({_DTW_US['dtaidistance'] / ours:.1f}x dtaidistance's C DTW)"
    report(line)


def _batches(stroke_points: np.ndarray) -> Iterator[np.ndarray]:
    while True:
        for i in range(0, len(stroke_points) - 8, 8):
            yield stroke_points[i : i + 8]


def test_bench_live_add_points_8(
    benchmark: BenchmarkFixture, report: Callable[[str], None]
) -> None:
    s = np.linspace(0.0, 1.0, 64)
    target = np.column_stack((100 + 500 * s, 300 + 120 * np.sin(2 * np.pi * s)))
    live = LiveScorer(StepSpec([target], 10.0), PEN)
    n = 2400  # ten seconds of a 240 Hz stylus; then a new stroke
    u = np.linspace(0.0, 1.0, n)
    pts = np.column_stack(
        (
            100 + 500 * u,
            300 + 120 * np.sin(2 * np.pi * u),
            np.linspace(0, 10000, n),
            np.full(n, 0.6),
            np.full(n, 20.0),
            np.zeros(n),
        )
    ).astype(np.float32)
    feed = _batches(pts)
    state = {"left": 0}

    def add() -> object:
        if state["left"] == 0:
            if live.drawing:
                live.end_stroke()
                live.reset()
            live.begin_stroke()
            state["left"] = n // 8 - 1
        state["left"] -= 1
        return live.add_points(next(feed))

    answer = benchmark(add)
    assert answer is not None
    report(
        f"LiveScorer.add_points, 8-point batch: median {_median_us(benchmark):.2f} us (bar 10 us)"
    )

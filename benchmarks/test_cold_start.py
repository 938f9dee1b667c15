"""Cold start with and without numba's cache (see cold_start.py), as part of the run."""

from __future__ import annotations

from collections.abc import Callable

from cold_start import measure
from pytest_benchmark.fixture import BenchmarkFixture


def test_cold_start_with_and_without_cache(
    benchmark: BenchmarkFixture, report: Callable[[str], None]
) -> None:
    # One round: each round is two fresh processes, one of them compiling every kernel.
    figures = benchmark.pedantic(measure, rounds=1, iterations=1)  # type: ignore[no-untyped-call]
    for label, (imported, warmed) in figures.items():
        report(f"cold start {label}: import {imported:.2f} s + warm_up {warmed:.2f} s")
    assert sum(figures["with cache"]) < sum(figures["without cache"])

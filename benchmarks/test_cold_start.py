"""Cold start with and without numba's cache (see cold_start.py), as part of the run."""

from __future__ import annotations

from collections.abc import Callable

from cold_start import measure


def test_cold_start_with_and_without_cache(report: Callable[[str], None]) -> None:
    figures = measure()
    for label, (imported, warmed) in figures.items():
        report(f"cold start {label}: import {imported:.2f} s + warm_up {warmed:.2f} s")
    assert sum(figures["with cache"]) < sum(figures["without cache"])

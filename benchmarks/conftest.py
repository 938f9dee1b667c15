"""Shared benchmark plumbing: every bar's figure is printed in the run's summary."""

from __future__ import annotations

from collections.abc import Callable

import pytest

FIGURES: list[str] = []


@pytest.fixture
def report() -> Callable[[str], None]:
    """Record one line for the end-of-run summary (a figure and, where named, the peer's)."""
    return FIGURES.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("Inkroom figures")
        for line in FIGURES:
            terminalreporter.write_line(line)

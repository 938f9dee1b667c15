"""The load script's CPU split: the target on one CPU, everything else on the rest."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "load"))
import run  # type: ignore[import-not-found]


def test_the_target_gets_the_first_cpu_and_the_clients_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {3, 1, 2})
    assert run.pinning(True) == ({1}, {2, 3})
    assert run.pinning(False) is None


def test_one_cpu_is_not_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert run.pinning(True) is None

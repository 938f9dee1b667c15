"""What the bots count and measure, and how it is shown: the live line and the summary. Pure.

Counts are cumulative per process; samples (latencies, scores) are appended. A bot process
that is one of several reports `Report`s: its counts as they stand plus the samples added since
its last report, so the parent can add the processes up exactly (`Tally`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

SAMPLES: Final = ("stroke_totals", "final_totals", "feedback_ms", "peer_ms")
COUNT_NAMES: Final = (
    "players",
    "signed_up",
    "connected",
    "strokes_sent",
    "points_sent",
    "batches_sent",
    "steps_ended",
    "steps_scored",
    "steps_passed",
    "finished",
    "spectators",
    "reconnects",
    "disconnects",
    "failures",
)
MAX_NOTES: Final = 50


@dataclass
class Report:
    counts: dict[str, int]
    errors: dict[str, int]
    samples: dict[str, list[float]]
    notes: list[str]


@dataclass
class BotStats:
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # protocol and HTTP error codes
    stroke_totals: list[float] = field(default_factory=list)
    final_totals: list[float] = field(default_factory=list)
    feedback_ms: list[float] = field(default_factory=list)  # points batch -> its feedback
    peer_ms: list[float] = field(default_factory=list)  # points batch -> a peer's copy
    notes: list[str] = field(default_factory=list)  # room codes, spectators, failures
    _reported: dict[str, int] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)

    def report(self) -> Report:
        """Counts as they stand, and the samples and notes added since the last report."""
        samples: dict[str, list[float]] = {}
        for name in SAMPLES:
            values: list[float] = getattr(self, name)
            samples[name] = [float(v) for v in values[self._reported.get(name, 0) :]]
            self._reported[name] = len(values)
        notes = self.notes[self._reported.get("notes", 0) :]
        self._reported["notes"] = len(self.notes)
        return Report(dict(self.counts), dict(self.errors), samples, notes)


class Tally:
    """The processes' reports added up."""

    def __init__(self) -> None:
        self.stats = BotStats()
        self._counts: dict[int, dict[str, int]] = {}
        self._errors: dict[int, dict[str, int]] = {}

    def add(self, process: int, report: Report) -> None:
        self._counts[process] = report.counts
        self._errors[process] = report.errors
        for name, values in report.samples.items():
            if name in SAMPLES:
                getattr(self.stats, name).extend(values)
        for text in report.notes:
            self.stats.note(text)
        self.stats.counts = sum((Counter(c) for c in self._counts.values()), Counter())
        self.stats.errors = sum((Counter(e) for e in self._errors.values()), Counter())


def _pct(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q)) if samples else math.nan


def latency(samples: list[float]) -> dict[str, float | int]:
    return {
        "n": len(samples),
        "p50": _pct(samples, 50),
        "p90": _pct(samples, 90),
        "p99": _pct(samples, 99),
        "max": max(samples) if samples else math.nan,
    }


def summary(stats: BotStats, **extra: Any) -> dict[str, Any]:
    """The run's summary as plain JSON-ready values (NaN where there was nothing to measure)."""
    c = stats.counts
    totals = stats.stroke_totals
    return {
        **extra,
        **{name: int(c[name]) for name in COUNT_NAMES if name != "connected"},
        "scores": {
            "strokes_scored": len(totals),
            "stroke_total_mean": float(np.mean(totals)) if totals else math.nan,
            "stroke_total_min": min(totals) if totals else math.nan,
            "stroke_total_max": max(totals) if totals else math.nan,
            "steps_scored": int(c["steps_scored"]),
            "steps_passed": int(c["steps_passed"]),
            "final_total_mean": (
                float(np.mean(stats.final_totals)) if stats.final_totals else math.nan
            ),
        },
        "latency_ms": {
            "feedback": latency(stats.feedback_ms),
            "peer": latency(stats.peer_ms),
        },
        "errors": dict(sorted(stats.errors.items())),
        "notes": list(stats.notes),
    }


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def live_line(stats: BotStats, elapsed_s: float) -> str:
    c = stats.counts
    median = _pct(stats.stroke_totals, 50)
    lat = stats.feedback_ms
    return (
        f"{elapsed_s:6.1f}s  players {c['connected']}/{c['players']}  "
        f"strokes {c['strokes_sent']}  points {c['points_sent']}  "
        f"score p50 {'-' if math.isnan(median) else f'{median:.2f}'}  "
        f"feedback p50/p99 {_ms(_pct(lat, 50))}/{_ms(_pct(lat, 99))} ms  "
        f"peer p99 {_ms(_pct(stats.peer_ms, 99))} ms  "
        f"errors {sum(stats.errors.values())}  done {c['finished']}"
    )


def format_summary(s: dict[str, Any]) -> str:
    """The summary as text for people."""
    sc = s["scores"]

    def score(value: float) -> str:
        return "-" if math.isnan(value) else f"{value:.3f}"

    def lat(name: str) -> str:
        d = s["latency_ms"][name]
        return (
            f"{name:9s} n={d['n']:<7d} p50 {_ms(d['p50'])}  p90 {_ms(d['p90'])}  "
            f"p99 {_ms(d['p99'])}  max {_ms(d['max'])} ms"
        )

    errors = ", ".join(f"{k} {v}" for k, v in s["errors"].items()) or "none"
    head = [" ".join(str(s[k]) for k in ("mode", "lesson") if s.get(k)), f"{s['players']} players"]
    if s.get("source"):
        head.append(f"strokes from {s['source']}")
    if "elapsed_s" in s:
        head.append(f"{s['elapsed_s']:.1f} s")
    lines = [
        "inkroom bot: "
        + ", ".join(h for h in head if h)
        + (" (interrupted)" if s.get("interrupted") else ""),
        f"  finished     {s['finished']}/{s['players']}"
        + (f"  (spectators: {s['spectators']})" if s["spectators"] else ""),
        f"  sent         {s['strokes_sent']} strokes, {s['points_sent']} points in "
        f"{s['batches_sent']} batches, {s['steps_ended']} steps ended",
        f"  scores       stroke total mean {score(sc['stroke_total_mean'])}  min "
        f"{score(sc['stroke_total_min'])}  max {score(sc['stroke_total_max'])}  "
        f"({sc['strokes_scored']} scored); steps passed {sc['steps_passed']}/"
        f"{sc['steps_scored']}; final total mean {score(sc['final_total_mean'])}",
        "  latency      " + lat("feedback"),
        "               " + lat("peer"),
        f"  errors       {errors}",
        f"  connections  {s['reconnects']} reconnects, {s['disconnects']} lost, "
        f"{s['failures']} failed players",
    ]
    lines += [f"  note         {n}" for n in s["notes"]]
    return "\n".join(lines)

"""Inkroom's scoring engine: how well a drawn stroke matches a lesson step.

Pure functions over numpy arrays, with numba kernels underneath; no I/O.
"""

from __future__ import annotations

from scoring.constants import SCORER_VERSION
from scoring.distance import dtw_distance, frechet_distance
from scoring.feedback import CODES as FEEDBACK_CODES
from scoring.feedback import Feedback
from scoring.ingest import RepairReport, StreamRepair, repair_points, repair_stroke
from scoring.live import LiveScorer
from scoring.result import LiveFeedback, StepResult, StrokeScore
from scoring.spec import StepSpec
from scoring.step import score_step
from scoring.stroke import Device, Stroke
from scoring.warmup import warm_up

__all__ = [
    "FEEDBACK_CODES",
    "SCORER_VERSION",
    "Device",
    "Feedback",
    "LiveFeedback",
    "LiveScorer",
    "RepairReport",
    "StepResult",
    "StepSpec",
    "StreamRepair",
    "Stroke",
    "StrokeScore",
    "dtw_distance",
    "frechet_distance",
    "repair_points",
    "repair_stroke",
    "score_step",
    "warm_up",
]

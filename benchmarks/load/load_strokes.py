"""Stroke shapes for the load bots: a re-export of `inkroom_client.strokes`, which the
`inkroom bot` players use too (one implementation of the fitting and the synthesis).

Each stroke of the MMG set (`shared/data/README.md`) is cleaned of its coarse-timer artefacts,
resampled at `rate_hz` along its own real time, so the bot's speed profile is a person's, and
fitted onto a target polyline by the similarity that best maps its shape onto the target's
(`inkroom_client.strokes.similarity`). Without the data set, strokes are synthesised: a
minimum-jerk sweep along the target with a little drift and tremor.
"""

from __future__ import annotations

from inkroom_client.strokes import RESAMPLE_MAX_POINTS as MAX_POINTS
from inkroom_client.strokes import RESAMPLE_MIN_POINTS as MIN_POINTS
from inkroom_client.strokes import Rows, Shape, load_shapes, stroke_rows
from inkroom_client.strokes import fit_onto as _onto
from inkroom_client.strokes import resample as _resample

__all__ = [
    "MAX_POINTS",
    "MIN_POINTS",
    "Rows",
    "Shape",
    "_onto",
    "_resample",
    "load_shapes",
    "stroke_rows",
]

"""The real human strokes of the MMG set (shared/data/README.md): for tests, benchmarks, bots.

One JSON object a line, gzip-compressed: `{"input", "subject", "speed", "label", "sample",
"strokes": [{"x", "y", "t"}, ...]}`, x and y in screen pixels, t in milliseconds. The file is
found through `INKROOM_STROKE_DATA`, defaulting to `../shared/data/mmg-strokes.jsonl.gz` beside
the project (absent on a user's machine: callers skip, or synthesise strokes).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

ENV: Final = "INKROOM_STROKE_DATA"
# clients/python/inkroom_client/mmg.py -> the folder holding the project and shared/
_BESIDE_PROJECT: Final = Path(__file__).resolve().parents[4]
DEFAULT_PATH: Final = _BESIDE_PROJECT / "shared" / "data" / "mmg-strokes.jsonl.gz"

Gesture = dict[str, Any]


def data_path() -> Path:
    return Path(os.environ.get(ENV, str(DEFAULT_PATH)))


def gestures(path: Path | None = None) -> Iterator[Gesture]:
    """Every gesture of the file, in order."""
    with gzip.open(path or data_path(), "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def wire_rows(stroke: dict[str, list[float]]) -> npt.NDArray[np.float64]:
    """A stroke as raw wire rows (x, y, t from its first point, pressure 0.5, no tilt):
    what a pressure-less device would send, timer artefacts and all."""
    n = len(stroke["x"])
    t = np.asarray(stroke["t"], dtype=np.float64)
    return np.column_stack(
        (stroke["x"], stroke["y"], t - t[0], np.full(n, 0.5), np.zeros(n), np.zeros(n))
    )


def drawable(gesture: Gesture) -> bool:
    """Every stroke has some length (a few are single dots: no target can be made of them)."""
    return all(np.hypot(np.diff(s["x"]), np.diff(s["y"])).sum() > 0 for s in gesture["strokes"])

"""Pressure profiles drawn from a stroke's direction, for calligraphy.

A broad or pointed pen swells on downstrokes and thins on upstrokes. `downstroke_profile` samples
the target evenly along its arc length and gives each sample a pressure from how steeply the
stroke heads down the canvas there (y grows downwards): straight down is THICK, level or rising
is THIN. A light smoothing keeps the swell from switching abruptly where the stroke turns.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from scoring.types import FloatArray

THIN: Final = 0.2
THICK: Final = 0.9
SAMPLES: Final = 24


def downstroke_profile(target: FloatArray, samples: int = SAMPLES) -> list[float]:
    seg = np.diff(target, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    moving = seg_len > 0.0
    seg, seg_len = seg[moving], seg_len[moving]
    if len(seg) == 0:  # a zero-length target: the scorer rejects it; nothing to follow here
        return [THIN] * samples
    cum = np.concatenate(([0.0], np.cumsum(seg_len)))
    # Each sample takes the direction of the segment under it (the midpoint of its slice).
    at = (np.arange(samples) + 0.5) / samples * cum[-1]
    index = np.clip(np.searchsorted(cum, at, side="right") - 1, 0, len(seg) - 1)
    down = np.clip(seg[index, 1] / seg_len[index], 0.0, 1.0)
    smooth = np.convolve(np.pad(down, 1, mode="edge"), np.array([0.25, 0.5, 0.25]), "valid")
    values = THIN + (THICK - THIN) * smooth
    return [round(float(v), 3) for v in values]

"""A step's guide as a standalone SVG document, and its checksum.

The guide is what the learner sees under (trace) or beside (copy) their drawing: each target as
a light guide line, a start dot where the stroke begins, an arrow part way along showing which
way to draw, and, for ordered steps of several strokes, the stroke's number by its start.
A target with a pressure profile is drawn as a filled ribbon whose width follows the profile, so
thick downstrokes and thin upstrokes show as they should be written.

Output is deterministic: every number is rounded to two decimals and formatted the same way,
elements come in target order, and nothing depends on time or the machine. The checksum is the
sha256 of the document's UTF-8 bytes, so any change to a step's targets changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

import numpy as np

from scoring.types import FloatArray

GUIDE_COLOR: Final = "#8fa3bf"
GUIDE_OPACITY: Final = "0.55"
GUIDE_WIDTH: Final = 6.0
RIBBON_MIN: Final = 2.0  # ribbon width at pressure 0
RIBBON_MAX: Final = 18.0  # and at pressure 1
RIBBON_SAMPLES: Final = 96
START_COLOR: Final = "#2f9e5b"
START_RADIUS: Final = 7.0
ARROW_COLOR: Final = "#e07b24"
ARROW_SIZE: Final = 14.0
ARROW_AT: Final = 0.35  # fraction of the stroke's length where its arrow sits
LABEL_COLOR: Final = "#33415c"
LABEL_SIZE: Final = 18
LABEL_OFFSET: Final = 22.0


def _num(value: float) -> str:
    text = f"{round(float(value), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pts(points: FloatArray) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in points)


def _arc_length(line: FloatArray) -> FloatArray:
    seg = np.hypot(np.diff(line[:, 0]), np.diff(line[:, 1]))
    return np.concatenate(([0.0], np.cumsum(seg)))


def _at(line: FloatArray, cum: FloatArray, s: float) -> FloatArray:
    return np.array([np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1])])


def _direction(line: FloatArray, cum: FloatArray, s: float) -> FloatArray:
    """Unit tangent at arc length s, from the points a little before and after it."""
    total = float(cum[-1])
    h = max(total * 0.02, 1e-6)
    d = _at(line, cum, min(s + h, total)) - _at(line, cum, max(s - h, 0.0))
    norm = float(np.hypot(*d))
    if norm == 0.0:
        d = line[-1] - line[0]
        norm = float(np.hypot(*d)) or 1.0
    return d / norm


def _ribbon(line: FloatArray, cum: FloatArray, profile: Sequence[float]) -> FloatArray:
    """Outline of the stroke with its width following the pressure profile."""
    total = float(cum[-1])
    s = np.linspace(0.0, total, RIBBON_SAMPLES)
    centre = np.column_stack((np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1])))
    tangent = np.gradient(centre, axis=0)
    norm = np.hypot(tangent[:, 0], tangent[:, 1])
    norm[norm == 0.0] = 1.0
    normal = np.column_stack((-tangent[:, 1], tangent[:, 0])) / norm[:, None]
    p = np.interp(s / total, np.linspace(0.0, 1.0, len(profile)), np.asarray(profile, float))
    half = (RIBBON_MIN + (RIBBON_MAX - RIBBON_MIN) * p)[:, None] / 2.0
    return np.concatenate((centre + normal * half, (centre - normal * half)[::-1]))


def _arrow(tip: FloatArray, direction: FloatArray) -> FloatArray:
    normal = np.array([-direction[1], direction[0]])
    back = tip - direction * ARROW_SIZE
    return np.array([tip, back + normal * ARROW_SIZE * 0.5, back - normal * ARROW_SIZE * 0.5])


def render_guide(
    targets: Sequence[FloatArray],
    canvas_width: int,
    canvas_height: int,
    *,
    ordered: bool,
    pressure_profile: Sequence[Sequence[float] | None] | None,
) -> str:
    w, h = _num(canvas_width), _num(canvas_height)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
        f'<g class="guides" fill="none" stroke="{GUIDE_COLOR}" stroke-opacity="{GUIDE_OPACITY}"'
        f' stroke-width="{_num(GUIDE_WIDTH)}" stroke-linecap="round" stroke-linejoin="round">',
    ]
    marks: list[str] = []
    numbered = ordered and len(targets) > 1
    for i, line in enumerate(targets):
        cum = _arc_length(line)
        profile = None if pressure_profile is None else pressure_profile[i]
        if profile is None:
            lines.append(f'<polyline points="{_pts(line)}"/>')
        else:
            lines.append(
                f'<polygon points="{_pts(_ribbon(line, cum, profile))}" fill="{GUIDE_COLOR}"'
                f' fill-opacity="{GUIDE_OPACITY}" stroke="none"/>'
            )
        start = line[0]
        marks.append(
            f'<circle cx="{_num(start[0])}" cy="{_num(start[1])}" r="{_num(START_RADIUS)}"'
            f' fill="{START_COLOR}"/>'
        )
        s = ARROW_AT * float(cum[-1])
        direction = _direction(line, cum, s)
        marks.append(
            f'<polygon points="{_pts(_arrow(_at(line, cum, s), direction))}" fill="{ARROW_COLOR}"/>'
        )
        if numbered:
            # Behind the start, against the direction the stroke sets off in, kept on the canvas.
            label = start - _direction(line, cum, 0.0) * LABEL_OFFSET
            x = min(max(float(label[0]), LABEL_SIZE / 2), canvas_width - LABEL_SIZE / 2)
            y = min(max(float(label[1]), LABEL_SIZE / 2), canvas_height - LABEL_SIZE / 2)
            marks.append(
                f'<text x="{_num(x)}" y="{_num(y)}" font-family="sans-serif"'
                f' font-size="{LABEL_SIZE}" fill="{LABEL_COLOR}" text-anchor="middle"'
                f' dominant-baseline="central">{i + 1}</text>'
            )
    lines.append("</g>")
    lines.append('<g class="marks">')
    lines.extend(marks)
    lines.append("</g>")
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def guide_checksum(svg: str) -> str:
    return hashlib.sha256(svg.encode("utf-8")).hexdigest()

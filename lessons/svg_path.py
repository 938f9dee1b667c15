"""SVG path data (the `d` attribute) to polylines.

Theory of operation: a small scanner reads the command letters and numbers of the SVG 1.1 path
grammar (numbers may run together, as in `M1-2.5.5`, and arc flags may be a bare `0`/`1` glued to
the next number). Each command moves a current point; straight commands append it, curves and arcs
are flattened into enough chords that no chord strays more than `flatness` from the true curve.

The chord count comes from the classic bound: a curve p(t) sampled at n equal steps of its
parameter over a range of width w strays from its chords by at most w^2 * max|p''| / (8 n^2).
For a cubic Bezier max|p''| <= 6 * max(|P0 - 2 P1 + P2|, |P1 - 2 P2 + P3|), for a quadratic it is
2 * |P0 - 2 P1 + P2|, and for an elliptical arc in its angle parameter it is max(rx, ry).
The count per curve is capped (MAX_CURVE_SEGMENTS), so no input yields an unbounded polyline.

Supported: M L H V C S Q T A Z, absolute (upper case) and relative (lower case). Each subpath
(starting at an M/m, or continuing after a Z) becomes one polyline; repeated points are dropped.
"""

from __future__ import annotations

import math
import re
from typing import Final

import numpy as np

from scoring.types import FloatArray

DEFAULT_FLATNESS: Final = 0.25  # canvas units
MAX_CURVE_SEGMENTS: Final = 512
MAX_ABS_NUMBER: Final = 1e6  # far beyond any canvas, and small enough that no sum overflows
MIN_RADIUS: Final = 1e-9  # arc radii below this are zero: the arc is a straight line

_COMMANDS: Final = "MmLlHhVvCcSsQqTtAaZz"
_ARITY: Final = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SEPARATORS: Final = " \t\r\n\f,"

Point = tuple[float, float]


class SvgPathError(ValueError):
    """Bad path data; `position` is the character offset where reading failed."""

    def __init__(self, position: int, problem: str) -> None:
        self.position = position
        super().__init__(f"at character {position}: {problem}")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SEPARATORS:
            self.pos += 1

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def command(self) -> str | None:
        """The next command letter, consumed, or None if a number comes next."""
        self.skip()
        ch = self.text[self.pos]
        if ch in _COMMANDS:
            self.pos += 1
            return ch
        if _NUMBER.match(self.text, self.pos):
            return None
        raise SvgPathError(self.pos, f"unexpected {ch!r}")

    def number(self) -> float:
        self.skip()
        m = _NUMBER.match(self.text, self.pos)
        if m is None:
            found = repr(self.text[self.pos]) if self.pos < len(self.text) else "the end"
            raise SvgPathError(self.pos, f"expected a number, found {found}")
        self.pos = m.end()
        value = float(m.group())
        if not abs(value) <= MAX_ABS_NUMBER:
            raise SvgPathError(m.start(), f"number {m.group()!r} is out of range")
        return value

    def flag(self) -> bool:
        self.skip()
        if self.pos < len(self.text) and self.text[self.pos] in "01":
            self.pos += 1
            return self.text[self.pos - 1] == "1"
        raise SvgPathError(self.pos, "expected an arc flag (0 or 1)")

    def starts_number(self) -> bool:
        self.skip()
        return _NUMBER.match(self.text, self.pos) is not None


def _segments(width: float, second_derivative: float, flatness: float) -> int:
    if second_derivative <= 0.0 or width <= 0.0:
        return 1
    n = math.ceil(width * math.sqrt(second_derivative / (8.0 * flatness)))
    return max(1, min(n, MAX_CURVE_SEGMENTS))


def cubic_points(p0: Point, p1: Point, p2: Point, p3: Point, flatness: float) -> list[Point]:
    """Points after p0 along a cubic Bezier, ending exactly at p3."""
    a = math.hypot(p0[0] - 2 * p1[0] + p2[0], p0[1] - 2 * p1[1] + p2[1])
    b = math.hypot(p1[0] - 2 * p2[0] + p3[0], p1[1] - 2 * p2[1] + p3[1])
    n = _segments(1.0, 6.0 * max(a, b), flatness)
    out: list[Point] = []
    for i in range(1, n):
        t = i / n
        u = 1.0 - t
        w0, w1, w2, w3 = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        out.append(
            (
                w0 * p0[0] + w1 * p1[0] + w2 * p2[0] + w3 * p3[0],
                w0 * p0[1] + w1 * p1[1] + w2 * p2[1] + w3 * p3[1],
            )
        )
    out.append(p3)
    return out


def quadratic_points(p0: Point, p1: Point, p2: Point, flatness: float) -> list[Point]:
    """Points after p0 along a quadratic Bezier, ending exactly at p2."""
    a = math.hypot(p0[0] - 2 * p1[0] + p2[0], p0[1] - 2 * p1[1] + p2[1])
    n = _segments(1.0, 2.0 * a, flatness)
    out: list[Point] = []
    for i in range(1, n):
        t = i / n
        u = 1.0 - t
        w0, w1, w2 = u * u, 2 * u * t, t * t
        out.append((w0 * p0[0] + w1 * p1[0] + w2 * p2[0], w0 * p0[1] + w1 * p1[1] + w2 * p2[1]))
    out.append(p2)
    return out


def arc_points(
    p1: Point,
    p2: Point,
    *,
    rx: float,
    ry: float,
    rotation_deg: float,
    large_arc: bool,
    sweep: bool,
    flatness: float,
) -> list[Point]:
    """Points after p1 along an SVG elliptical arc (SVG 1.1 appendix F.6.5), ending at p2."""
    if p1 == p2:
        return []
    rx, ry = abs(rx), abs(ry)
    if rx < MIN_RADIUS or ry < MIN_RADIUS:
        return [p2]
    phi = math.radians(rotation_deg % 360.0)
    cos_p, sin_p = math.cos(phi), math.sin(phi)
    dx, dy = (p1[0] - p2[0]) / 2.0, (p1[1] - p2[1]) / 2.0
    x1 = cos_p * dx + sin_p * dy
    y1 = -sin_p * dx + cos_p * dy
    scale = (x1 * x1) / (rx * rx) + (y1 * y1) / (ry * ry)
    if scale > 1.0:  # radii too small to reach: scale them up just enough
        rx, ry = rx * math.sqrt(scale), ry * math.sqrt(scale)
    num = rx * rx * ry * ry - rx * rx * y1 * y1 - ry * ry * x1 * x1
    den = rx * rx * y1 * y1 + ry * ry * x1 * x1
    coef = math.sqrt(max(0.0, num / den))
    if large_arc == sweep:
        coef = -coef
    cxp, cyp = coef * rx * y1 / ry, -coef * ry * x1 / rx
    cx = cos_p * cxp - sin_p * cyp + (p1[0] + p2[0]) / 2.0
    cy = sin_p * cxp + cos_p * cyp + (p1[1] + p2[1]) / 2.0
    theta1 = math.atan2((y1 - cyp) / ry, (x1 - cxp) / rx)
    theta2 = math.atan2((-y1 - cyp) / ry, (-x1 - cxp) / rx)
    delta = theta2 - theta1
    if sweep and delta < 0.0:
        delta += 2.0 * math.pi
    elif not sweep and delta > 0.0:
        delta -= 2.0 * math.pi
    n = _segments(abs(delta), max(rx, ry), flatness)
    out: list[Point] = []
    for i in range(1, n):
        t = theta1 + delta * i / n
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        out.append((cx + cos_p * ex - sin_p * ey, cy + sin_p * ex + cos_p * ey))
    out.append(p2)
    return out


def _finish(points: list[Point]) -> FloatArray | None:
    kept = [points[0]]
    for p in points[1:]:
        if p != kept[-1]:
            kept.append(p)
    return np.array(kept, dtype=np.float64) if len(kept) >= 2 else None


def path_to_polylines(d: str, flatness: float = DEFAULT_FLATNESS) -> list[FloatArray]:
    """One (n, 2) float64 polyline per drawn subpath of `d`. Raises SvgPathError."""
    if not flatness > 0.0:
        raise ValueError(f"flatness must be above 0, got {flatness!r}")
    scan = _Scanner(d)
    if scan.at_end():
        raise SvgPathError(0, "empty path data")
    polylines: list[FloatArray] = []
    current: list[Point] = []
    cur: Point = (0.0, 0.0)
    start: Point = (0.0, 0.0)
    last_cubic: Point | None = None  # second control point, for S
    last_quad: Point | None = None  # control point, for T
    command = ""

    def flush() -> None:
        if current:
            line = _finish(current)
            if line is not None:
                polylines.append(line)
            current.clear()

    while not scan.at_end():
        at = scan.pos
        try:
            letter = scan.command()
            if letter is None:
                if not command or command in "Zz":
                    raise SvgPathError(at, "a number where a command letter is needed")
            else:
                if not command and letter not in "Mm":
                    raise SvgPathError(at, "path data must start with M or m")
                command = letter
            upper, rel = command.upper(), command.islower()
            ox, oy = cur if rel else (0.0, 0.0)
            if upper == "Z":
                if current:
                    current.append(start)
                    flush()
                cur = start
                last_cubic = last_quad = None
                continue
            if letter is not None and not scan.starts_number():
                raise SvgPathError(scan.pos, f"command {command!r} needs {_ARITY[upper]} numbers")
            if upper == "M":
                flush()
                cur = (ox + scan.number(), oy + scan.number())
                start = cur
                current.append(cur)
                command = "l" if rel else "L"  # further pairs are implicit line-tos
                last_cubic = last_quad = None
                continue
            if not current:  # drawing after a Z: a new subpath from the closing point
                current.append(cur)
            new_cubic: Point | None = None
            new_quad: Point | None = None
            if upper == "L":
                cur = (ox + scan.number(), oy + scan.number())
                current.append(cur)
            elif upper == "H":
                cur = (ox + scan.number(), cur[1])
                current.append(cur)
            elif upper == "V":
                cur = (cur[0], oy + scan.number())
                current.append(cur)
            elif upper in "CS":
                if upper == "C":
                    c1 = (ox + scan.number(), oy + scan.number())
                else:
                    c1 = (
                        cur
                        if last_cubic is None
                        else (2 * cur[0] - last_cubic[0], 2 * cur[1] - last_cubic[1])
                    )
                c2 = (ox + scan.number(), oy + scan.number())
                end = (ox + scan.number(), oy + scan.number())
                current.extend(cubic_points(cur, c1, c2, end, flatness))
                cur, new_cubic = end, c2
            elif upper in "QT":
                if upper == "Q":
                    c = (ox + scan.number(), oy + scan.number())
                else:
                    c = (
                        cur
                        if last_quad is None
                        else (2 * cur[0] - last_quad[0], 2 * cur[1] - last_quad[1])
                    )
                end = (ox + scan.number(), oy + scan.number())
                current.extend(quadratic_points(cur, c, end, flatness))
                cur, new_quad = end, c
            else:  # A
                rx, ry, rot = scan.number(), scan.number(), scan.number()
                large, sweep = scan.flag(), scan.flag()
                end = (ox + scan.number(), oy + scan.number())
                current.extend(
                    arc_points(
                        cur,
                        end,
                        rx=rx,
                        ry=ry,
                        rotation_deg=rot,
                        large_arc=large,
                        sweep=sweep,
                        flatness=flatness,
                    )
                )
                cur = end
            last_cubic, last_quad = new_cubic, new_quad
        except ArithmeticError as exc:  # a backstop: bounded numbers should never get here
            raise SvgPathError(at, f"cannot compute this segment ({exc})") from None
    flush()
    return polylines

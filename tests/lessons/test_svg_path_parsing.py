from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from lessons.svg_path import MAX_CURVE_SEGMENTS, SvgPathError, path_to_polylines
from scoring.types import FloatArray


def one(d: str, flatness: float = 0.25) -> FloatArray:
    lines = path_to_polylines(d, flatness)
    assert len(lines) == 1
    return lines[0]


def dist_to_polyline(point: tuple[float, float], line: FloatArray) -> float:
    p = np.array(point)
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-300), 0, 1)
    closest = a + ab * t[:, None]
    return float(np.hypot(*(closest - p).T).min())


def densify(line: FloatArray, step: float = 0.05) -> FloatArray:
    parts = []
    for a, b in itertools.pairwise(line):
        n = max(2, math.ceil(float(np.hypot(*(b - a))) / step))
        parts.append(a + (b - a) * np.linspace(0, 1, n)[:, None])
    return np.concatenate(parts)


def test_svg_path_line_commands_absolute() -> None:
    assert one("M 10 20 L 15 25 H 25 V 15").tolist() == [[10, 20], [15, 25], [25, 25], [25, 15]]


def test_svg_path_line_commands_relative() -> None:
    line = one("m 10 20 l 5 5 h 10 v -10 l -5 0")
    assert line.tolist() == [[10, 20], [15, 25], [25, 25], [25, 15], [20, 15]]


def test_svg_path_moveto_pairs_are_implicit_linetos() -> None:
    assert one("m 10 10 5 5 5 5").tolist() == [[10, 10], [15, 15], [20, 20]]
    assert one("M 0 0 L 1 1 2 2").tolist() == [[0, 0], [1, 1], [2, 2]]


def test_svg_path_compact_number_syntax() -> None:
    assert one("M0 0L10-5.5.5.25").tolist() == [[0, 0], [10, -5.5], [0.5, 0.25]]
    assert one("M1e1,2E0 L 0 0").tolist() == [[10, 2], [0, 0]]


def test_svg_path_cubic_absolute_midpoint() -> None:
    # B(1/2) = (P0 + 3 P1 + 3 P2 + P3) / 8 = (50, 75); flatness 50 gives exactly 2 chords.
    assert one("M 0 0 C 0 100 100 100 100 0", 50).tolist() == [[0, 0], [50, 75], [100, 0]]


def test_svg_path_cubic_relative_midpoint() -> None:
    assert one("M 10 10 c 0 100 100 100 100 0", 50).tolist() == [[10, 10], [60, 85], [110, 10]]


def test_svg_path_smooth_cubic_reflects_control_point() -> None:
    expected = [[0, 0], [50, 75], [100, 0], [150, -75], [200, 0]]
    assert one("M 0 0 C 0 100 100 100 100 0 S 200 -100 200 0", 50).tolist() == expected
    assert one("M 0 0 C 0 100 100 100 100 0 s 100 -100 100 0", 50).tolist() == expected


def test_svg_path_smooth_cubic_without_previous_uses_current_point() -> None:
    # Same as C 0 0 100 100 100 0: B(1/2) = (0 + 0 + 300 + 100, 0 + 0 + 300 + 0) / 8.
    assert one("M 0 0 S 100 100 100 0", 100).tolist() == [[0, 0], [50, 37.5], [100, 0]]


def test_svg_path_quadratic_absolute_and_relative() -> None:
    # B(1/2) = (P0 + 2 P1 + P2) / 4
    assert one("M 0 0 Q 50 100 100 0", 40).tolist() == [[0, 0], [50, 50], [100, 0]]
    assert one("M 10 0 q 50 100 100 0", 40).tolist() == [[10, 0], [60, 50], [110, 0]]


def test_svg_path_smooth_quadratic_reflects_control_point() -> None:
    expected = [[0, 0], [50, 50], [100, 0], [150, -50], [200, 0]]
    assert one("M 0 0 Q 50 100 100 0 T 200 0", 40).tolist() == expected
    assert one("M 0 0 Q 50 100 100 0 t 100 0", 40).tolist() == expected


def test_svg_path_arc_sweep_flag_picks_the_side() -> None:
    # Semicircle of radius 50 about (50, 0); sweep 1 turns clockwise on screen (y down): over
    # the top through (50, -50). Flatness 20 gives exactly 2 chords.
    assert np.allclose(one("M 0 0 A 50 50 0 0 1 100 0", 20), [[0, 0], [50, -50], [100, 0]])
    assert np.allclose(one("M 0 0 A 50 50 0 0 0 100 0", 20), [[0, 0], [50, 50], [100, 0]])


def test_svg_path_arc_relative() -> None:
    assert np.allclose(one("M 10 10 a 50 50 0 0 1 100 0", 20), [[10, 10], [60, -40], [110, 10]])


def test_svg_path_arc_large_arc_flag_picks_the_long_way() -> None:
    # Clockwise on screen from (0, 0) to (50, 50): the quarter turn about (0, 50) passes its
    # middle at -45 degrees, the three-quarter turn about (50, 0) at 315 degrees.
    small = one("M 0 0 A 50 50 0 0 1 50 50")
    large = one("M 0 0 A 50 50 0 1 1 50 50")
    h = 50 * math.sqrt(0.5)
    assert dist_to_polyline((h, 50 - h), small) < 0.25
    assert dist_to_polyline((50 + h, -h), large) < 0.25
    assert dist_to_polyline((50 + h, -h), small) > 10
    assert np.allclose(np.hypot(small[:, 0], small[:, 1] - 50), 50)
    assert np.allclose(np.hypot(large[:, 0] - 50, large[:, 1]), 50)


def test_svg_path_arc_rotation_turns_the_axes() -> None:
    # rx 100 along the rotated (vertical) axis: half an ellipse from (0, 0) to (0, 200) bulging
    # 50 to the right, through (50, 100).
    line = one("M 0 0 A 100 50 90 0 1 0 200")
    assert dist_to_polyline((50, 100), line) < 0.25
    assert line[:, 0].max() == pytest.approx(50, abs=0.25)
    assert line[:, 0].min() == 0


def test_svg_path_arc_flags_may_be_glued_to_numbers() -> None:
    assert np.allclose(one("M0 0a50 50 0 01100 0", 20), [[0, 0], [50, -50], [100, 0]])


def test_svg_path_arc_radii_too_small_are_scaled_up() -> None:
    line = one("M 0 0 A 10 10 0 0 1 100 0")
    assert line[-1].tolist() == [100, 0]
    assert np.allclose(np.hypot(line[:, 0] - 50, line[:, 1]), 50)
    assert line[:, 1].min() == pytest.approx(-50, abs=0.01)


def test_svg_path_arc_zero_radius_is_a_line_and_zero_length_is_skipped() -> None:
    assert one("M 0 0 A 0 10 0 0 1 100 0").tolist() == [[0, 0], [100, 0]]
    assert one("M 0 0 A 10 10 0 0 1 0 0 L 10 0").tolist() == [[0, 0], [10, 0]]


def test_svg_path_close_returns_to_start() -> None:
    assert one("M 0 0 L 10 0 L 10 10 Z").tolist() == [[0, 0], [10, 0], [10, 10], [0, 0]]


def test_svg_path_subpaths_after_move_and_close() -> None:
    lines = path_to_polylines("M 0 0 L 1 1 M 5 5 L 6 6")
    assert [x.tolist() for x in lines] == [[[0, 0], [1, 1]], [[5, 5], [6, 6]]]
    lines = path_to_polylines("M 0 0 h 10 v 10 z l 5 5")
    assert [x.tolist() for x in lines] == [[[0, 0], [10, 0], [10, 10], [0, 0]], [[0, 0], [5, 5]]]


def test_svg_path_repeated_points_are_dropped() -> None:
    assert one("M 0 0 L 0 0 L 5 0 L 5 0").tolist() == [[0, 0], [5, 0]]


@pytest.mark.parametrize(
    ("d", "position"),
    [
        ("", 0),
        ("L 0 0", 0),
        ("M 0 0 L 10", 10),
        ("M 0 0 X 1 1", 6),
        ("M 0 0 A 5 5 0 2 1 10 10", 14),
        ("M 0 0 L 1 1 Z 5 5", 14),
        ("M 0 0 L", 7),
    ],
)
def test_svg_path_bad_data_names_the_position(d: str, position: int) -> None:
    with pytest.raises(SvgPathError) as info:
        path_to_polylines(d)
    assert info.value.position == position
    assert f"at character {position}" in str(info.value)


def cubic(p: list[tuple[float, float]], t: FloatArray) -> FloatArray:
    u = 1 - t
    w = np.stack([u**3, 3 * u * u * t, 3 * u * t * t, t**3], axis=1)
    out: FloatArray = w @ np.array(p, dtype=float)
    return out


def test_svg_path_flattening_cubic_within_bound() -> None:
    pts = [(100.0, 500.0), (150.0, -200.0), (700.0, 900.0), (650.0, 100.0)]
    line = one("M 100 500 C 150 -200 700 900 650 100")
    truth = cubic(pts, np.linspace(0, 1, 40001))
    assert max(dist_to_polyline((float(x), float(y)), line) for x, y in truth[::40]) < 0.25
    # and every chord stays near the curve (densified chords against the dense truth)
    dense = densify(line, 0.5)
    d = np.hypot(dense[:, None, 0] - truth[None, ::4, 0], dense[:, None, 1] - truth[None, ::4, 1])
    assert float(d.min(axis=1).max()) < 0.25 + 0.05


def test_svg_path_flattening_arcs_within_bound() -> None:
    line = one("M 400 150 A 150 150 0 1 1 400 450 A 150 150 0 1 1 400 150")
    radius = np.hypot(densify(line)[:, 0] - 400, densify(line)[:, 1] - 300)
    assert float(np.abs(radius - 150).max()) < 0.25
    # few points: n chords per radian where n^2 = r / (8 * 0.25), plus rounding
    assert len(line) <= 2 * math.ceil(math.pi * math.sqrt(150 / 2)) + 1


def test_svg_path_flattening_is_coarser_with_larger_flatness() -> None:
    fine = one("M 0 0 Q 300 600 600 0", 0.25)
    coarse = one("M 0 0 Q 300 600 600 0", 4.0)
    assert len(coarse) < len(fine)
    apex = (300.0, 300.0)  # B(1/2) of the quadratic
    assert dist_to_polyline(apex, fine) < 0.25
    assert dist_to_polyline(apex, coarse) < 4.0


def test_svg_path_flattening_point_count_is_bounded() -> None:
    line = one("M 0 0 C 0 1e6 1e6 1e6 1e6 0")
    assert len(line) == MAX_CURVE_SEGMENTS + 1
    assert line[-1].tolist() == [1e6, 0]


def test_svg_path_rejects_numbers_out_of_range() -> None:
    with pytest.raises(SvgPathError, match="at character 8: number '1e308' is out of range"):
        path_to_polylines("M 0 0 L 1e308 0")


def test_svg_path_arc_with_vanishing_radii_is_a_line() -> None:
    assert one("M 0 0 A 1e-300 1e-300 0 1 1 10 0").tolist() == [[0, 0], [10, 0]]


def test_svg_path_rejects_non_positive_flatness() -> None:
    with pytest.raises(ValueError, match="flatness"):
        path_to_polylines("M 0 0 L 1 1", 0.0)

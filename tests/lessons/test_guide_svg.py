from __future__ import annotations

import hashlib
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from lessons import load_catalog
from lessons.guide import RIBBON_MAX, RIBBON_MIN, guide_checksum, render_guide
from scoring.types import FloatArray

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def points(element: ET.Element) -> FloatArray:
    pairs = [p.split(",") for p in element.attrib["points"].split()]
    return np.array([[float(x), float(y)] for x, y in pairs])


def line(*pts: tuple[float, float]) -> FloatArray:
    return np.array(pts, dtype=np.float64)


def test_guide_builtin_guides_are_well_formed_svg_of_the_canvas_size() -> None:
    for _, lesson, step in load_catalog().steps():
        root = parse(step.guide_svg)
        assert root.tag == f"{NS}svg"
        assert root.attrib["width"] == str(lesson.canvas_width)
        assert root.attrib["height"] == str(lesson.canvas_height)
        assert root.attrib["viewBox"] == f"0 0 {lesson.canvas_width} {lesson.canvas_height}"
        assert step.guide_checksum == hashlib.sha256(step.guide_svg.encode()).hexdigest()


def test_guide_has_a_start_dot_and_an_arrow_per_stroke() -> None:
    targets = [line((100, 100), (700, 100)), line((100, 300), (700, 300))]
    root = parse(render_guide(targets, 800, 600, ordered=False, pressure_profile=None))
    guides = root.findall(f"{NS}g[@class='guides']/{NS}polyline")
    assert len(guides) == 2
    assert points(guides[0]).tolist() == [[100, 100], [700, 100]]
    dots = root.findall(f".//{NS}circle")
    assert [(d.attrib["cx"], d.attrib["cy"]) for d in dots] == [("100", "100"), ("100", "300")]
    arrows = root.findall(f"{NS}g[@class='marks']/{NS}polygon")
    assert len(arrows) == 2
    assert root.findall(f".//{NS}text") == []  # unordered: no stroke numbers


def test_guide_arrow_points_the_way_the_stroke_goes() -> None:
    for target, sign in ((line((100, 300), (700, 300)), 1), (line((700, 300), (100, 300)), -1)):
        root = parse(render_guide([target], 800, 600, ordered=False, pressure_profile=None))
        arrow = points(root.findall(f"{NS}g[@class='marks']/{NS}polygon")[0])
        tip, base = arrow[0], arrow[1:].mean(axis=0)
        assert sign * (tip[0] - base[0]) > 10
        assert abs(tip[1] - base[1]) < 1e-6


def test_guide_numbers_the_strokes_of_ordered_steps() -> None:
    targets = [line((100, 100), (700, 100)), line((100, 300), (700, 300))]
    root = parse(render_guide(targets, 800, 600, ordered=True, pressure_profile=None))
    labels = root.findall(f".//{NS}text")
    assert [t.text for t in labels] == ["1", "2"]
    # placed behind each start, against the direction of travel
    assert all(float(t.attrib["x"]) < 100 for t in labels)
    single = parse(render_guide(targets[:1], 800, 600, ordered=True, pressure_profile=None))
    assert single.findall(f".//{NS}text") == []


def test_guide_stroke_numbers_stay_on_the_canvas() -> None:
    root = parse(
        render_guide([line((0, 0), (50, 0))] * 2, 80, 60, ordered=True, pressure_profile=None)
    )
    for label in root.findall(f".//{NS}text"):
        assert 0 <= float(label.attrib["x"]) <= 80
        assert 0 <= float(label.attrib["y"]) <= 60


def test_guide_pressure_profile_draws_a_ribbon_thin_to_thick() -> None:
    target = line((100, 100), (700, 100))
    svg = render_guide([target], 800, 600, ordered=False, pressure_profile=[[0.0, 1.0]])
    root = parse(svg)
    assert root.findall(f".//{NS}polyline") == []
    ribbon = points(root.findall(f"{NS}g[@class='guides']/{NS}polygon")[0])
    half = len(ribbon) // 2
    left, right = ribbon[:half], ribbon[half:][::-1]
    widths = np.hypot(*(left - right).T)
    assert math.isclose(widths[0], RIBBON_MIN, abs_tol=0.02)
    assert math.isclose(widths[-1], RIBBON_MAX, abs_tol=0.02)
    assert np.all(np.diff(widths) >= -0.02)


def test_guide_mixes_ribbons_and_lines_per_target() -> None:
    targets = [line((100, 100), (100, 500)), line((300, 100), (300, 500))]
    root = parse(
        render_guide(targets, 800, 600, ordered=False, pressure_profile=[[0.9, 0.9], None])
    )
    assert len(root.findall(f"{NS}g[@class='guides']/{NS}polygon")) == 1
    assert len(root.findall(f"{NS}g[@class='guides']/{NS}polyline")) == 1


def test_guide_output_is_deterministic() -> None:
    targets = [line((100.123456, 100), (700, 123.456789))]
    first = render_guide(targets, 800, 600, ordered=False, pressure_profile=[[0.2, 0.8]])
    second = render_guide(
        [t.copy() for t in targets], 800, 600, ordered=False, pressure_profile=[[0.2, 0.8]]
    )
    assert first == second
    assert guide_checksum(first) == guide_checksum(second)
    assert 'cx="100.12" cy="100"' in first  # two decimals, trailing zeros trimmed


def write_lesson(root: Path, target: list[list[float]], ordered: bool = False) -> None:
    (root / "demo").mkdir(parents=True, exist_ok=True)
    course = {"title": "Demo", "level": "beginner", "status": "draft", "lessons": ["basics"]}
    (root / "demo" / "course.json").write_text(json.dumps(course))
    step = {
        "targets": [target, [[100, 400], [700, 400]]],
        "tolerance": 10,
        "hint_text": "Go.",
        "ordered": ordered,
    }
    lesson = {
        "title": "Basics",
        "difficulty": 1,
        "est_duration_s": 60,
        "skill_tags": ["lines"],
        "steps": [step],
    }
    (root / "demo" / "basics.json").write_text(json.dumps(lesson))


def checksum_of(root: Path) -> str:
    return load_catalog(root).lesson("basics").steps[0].guide_checksum


def test_guide_checksum_changes_when_the_step_changes(tmp_path: Path) -> None:
    write_lesson(tmp_path, [[100, 100], [700, 100]])
    before = checksum_of(tmp_path)
    assert checksum_of(tmp_path) == before
    write_lesson(tmp_path, [[100, 100], [700, 101]])
    moved = checksum_of(tmp_path)
    assert moved != before
    write_lesson(tmp_path, [[100, 100], [700, 101]], ordered=True)
    assert checksum_of(tmp_path) not in (before, moved)

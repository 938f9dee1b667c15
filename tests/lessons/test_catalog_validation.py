from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lessons import CatalogError, load_catalog
from scoring import constants

LESSON_FILE = "demo/basics.json"


def valid_step(**changes: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "targets": [[[100, 100], [700, 100]]],
        "tolerance": 12,
        "hint_text": "Pull a steady line.",
    }
    step.update(changes)
    return {k: v for k, v in step.items() if v is not None}


def write_catalog(
    root: Path,
    steps: list[Any] | None = None,
    lesson: dict[str, Any] | None = None,
    course: dict[str, Any] | None = None,
) -> Path:
    (root / "demo").mkdir(parents=True, exist_ok=True)
    course_doc = {"title": "Demo", "level": "beginner", "status": "draft", "lessons": ["basics"]}
    course_doc.update(course or {})
    (root / "demo" / "course.json").write_text(json.dumps(course_doc))
    lesson_doc: dict[str, Any] = {
        "title": "Basics",
        "difficulty": 1,
        "est_duration_s": 60,
        "skill_tags": ["lines"],
        "steps": steps if steps is not None else [valid_step()],
    }
    lesson_doc.update(lesson or {})
    (root / "demo" / "basics.json").write_text(json.dumps(lesson_doc))
    return root


def load_error(root: Path) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def step_error(tmp_path: Path, **changes: Any) -> str:
    """Error for a catalog whose second step carries the change."""
    message = load_error(write_catalog(tmp_path, [valid_step(), valid_step(**changes)]))
    assert LESSON_FILE in message
    assert "lesson 'basics', step 2" in message
    return message


def test_catalog_minimal_lesson_gets_the_defaults(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path))
    lesson = catalog.lesson("basics")
    assert (lesson.canvas_width, lesson.canvas_height, lesson.is_free) == (800, 600, False)
    assert lesson.position == 1
    step = lesson.steps[0]
    assert (step.order, step.tolerance_unit, step.mode) == (1, "px", "trace")
    assert (step.directional, step.ordered, step.pressure_profile) == (True, False, None)
    assert step.weights == constants.DEFAULT_WEIGHTS
    assert step.tolerance == 12.0
    assert catalog.course("demo").status == "draft"


def test_catalog_path_and_polyline_targets_load_to_the_same_points(tmp_path: Path) -> None:
    steps = [valid_step(targets=["M 100 100 H 700", "m 100 200 l 600 0"])]
    step = load_catalog(write_catalog(tmp_path, steps)).lesson("basics").steps[0]
    assert step.targets[0].tolist() == [[100, 100], [700, 100]]
    assert step.targets[1].tolist() == [[100, 200], [700, 200]]


def test_catalog_pressure_profiles_explicit_and_from_downstrokes(tmp_path: Path) -> None:
    targets = [[[100, 100], [100, 500]], [[200, 500], [200, 100]], [[300, 100], [400, 100]]]
    steps = [valid_step(targets=targets, pressure_profile=["downstrokes", [0.1, 0.3], None])]
    step = load_catalog(write_catalog(tmp_path, steps)).lesson("basics").steps[0]
    assert step.pressure_profile is not None
    down, explicit, none = step.pressure_profile
    assert down is not None
    assert min(down) > 0.8
    assert explicit == [0.1, 0.3]
    assert none is None


def test_catalog_error_bad_json(tmp_path: Path) -> None:
    write_catalog(tmp_path)
    (tmp_path / "demo" / "basics.json").write_text('{"title": "Basics",}')
    message = load_error(tmp_path)
    assert LESSON_FILE in message
    assert "invalid JSON at line 1" in message


def test_catalog_error_duplicate_json_key(tmp_path: Path) -> None:
    write_catalog(tmp_path)
    (tmp_path / "demo" / "course.json").write_text('{"title": "A", "title": "B"}')
    message = load_error(tmp_path)
    assert "demo/course.json" in message
    assert "duplicate key 'title'" in message


def test_catalog_error_missing_step_field(tmp_path: Path) -> None:
    assert "missing required field 'tolerance'" in step_error(tmp_path, tolerance=None)
    assert "missing required field 'hint_text'" in step_error(tmp_path, hint_text=None)


def test_catalog_error_unknown_step_field(tmp_path: Path) -> None:
    assert "unknown field(s) tolerence" in step_error(tmp_path, tolerence=3)


def test_catalog_error_wrong_field_types(tmp_path: Path) -> None:
    assert "tolerance: expected a number" in step_error(tmp_path, tolerance="12")
    assert "directional: expected true or false" in step_error(tmp_path, directional="yes")


def test_catalog_error_unknown_mode(tmp_path: Path) -> None:
    message = step_error(tmp_path, mode="freehand")
    assert "mode: 'freehand' is not one of" in message


def test_catalog_error_unknown_tolerance_unit(tmp_path: Path) -> None:
    assert "tolerance_unit: 'cm'" in step_error(tmp_path, tolerance_unit="cm")


def test_catalog_error_bad_weights(tmp_path: Path) -> None:
    assert "weights: unknown key(s) ['speed']" in step_error(tmp_path, weights={"speed": 1})


def test_catalog_error_target_outside_canvas(tmp_path: Path) -> None:
    message = step_error(tmp_path, targets=[[[100, 100], [900, 100]]])
    assert "targets[0]: point (900, 100) lies outside the 800x600 canvas" in message


def test_catalog_error_curve_bulging_outside_canvas(tmp_path: Path) -> None:
    # Both ends are on the canvas; the arc between them is not.
    message = step_error(tmp_path, targets=["M 100 100 A 200 200 0 0 1 500 100"])
    assert "targets[0]" in message
    assert "outside the 800x600 canvas" in message


def test_catalog_error_bad_path_data(tmp_path: Path) -> None:
    message = step_error(tmp_path, targets=[[[1, 1], [5, 5]], "M 10 10 K 20 20"])
    assert "targets[1]: bad SVG path data at character 8" in message


def test_catalog_error_path_with_two_subpaths(tmp_path: Path) -> None:
    message = step_error(tmp_path, targets=["M 10 10 L 20 20 M 30 30 L 40 40"])
    assert "targets[0]: path data draws 2 subpaths" in message


def test_catalog_error_bad_polyline(tmp_path: Path) -> None:
    assert "targets[0]: a polyline" in step_error(tmp_path, targets=[[[1, 1]]])
    assert "targets[0]: a polyline" in step_error(tmp_path, targets=[[[1, 1], [2, True]]])
    assert "targets: expected a non-empty list" in step_error(tmp_path, targets=[])


def test_catalog_error_zero_length_target_rejected_by_scorer(tmp_path: Path) -> None:
    message = step_error(tmp_path, targets=[[[5, 5], [5, 5]]], pressure_profile="downstrokes")
    assert "rejected by the scoring engine: targets[0]: has zero length" in message


def test_catalog_error_bad_pressure_profile(tmp_path: Path) -> None:
    assert "pressure_profile[0]" in step_error(tmp_path, pressure_profile=[[0.2, 1.5]])
    assert "pressure_profile[0]" in step_error(tmp_path, pressure_profile=[[0.5]])
    assert "one entry per target (1)" in step_error(tmp_path, pressure_profile=[None, None])
    assert "pressure_profile: expected" in step_error(tmp_path, pressure_profile="heavy")


def test_catalog_error_lesson_fields(tmp_path: Path) -> None:
    message = load_error(write_catalog(tmp_path, lesson={"skill_tags": ["lines", "painting"]}))
    assert LESSON_FILE in message
    assert "lesson 'basics'" in message
    assert "unknown tag 'painting'" in message


def test_catalog_error_lesson_difficulty_out_of_range(tmp_path: Path) -> None:
    message = load_error(write_catalog(tmp_path, lesson={"difficulty": 9}))
    assert "difficulty: expected a whole number from 1 to 5, got 9" in message


def test_catalog_error_lesson_without_steps(tmp_path: Path) -> None:
    message = load_error(write_catalog(tmp_path, steps=[]))
    assert "steps: expected a non-empty list" in message


def test_catalog_error_step_not_an_object(tmp_path: Path) -> None:
    message = load_error(write_catalog(tmp_path, steps=[valid_step(), ["not", "a", "step"]]))
    assert "lesson 'basics', step 2: expected a JSON object for the step" in message


def test_catalog_error_bad_course_status(tmp_path: Path) -> None:
    message = load_error(write_catalog(tmp_path, course={"status": "live"}))
    assert "demo/course.json: course 'demo': status: 'live' is not one of" in message


def test_catalog_error_listed_lesson_missing(tmp_path: Path) -> None:
    message = load_error(write_catalog(tmp_path, course={"lessons": ["basics", "shading"]}))
    assert "demo/shading.json: lesson 'shading': missing" in message


def test_catalog_error_lesson_file_not_listed(tmp_path: Path) -> None:
    write_catalog(tmp_path)
    (tmp_path / "demo" / "orphan.json").write_text("{}")
    assert "demo/orphan.json: lesson file not listed" in load_error(tmp_path)


def test_catalog_error_course_without_course_file(tmp_path: Path) -> None:
    write_catalog(tmp_path)
    (tmp_path / "empty").mkdir()
    assert "empty/course.json: missing" in load_error(tmp_path)


def test_catalog_error_lesson_slug_used_twice(tmp_path: Path) -> None:
    write_catalog(tmp_path)
    write_catalog(tmp_path / "other")
    (tmp_path / "other" / "demo").rename(tmp_path / "second")
    (tmp_path / "other").rmdir()
    message = load_error(tmp_path)
    assert "second/basics.json: lesson 'basics'" in message
    assert "already used by a lesson of course 'demo'" in message


def test_catalog_error_root_not_a_directory(tmp_path: Path) -> None:
    assert "not a directory" in load_error(tmp_path / "missing")


def test_catalog_targets_are_not_writable(tmp_path: Path) -> None:
    step = load_catalog(write_catalog(tmp_path)).lesson("basics").steps[0]
    with pytest.raises(ValueError, match="read-only"):
        step.targets[0][0, 0] = np.float64(1.0)

"""Loading and validating the catalog from its JSON files (docs/lessons.md has the format).

Layout: one directory per course under the catalog root, named by the course's slug, holding a
`course.json` (title, level, status, and the ordered list of its lesson slugs) and one
`<lesson-slug>.json` per lesson with its steps. Everything is checked on load: JSON syntax,
required fields and types, unknown fields, slugs, skill tags, path data, that every target lies
on the lesson's canvas, and finally that the scoring engine accepts each step (StepSpec). The
first problem found raises a CatalogError naming the file, the lesson or step, and the fault.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from lessons.errors import CatalogError
from lessons.fields import SLUG, Fields, is_number, read_json
from lessons.guide import guide_checksum, render_guide
from lessons.model import Catalog, Course, Lesson, Step
from lessons.pressure import downstroke_profile
from lessons.skill_tags import SKILL_TAGS
from lessons.svg_path import DEFAULT_FLATNESS, SvgPathError, path_to_polylines
from scoring import constants
from scoring.types import FloatArray

BUILTIN_ROOT: Final = Path(__file__).parent / "catalog"
COURSE_FILE: Final = "course.json"
LEVELS: Final = ("beginner", "intermediate", "advanced")
STATUSES: Final = ("draft", "published", "archived")
DOWNSTROKES: Final = "downstrokes"
DEFAULT_CANVAS: Final = (800, 600)
MAX_CANVAS: Final = 8192
MAX_STEPS: Final = 100


def load_catalog(root: Path | None = None) -> Catalog:
    base = BUILTIN_ROOT if root is None else Path(root)
    if not base.is_dir():
        raise CatalogError(base.name or str(base), "", "the catalog root is not a directory")
    course_dirs = sorted(
        p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    )
    courses = [_load_course(base, d) for d in course_dirs]
    seen: dict[str, str] = {}
    for course in courses:
        for lesson in course.lessons:
            if lesson.slug in seen:
                raise CatalogError(
                    f"{course.slug}/{lesson.slug}.json",
                    f"lesson {lesson.slug!r}",
                    f"the slug is already used by a lesson of course {seen[lesson.slug]!r}",
                )
            seen[lesson.slug] = course.slug
    return Catalog(courses=courses)


def _load_course(base: Path, directory: Path) -> Course:
    slug = directory.name
    file = f"{slug}/{COURSE_FILE}"
    if not SLUG.match(slug):
        raise CatalogError(slug, "", "a course directory's name must be a slug")
    path = directory / COURSE_FILE
    if not path.is_file():
        raise CatalogError(file, "", "missing: every course directory needs a course.json")
    f = Fields(read_json(path, file), file, f"course {slug!r}", "course")
    title = f.string("title")
    level = f.string("level", choices=LEVELS)
    status = f.string("status", choices=STATUSES)
    lesson_slugs = f.slugs("lessons")
    f.done()
    listed = set(lesson_slugs)
    for extra in sorted(p for p in directory.glob("*.json") if p.name != COURSE_FILE):
        if extra.stem not in listed:
            raise CatalogError(
                f"{slug}/{extra.name}", "", f"lesson file not listed in {slug}/{COURSE_FILE}"
            )
    lessons = [
        _load_lesson(directory, slug, lesson_slug, position)
        for position, lesson_slug in enumerate(lesson_slugs, start=1)
    ]
    return Course(slug=slug, title=title, level=level, status=status, lessons=lessons)


def _load_lesson(directory: Path, course_slug: str, slug: str, position: int) -> Lesson:
    file = f"{course_slug}/{slug}.json"
    path = directory / f"{slug}.json"
    if not path.is_file():
        raise CatalogError(file, f"lesson {slug!r}", f"missing, but listed in {COURSE_FILE}")
    where = f"lesson {slug!r}"
    f = Fields(read_json(path, file), file, where, "lesson")
    title = f.string("title")
    difficulty = f.integer("difficulty", 1, 5)
    est_duration_s = f.integer("est_duration_s", 1, 24 * 3600)
    is_free = f.boolean("is_free", False)
    width = f.integer("canvas_width", 1, MAX_CANVAS, DEFAULT_CANVAS[0])
    height = f.integer("canvas_height", 1, MAX_CANVAS, DEFAULT_CANVAS[1])
    tags = f.slugs("skill_tags")
    for tag in tags:
        if tag not in SKILL_TAGS:
            raise f.error(f"skill_tags: unknown tag {tag!r}; known: {', '.join(SKILL_TAGS)}")
    raw_steps = f.raw("steps")
    f.done()
    if not isinstance(raw_steps, list) or not raw_steps:
        raise CatalogError(file, where, "steps: expected a non-empty list of steps")
    if len(raw_steps) > MAX_STEPS:
        raise CatalogError(file, where, f"steps: {len(raw_steps)} steps, more than {MAX_STEPS}")
    steps = [
        _load_step(raw, file, f"{where}, step {order}", order=order, width=width, height=height)
        for order, raw in enumerate(raw_steps, start=1)
    ]
    return Lesson(
        slug=slug,
        title=title,
        difficulty=difficulty,
        est_duration_s=est_duration_s,
        is_free=is_free,
        canvas_width=width,
        canvas_height=height,
        position=position,
        skill_tags=tags,
        steps=steps,
    )


def _load_step(raw: Any, file: str, where: str, *, order: int, width: int, height: int) -> Step:
    f = Fields(raw, file, where, "step")
    targets = _targets(f, width, height)
    tolerance = f.number("tolerance")
    tolerance_unit = f.string("tolerance_unit", "px")
    weights = _weights(f)
    mode = f.string("mode", "trace")
    directional = f.boolean("directional", True)
    ordered = f.boolean("ordered", False)
    profile = _pressure_profile(f, targets)
    hint_text = f.string("hint_text")
    f.done()
    for t in targets:
        t.setflags(write=False)
    step = Step(
        order=order,
        targets=targets,
        tolerance=tolerance,
        tolerance_unit=tolerance_unit,
        weights=weights,
        mode=mode,
        directional=directional,
        ordered=ordered,
        pressure_profile=profile,
        hint_text=hint_text,
        guide_svg="",
        guide_checksum="",
    )
    try:
        step.to_spec()
    except ValueError as exc:
        raise f.error(f"rejected by the scoring engine: {exc}") from None
    # Rendered only once the scorer has accepted the targets (no empty or zero-length ones).
    svg = render_guide(targets, width, height, ordered=ordered, pressure_profile=profile)
    return replace(step, guide_svg=svg, guide_checksum=guide_checksum(svg))


def _targets(f: Fields, width: int, height: int) -> list[FloatArray]:
    value = f.raw("targets")
    if not isinstance(value, list) or not value:
        raise f.error("targets: expected a non-empty list of polylines or SVG path strings")
    targets = []
    for i, item in enumerate(value):
        name = f"targets[{i}]"
        if isinstance(item, str):
            try:
                lines = path_to_polylines(item, DEFAULT_FLATNESS)
            except SvgPathError as exc:
                raise f.error(f"{name}: bad SVG path data {exc}") from None
            if len(lines) != 1:
                raise f.error(
                    f"{name}: path data draws {len(lines)} subpaths; a target is one stroke,"
                    " so give each subpath its own target"
                )
            line = lines[0]
        elif isinstance(item, list):
            if len(item) < 2 or not all(
                isinstance(p, list) and len(p) == 2 and all(is_number(c) for c in p) for p in item
            ):
                raise f.error(f"{name}: a polyline must be a list of at least two [x, y] numbers")
            line = np.array(item, dtype=np.float64)
        else:
            raise f.error(f"{name}: expected a polyline [[x, y], ...] or an SVG path string")
        if line.shape[0] > constants.MAX_TARGET_POINTS:
            raise f.error(
                f"{name}: {line.shape[0]} points, more than {constants.MAX_TARGET_POINTS}"
            )
        outside = (line[:, 0] < 0) | (line[:, 0] > width) | (line[:, 1] < 0) | (line[:, 1] > height)
        if outside.any():
            x, y = line[int(np.argmax(outside))]
            raise f.error(f"{name}: point ({x:g}, {y:g}) lies outside the {width}x{height} canvas")
        targets.append(np.ascontiguousarray(line))
    return targets


def _weights(f: Fields) -> dict[str, float]:
    value = f.raw("weights", None)
    if value is None:
        return dict(constants.DEFAULT_WEIGHTS)
    if not isinstance(value, dict) or not all(is_number(v) for v in value.values()):
        raise f.error('weights: expected an object of numbers, e.g. {"accuracy": 0.7, ...}')
    return {str(k): float(v) for k, v in value.items()}


def _pressure_profile(f: Fields, targets: list[FloatArray]) -> list[list[float] | None] | None:
    value = f.raw("pressure_profile", None)
    if value is None:
        return None
    if value == DOWNSTROKES:
        value = [DOWNSTROKES] * len(targets)
    if not isinstance(value, list) or len(value) != len(targets):
        raise f.error(
            f'pressure_profile: expected "{DOWNSTROKES}" or a list with one entry per target'
            f' ({len(targets)}), each null, "{DOWNSTROKES}" or a list of pressures 0..1'
        )
    out: list[list[float] | None] = []
    for i, entry in enumerate(value):
        name = f"pressure_profile[{i}]"
        if entry is None:
            out.append(None)
        elif entry == DOWNSTROKES:
            out.append(downstroke_profile(targets[i]))
        elif (
            isinstance(entry, list)
            and len(entry) >= 2
            and all(is_number(p) and 0.0 <= p <= 1.0 for p in entry)
        ):
            out.append([float(p) for p in entry])
        else:
            raise f.error(f"{name}: expected at least two pressures from 0 to 1, got {entry!r}")
    return out

from __future__ import annotations

import math

import numpy as np
import pytest

from lessons import SKILL_TAGS, Catalog, Lesson, Step, load_catalog
from scoring.spec import StepSpec

REQUIRED_TAGS = ("lines", "curves", "circles-ellipses", "hatching", "calligraphy")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def all_steps(catalog: Catalog) -> list[tuple[Lesson, Step]]:
    return [(lesson, step) for _, lesson, step in catalog.steps()]


def test_skill_tags_include_the_required_slugs() -> None:
    for tag in REQUIRED_TAGS:
        assert SKILL_TAGS[tag]


def test_builtin_catalog_has_a_published_starter_course(catalog: Catalog) -> None:
    published = [c for c in catalog.courses if c.status == "published"]
    assert published
    course = published[0]
    assert len(course.lessons) >= 4
    assert sum(len(lesson.steps) for lesson in course.lessons) >= 20


def test_builtin_catalog_covers_every_required_skill_tag(catalog: Catalog) -> None:
    tags = {tag for lesson in catalog.lessons() for tag in lesson.skill_tags}
    assert set(REQUIRED_TAGS) <= tags
    assert tags <= set(SKILL_TAGS)


def test_builtin_catalog_has_trace_and_copy_steps(catalog: Catalog) -> None:
    modes = {step.mode for _, step in all_steps(catalog)}
    assert modes == {"trace", "copy"}


def test_builtin_catalog_has_free_and_vip_lessons(catalog: Catalog) -> None:
    free = {lesson.is_free for lesson in catalog.lessons()}
    assert free == {True, False}


def test_builtin_catalog_uses_px_and_relative_tolerances(catalog: Catalog) -> None:
    units = {step.tolerance_unit for _, step in all_steps(catalog)}
    assert units == {"px", "relative"}


def test_builtin_catalog_positions_and_orders_count_from_one(catalog: Catalog) -> None:
    for course in catalog.courses:
        assert [lesson.position for lesson in course.lessons] == list(
            range(1, len(course.lessons) + 1)
        )
        for lesson in course.lessons:
            assert [s.order for s in lesson.steps] == list(range(1, len(lesson.steps) + 1))


def test_builtin_catalog_every_step_builds_a_spec(catalog: Catalog) -> None:
    for _, step in all_steps(catalog):
        spec = step.to_spec()
        assert isinstance(spec, StepSpec)
        assert spec.n_targets == len(step.targets)
        assert spec.mode == step.mode


def test_builtin_catalog_targets_are_float_polylines_on_the_canvas(catalog: Catalog) -> None:
    for lesson, step in all_steps(catalog):
        for target in step.targets:
            assert target.dtype == np.float64
            assert target.ndim == 2
            assert target.shape[1] == 2
            assert target.shape[0] >= 2
            assert not target.flags.writeable
            assert target[:, 0].min() >= 0
            assert target[:, 0].max() <= lesson.canvas_width
            assert target[:, 1].min() >= 0
            assert target[:, 1].max() <= lesson.canvas_height


def test_builtin_catalog_every_step_has_a_hint_and_a_guide(catalog: Catalog) -> None:
    for _, step in all_steps(catalog):
        assert len(step.hint_text) > 20
        assert step.guide_svg.startswith("<?xml")
        assert len(step.guide_checksum) == 64


def direction_angle(target: np.ndarray) -> float:
    d = target[-1] - target[0]
    return math.degrees(math.atan2(d[1], d[0])) % 180.0


def test_builtin_catalog_hatching_has_parallel_and_cross_steps(catalog: Catalog) -> None:
    hatching = [
        step
        for lesson, step in all_steps(catalog)
        if "hatching" in lesson.skill_tags and len(step.targets) >= 4
    ]
    assert hatching
    assert all(not step.ordered for step in hatching)
    families = [sorted({round(direction_angle(t)) for t in step.targets}) for step in hatching]
    assert any(len(f) == 1 for f in families)  # parallel: every stroke at one angle
    crossing = [f for f in families if len(f) == 2]
    assert crossing
    assert all(abs(f[1] - f[0]) >= 30 for f in crossing)


def mean_pressure_by_heading(step: Step) -> tuple[list[float], list[float]]:
    """Pressures where the target runs down the canvas, and where it runs up."""
    assert step.pressure_profile is not None
    downs, ups = [], []
    for target, profile in zip(step.targets, step.pressure_profile, strict=True):
        assert profile is not None
        seg = np.diff(target, axis=0)
        length = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate(([0.0], np.cumsum(length)))
        for k, p in enumerate(profile):
            s = (k + 0.5) / len(profile) * cum[-1]
            i = min(int(np.searchsorted(cum, s, side="right")) - 1, len(seg) - 1)
            heading = seg[i, 1] / length[i]
            if heading > 0.7:
                downs.append(p)
            elif heading < -0.7:
                ups.append(p)
    return downs, ups


def test_builtin_catalog_calligraphy_is_thick_down_and_thin_up(catalog: Catalog) -> None:
    calligraphy = [s for lesson, s in all_steps(catalog) if "calligraphy" in lesson.skill_tags]
    assert len(calligraphy) >= 4
    downs: list[float] = []
    ups: list[float] = []
    for step in calligraphy:
        assert step.pressure_profile is not None
        d, u = mean_pressure_by_heading(step)
        downs += d
        ups += u
    assert downs
    assert ups
    # Turns blend the two over a sample or so, hence the looser bounds beside the means.
    assert sum(downs) / len(downs) >= 0.8
    assert sum(ups) / len(ups) <= 0.3
    assert min(downs) >= 0.5
    assert max(ups) <= 0.45


def test_builtin_catalog_lesson_lookup(catalog: Catalog) -> None:
    first = catalog.courses[0].lessons[0]
    assert catalog.lesson(first.slug) is first
    assert catalog.course_of(first.slug) is catalog.courses[0]
    assert catalog.course(catalog.courses[0].slug) is catalog.courses[0]
    with pytest.raises(KeyError):
        catalog.lesson("no-such-lesson")
    with pytest.raises(KeyError):
        catalog.course("no-such-course")


def test_builtin_catalog_loads_deterministically(catalog: Catalog) -> None:
    again = load_catalog()
    assert [s.guide_checksum for _, _, s in again.steps()] == [
        s.guide_checksum for _, _, s in catalog.steps()
    ]
    checksums = [s.guide_checksum for _, _, s in catalog.steps()]
    assert len(set(checksums)) == len(checksums)

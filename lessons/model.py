"""The catalog as loaded: courses, their lessons, and the lessons' steps (immutable)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from scoring.spec import StepSpec
from scoring.types import FloatArray


# eq=False: targets are arrays, whose == is elementwise; a Step compares by identity.
@dataclass(frozen=True, eq=False)
class Step:
    order: int
    targets: list[FloatArray]
    tolerance: float
    tolerance_unit: str
    weights: dict[str, float]
    mode: str
    directional: bool
    ordered: bool
    pressure_profile: list[list[float] | None] | None
    hint_text: str
    guide_svg: str
    guide_checksum: str

    def to_spec(self) -> StepSpec:
        return StepSpec(
            targets=list(self.targets),
            tolerance=self.tolerance,
            tolerance_unit=self.tolerance_unit,
            weights=self.weights,
            mode=self.mode,
            directional=self.directional,
            ordered=self.ordered,
            pressure_profile=self.pressure_profile,
        )


@dataclass(frozen=True, eq=False)
class Lesson:
    slug: str
    title: str
    difficulty: int
    est_duration_s: int
    is_free: bool
    canvas_width: int
    canvas_height: int
    position: int
    skill_tags: list[str]
    steps: list[Step]


@dataclass(frozen=True, eq=False)
class Course:
    slug: str
    title: str
    level: str
    status: str
    lessons: list[Lesson]


@dataclass(frozen=True, eq=False)
class Catalog:
    courses: list[Course]

    def course(self, slug: str) -> Course:
        for course in self.courses:
            if course.slug == slug:
                return course
        raise KeyError(f"no course {slug!r} in the catalog")

    def lesson(self, slug: str) -> Lesson:
        for lesson in self.lessons():
            if lesson.slug == slug:
                return lesson
        raise KeyError(f"no lesson {slug!r} in the catalog")

    def course_of(self, lesson_slug: str) -> Course:
        for course in self.courses:
            if any(lesson.slug == lesson_slug for lesson in course.lessons):
                return course
        raise KeyError(f"no lesson {lesson_slug!r} in the catalog")

    def lessons(self) -> Iterator[Lesson]:
        for course in self.courses:
            yield from course.lessons

    def steps(self) -> Iterator[tuple[Course, Lesson, Step]]:
        for course in self.courses:
            for lesson in course.lessons:
                for step in lesson.steps:
                    yield course, lesson, step

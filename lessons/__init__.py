"""The lessons catalog: content format, the starter course, loading and validation."""

from __future__ import annotations

from lessons.errors import CatalogError
from lessons.loader import BUILTIN_ROOT, load_catalog
from lessons.model import Catalog, Course, Lesson, Step
from lessons.skill_tags import SKILL_TAGS

__all__ = [
    "BUILTIN_ROOT",
    "SKILL_TAGS",
    "Catalog",
    "CatalogError",
    "Course",
    "Lesson",
    "Step",
    "load_catalog",
]

"""The skill tags a lesson may carry: slug -> display name."""

from __future__ import annotations

from typing import Final

SKILL_TAGS: Final[dict[str, str]] = {
    "lines": "Lines",
    "curves": "Curves",
    "circles-ellipses": "Circles and ellipses",
    "hatching": "Hatching",
    "calligraphy": "Calligraphy",
}

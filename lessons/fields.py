"""Reading one JSON object of catalog content, field by field, with errors that say where.

`Fields` wraps a decoded JSON object together with its file and place (lesson, step). Each
accessor takes a key off the object, checks its type and range, and raises a CatalogError naming
the file, the place and the key. `done()` then rejects any key nobody asked for, so a typo such
as "tolerence" is an error rather than a silently ignored field.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Final

from lessons.errors import CatalogError

SLUG: Final = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MISSING: Final = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in catalog JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def read_json(path: Path, file: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(file, "", f"cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CatalogError(file, "", "not UTF-8 text") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise CatalogError(
            file, "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise CatalogError(file, "", f"invalid JSON: {exc}") from None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class Fields:
    def __init__(self, value: Any, file: str, where: str, what: str) -> None:
        if not isinstance(value, dict):
            raise CatalogError(file, where, f"expected a JSON object for the {what}")
        self.data: dict[str, Any] = dict(value)
        self.file = file
        self.where = where

    def error(self, problem: str) -> CatalogError:
        return CatalogError(self.file, self.where, problem)

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self.data:
            if default is _MISSING:
                raise self.error(f"missing required field {key!r}")
            return default
        return self.data.pop(key)

    def string(self, key: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{key}: expected a non-empty string, got {value!r}")
        if choices and value not in choices:
            raise self.error(f"{key}: {value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, key: str, lo: int, hi: int, default: Any = _MISSING) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.error(f"{key}: expected a whole number from {lo} to {hi}, got {value!r}")
        return value

    def number(self, key: str, default: Any = _MISSING) -> float:
        value = self.raw(key, default)
        if not is_number(value):
            raise self.error(f"{key}: expected a number, got {value!r}")
        return float(value)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{key}: expected true or false, got {value!r}")
        return value

    def slugs(self, key: str) -> list[str]:
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            raise self.error(f"{key}: expected a non-empty list of slugs")
        for item in value:
            if not isinstance(item, str) or not SLUG.match(item):
                raise self.error(f"{key}: {item!r} is not a slug (lower-case words and hyphens)")
        if len(set(value)) != len(value):
            raise self.error(f"{key}: lists a slug twice")
        return list(value)

    def done(self) -> None:
        if self.data:
            raise self.error(f"unknown field(s) {', '.join(sorted(self.data))}")

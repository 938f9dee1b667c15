"""The one error the catalog raises: it says which file, which lesson or step, and what is wrong."""

from __future__ import annotations


class CatalogError(ValueError):
    """Invalid catalog content. `file` is relative to the catalog root; `where` may be empty."""

    def __init__(self, file: str, where: str, problem: str) -> None:
        self.file = file
        self.where = where
        self.problem = problem
        location = f"{file}: {where}" if where else file
        super().__init__(f"{location}: {problem}")

"""The one place numba is configured: every kernel is compiled with these flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

from scoring.constants import FASTMATH

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """Compile `fn` as a cached, GIL-free numba kernel."""
    return numba.njit(cache=True, nogil=True, fastmath=set(FASTMATH), error_model="numpy")(fn)  # type: ignore[no-any-return]


def inline_kernel(fn: F) -> F:
    """A kernel inlined into its callers at numba IR level (for small hot helpers)."""
    return numba.njit(  # type: ignore[no-any-return]
        cache=True, nogil=True, fastmath=set(FASTMATH), error_model="numpy", inline="always"
    )(fn)


def ieee_kernel(fn: F) -> F:
    """A kernel without fast-math: for code that must see NaN and infinity (validation)."""
    return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)  # type: ignore[no-any-return]

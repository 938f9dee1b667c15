"""The one place numba is configured: every kernel is compiled with these flags.

Kernels are typed by numba at call time, not by annotations; to mypy they are plain
callables, and their bodies are checked by the tests against slow reference versions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba

from scoring.constants import FASTMATH

Kernel = Callable[..., Any]


def kernel(fn: Kernel) -> Kernel:
    """Compile `fn` as a cached, GIL-free numba kernel."""
    return numba.njit(cache=True, nogil=True, fastmath=set(FASTMATH), error_model="numpy")(fn)


def inline_kernel(fn: Kernel) -> Kernel:
    """A kernel inlined into its callers at numba IR level (for small hot helpers)."""
    return numba.njit(
        cache=True, nogil=True, fastmath=set(FASTMATH), error_model="numpy", inline="always"
    )(fn)


def ieee_kernel(fn: Kernel) -> Kernel:
    """A kernel without fast-math: for code that must see NaN and infinity (validation)."""
    return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)

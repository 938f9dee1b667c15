"""The one place numba is configured: every kernel is compiled with these flags.

Kernels are typed by numba at call time, not by annotations; to mypy they are plain
callables, and their bodies are checked by the tests against slow reference versions.

Numba's on-disk cache notices when a kernel's own file changes, not when a kernel it
calls (or a constant it reads) changes in another file: an edit to constants.py would
go on running the old formula. So the cache lives in a folder named after a hash of
every source file of this package; any edit moves it to a fresh folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba

from scoring.constants import FASTMATH

Kernel = Callable[..., Any]
_PACKAGE = Path(__file__).resolve().parent


def _cache_dir() -> Path:
    digest = hashlib.sha256()
    for source in sorted(_PACKAGE.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "inkroom",
        "numba",
    )
    return Path(base) / digest.hexdigest()[:16]


CACHE_DIR = _cache_dir()
numba.config.CACHE_DIR = str(CACHE_DIR)  # type: ignore[attr-defined]


def kernel(fn: Kernel) -> Kernel:
    """Compile `fn` as a cached, GIL-free numba kernel."""
    return numba.njit(cache=True, nogil=True, fastmath=set(FASTMATH), error_model="numpy")(fn)


def loop_kernel(fn: Kernel) -> Kernel:
    """A kernel the event loop calls per point batch, for microseconds: it keeps the GIL.
    Releasing it hands the GIL to any thread waiting for it (the database driver's, the
    writer's encoder) and the loop then waits to get it back, thousands of times a second."""
    return numba.njit(cache=True, nogil=False, fastmath=set(FASTMATH), error_model="numpy")(fn)


def inline_kernel(fn: Kernel) -> Kernel:
    """A kernel inlined into its callers at numba IR level (for small hot helpers)."""
    return numba.njit(
        cache=True, nogil=True, fastmath=set(FASTMATH), error_model="numpy", inline="always"
    )(fn)

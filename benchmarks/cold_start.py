"""Cold start of the scoring engine: a fresh process imports `scoring` and runs warm_up().

    python3 benchmarks/cold_start.py

Measured twice in fresh processes sharing an empty numba cache folder: the first run
compiles every kernel (no cache), the second loads them from the cache it left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

CHILD = (
    "import time; t0 = time.perf_counter(); import scoring; t1 = time.perf_counter(); "
    "scoring.warm_up(); t2 = time.perf_counter(); print(f'{t1 - t0:.3f} {t2 - t1:.3f}')"
)


def run(cache_dir: str) -> tuple[float, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def measure() -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as cache:
        return {"without cache": run(cache), "with cache": run(cache)}


def main() -> None:
    for label, (imported, warmed) in measure().items():
        print(
            f"cold start {label}: import {imported:.2f} s + warm_up {warmed:.2f} s"
            f" = {imported + warmed:.2f} s"
        )


if __name__ == "__main__":
    main()

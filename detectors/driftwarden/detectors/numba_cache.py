"""numba's cache of compiled kernels: warmed once when the image is built, copied into place
before a run.

The kernels (`stats.ecdf`, `profile`) are compiled on first use, about a second or two of
CPU for the three of them, then kept in `NUMBA_CACHE_DIR`. A detector Job starts in a fresh
pod whose root file system is read-only and whose /tmp is empty, and numba refuses a cache
folder it cannot write, so the image keeps a warm copy (`python -m
driftwarden.detectors.numba_cache` at build time, into `DRIFTWARDEN_NUMBA_CACHE_SEED`) and
`seed()` copies it into an empty `NUMBA_CACHE_DIR` before the first kernel runs. The image
compiles for `NUMBA_CPU_NAME=generic`, so the cached code runs on any x86-64 node (numba
keys its cache by CPU). Outside the image nothing is set and numba caches as it always
does: the first run compiles, the next ones load.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

SEED_ENV = "DRIFTWARDEN_NUMBA_CACHE_SEED"
CACHE_ENV = "NUMBA_CACHE_DIR"


def seed(environ: Mapping[str, str] = os.environ) -> bool:
    """Copy the seed cache into `NUMBA_CACHE_DIR` when that folder is empty or absent.

    Returns whether it copied. A failure only costs the compile time, so it is ignored.
    """
    source, target = environ.get(SEED_ENV), environ.get(CACHE_ENV)
    if not source or not target or not os.path.isdir(source):
        return False
    try:
        if os.path.isdir(target) and os.listdir(target):
            return False
        shutil.copytree(source, target, dirs_exist_ok=True)
    except OSError:
        return False
    return True


def warm() -> None:
    """Compile every kernel for the argument types a run uses, through the engine itself."""
    import numpy as np
    import pandas as pd

    from driftwarden.detectors.config import DetectionSpec
    from driftwarden.detectors.engine import compare, profile_frames, resolve_features

    rng = np.random.default_rng(0)
    frames = [
        pd.DataFrame({"x": rng.normal(size=200), "k": rng.choice(["a", "b"], 200)})
        for _ in range(4)
    ]
    spec = DetectionSpec()
    features = resolve_features(spec, frames[0])
    # Exact profiles (unit weights), then compressed ones (merged, weighted points).
    for max_points in (1 << 20, 64):
        baseline = profile_frames(frames[:2], spec, features, max_points=max_points)
        current = profile_frames(frames[2:], spec, features, max_points=max_points, seed=1)
        compare(spec, features, baseline, current)


if __name__ == "__main__":  # pragma: no cover - run by the Dockerfile
    warm()

"""The image's warm numba cache: `warm()` compiles the kernels a run uses and a run in a fresh
pod (empty NUMBA_CACHE_DIR, seed folder set) loads them instead of compiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from driftwarden.detectors.numba_cache import CACHE_ENV, SEED_ENV, seed


def test_seed_copies_into_an_empty_cache_only(tmp_path: Path) -> None:
    source = tmp_path / "seed"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "kernel.nbi").write_text("index")
    target = tmp_path / "cache"
    assert seed({SEED_ENV: str(source), CACHE_ENV: str(target)})
    assert (target / "sub" / "kernel.nbi").read_text() == "index"
    (source / "sub" / "kernel.nbi").write_text("newer")
    assert not seed({SEED_ENV: str(source), CACHE_ENV: str(target)})  # not empty: kept
    assert (target / "sub" / "kernel.nbi").read_text() == "index"


def test_seed_does_nothing_unless_both_folders_are_named(tmp_path: Path) -> None:
    assert not seed({})
    assert not seed({CACHE_ENV: str(tmp_path / "cache")})
    assert not seed({SEED_ENV: str(tmp_path / "absent"), CACHE_ENV: str(tmp_path / "cache")})
    assert not (tmp_path / "cache").exists()


PROBE = r"""
import json, sys
from numba.core.registry import CPUDispatcher
from driftwarden.detectors.cli import main

main(sys.argv[2:])
stats = {}
for name, module in list(sys.modules.items()):
    if name.startswith("driftwarden"):
        for value in vars(module).values():
            if isinstance(value, CPUDispatcher):
                stats[value.__name__] = [
                    sum(value.stats.cache_hits.values()), sum(value.stats.cache_misses.values())
                ]
with open(sys.argv[1], "w") as out:
    json.dump(stats, out)
"""


def test_a_run_in_a_fresh_pod_loads_the_warmed_kernels(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for name in ("b", "c"):
        pd.DataFrame({"x": rng.normal(size=500), "k": rng.choice(["u", "v"], 500)}).to_parquet(
            tmp_path / f"{name}.parquet"
        )
    image = {**os.environ, "NUMBA_CPU_NAME": "generic"}
    seed_dir, pod_cache = tmp_path / "seed", tmp_path / "pod-tmp" / "numba-cache"
    subprocess.run(
        [sys.executable, "-m", "driftwarden.detectors.numba_cache"],
        env={**image, CACHE_ENV: str(seed_dir)},
        check=True,
        timeout=300,
    )
    result = tmp_path / "stats.json"
    detect = ["detect", "--baseline", str(tmp_path / "b.parquet")]
    detect += ["--current", str(tmp_path / "c.parquet"), "--output", str(tmp_path / "r.json")]
    subprocess.run(
        [sys.executable, "-c", PROBE, str(result), *detect],
        env={**image, CACHE_ENV: str(pod_cache), SEED_ENV: str(seed_dir)},
        check=True,
        timeout=300,
    )
    stats = json.loads(result.read_text())
    hits = sum(hit for hit, _ in stats.values())
    misses = sum(miss for _, miss in stats.values())
    assert hits >= 1, stats  # the run used a kernel ...
    assert misses == 0, stats  # ... and compiled none

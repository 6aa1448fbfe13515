"""Speed and memory of a full `detect` against a per-feature scipy loop, in one process.

Cases (baseline and current windows of N rows each):
- 1M rows, 20 numeric + 5 categorical features:
    scipy loop   ks_2samp, wasserstein_distance, decile PSI and base-2 JS via numpy
                 histograms per numeric feature; chi2_contingency per categorical feature
    ours         every default method on every feature, the multivariate test and the
                 verdict: (a) from raw frames (both windows profiled), (b) with a
                 precomputed baseline profile (only the current window is profiled)
- 10M rows, 20 numeric features: ours (a) and (b); the scipy loop only with --scipy-10m
  (it takes several minutes).
- Parquet read in chunks through the CLI (`driftwarden detect --chunk-rows`), in a
  subprocess per size so its peak RSS is its own: memory stays bounded by the chunk size.

Peak memory in-process is tracemalloc's peak (numpy reports its buffers to it) above the
data already in memory. Wall times are medians of --repeat runs.

    python benchmarks/bench_speed.py [--rows 1000000] [--big-rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.engine import compare, profile_frames, resolve_features

WORKERS = os.cpu_count() or 1


def make_frame(rows: int, numeric: int, categorical: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for j in range(numeric):
        column = rng.normal(shift * (j % 3 == 0), 1.0, rows)
        if j % 5 == 0:
            column = np.round(column * 10)  # ties
        data[f"n{j}"] = column
    for j in range(categorical):
        levels = np.array([f"level_{k}" for k in range(8 + 6 * j)])
        weights = rng.dirichlet(np.ones(levels.shape[0]) * 5)
        data[f"c{j}"] = pd.Categorical(levels[rng.choice(levels.shape[0], rows, p=weights)])
    return pd.DataFrame(data)


def scipy_loop(baseline: pd.DataFrame, current: pd.DataFrame) -> int:
    """The per-feature baseline a notebook would write."""
    results = 0
    for name in baseline.columns:
        b, c = baseline[name], current[name]
        if name.startswith("n"):
            x, y = b.to_numpy(), c.to_numpy()
            stats.ks_2samp(x, y)
            stats.wasserstein_distance(x, y)
            edges = np.unique(np.quantile(x, np.linspace(0, 1, 11)))
            edges[0], edges[-1] = -np.inf, np.inf
            p = np.histogram(x, edges)[0] / x.shape[0] + 1e-6
            q = np.histogram(y, edges)[0] / y.shape[0] + 1e-6
            np.sum((q - p) * np.log(q / p))
            m = (p + q) / 2
            np.sqrt(0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m)))
        else:
            levels = sorted(set(b.cat.categories) | set(c.cat.categories))
            bc = b.value_counts().reindex(levels, fill_value=0).to_numpy()
            cc = c.value_counts().reindex(levels, fill_value=0).to_numpy()
            keep = (bc + cc) > 0
            stats.chi2_contingency(np.vstack([bc[keep], cc[keep]]))
        results += 1
    return results


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall seconds over `repeat` runs, and the tracemalloc peak (MB) of the last."""
    times = []
    peak = 0.0
    for i in range(repeat):
        if i == repeat - 1:
            tracemalloc.start()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if i == repeat - 1:
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
    return statistics.median(times), peak


def run_case(rows: int, numeric: int, categorical: int, repeat: int, with_scipy: bool) -> None:
    print(
        f"\n== {rows:,} rows x ({numeric} numeric + {categorical} categorical), "
        f"{WORKERS} worker threads",
        flush=True,
    )
    baseline = make_frame(rows, numeric, categorical, seed=1, shift=0.0)
    current = make_frame(rows, numeric, categorical, seed=2, shift=0.05)
    spec = DetectionSpec()
    features = resolve_features(spec, baseline)
    data_mb = (baseline.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum()) / 1e6

    def full() -> object:
        b = profile_frames([baseline], spec, features, workers=WORKERS)
        c = profile_frames([current], spec, features, seed=1, workers=WORKERS)
        return compare(spec, features, b, c, workers=WORKERS)

    stored = profile_frames([baseline], spec, features, workers=WORKERS)

    def with_profile() -> object:
        c = profile_frames([current], spec, features, seed=1, workers=WORKERS)
        return compare(spec, features, stored, c, workers=WORKERS)

    t_full, m_full = timed(full, repeat)
    t_prof, m_prof = timed(with_profile, repeat)
    print(f"data in memory                     {data_mb:9.0f} MB")
    print(f"driftwarden, no stored profile     {t_full:9.2f} s   peak +{m_full:7.0f} MB")
    print(f"driftwarden, stored baseline prof. {t_prof:9.2f} s   peak +{m_prof:7.0f} MB")
    if with_scipy:
        t_scipy, m_scipy = timed(lambda: scipy_loop(baseline, current), 1)
        print(f"scipy per-feature loop             {t_scipy:9.2f} s   peak +{m_scipy:7.0f} MB")
        print(
            f"speed-up vs scipy loop: {t_scipy / t_full:5.1f}x without a profile, "
            f"{t_scipy / t_prof:5.1f}x with a stored baseline profile"
        )
    else:
        print("scipy per-feature loop             (skipped; --scipy-10m runs it)")


def parquet_memory(rows_list: list[int], chunk_rows: int) -> None:
    print(
        f"\n== Parquet read in chunks of {chunk_rows:,} rows by the CLI (20 numeric columns), "
        "one subprocess per size"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for rows in rows_list:
            base = Path(tmp) / f"base_{rows}.parquet"
            cur = Path(tmp) / f"cur_{rows}.parquet"
            for path, seed in ((base, 1), (cur, 2)):
                frame = make_frame(rows, 20, 0, seed=seed, shift=0.05 * (seed - 1))
                frame.to_parquet(path, row_group_size=chunk_rows, index=False)
                del frame
            code = (
                "import resource, sys, time\n"
                "from driftwarden.detectors.cli import main\n"
                "t = time.perf_counter()\n"
                f"rc = main(['detect', '--baseline', {str(base)!r}, '--current', {str(cur)!r},"
                f" '--chunk-rows', '{chunk_rows}', '--format', 'json', '--output', '/dev/null'])\n"
                "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
                "print(time.perf_counter() - t, usage.ru_maxrss)\n"
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()
            seconds, rss_kb = float(out[0]), int(out[1])
            size_mb = (base.stat().st_size + cur.stat().st_size) / 1e6
            raw_mb = rows * 20 * 8 * 2 / 1e6
            print(
                f"{rows:>11,} rows/window: {seconds:6.1f} s, peak RSS {rss_kb / 1024:6.0f} MB "
                f"(windows {raw_mb:6.0f} MB as float64, {size_mb:5.0f} MB as Parquet)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scipy-10m", action="store_true")
    parser.add_argument("--parquet-rows", default="1000000,4000000")
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--skip", default="", help="comma list of: small,big,parquet")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(
        json.dumps(
            {"python": sys.version.split()[0], "numpy": np.__version__, "cores": os.cpu_count()}
        )
    )
    if "small" not in skip:
        run_case(args.rows, 20, 5, args.repeat, with_scipy=True)
    if "big" not in skip:
        run_case(args.big_rows, 20, 0, max(1, args.repeat - 2), with_scipy=args.scipy_10m)
    if "parquet" not in skip:
        parquet_memory([int(r) for r in args.parquet_rows.split(",")], args.chunk_rows)


if __name__ == "__main__":
    main()

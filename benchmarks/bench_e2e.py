"""End to end, as a user meets it: `driftwarden detect` timed as a whole process.

Each figure is the wall time of a fresh process (interpreter start, imports, reading the
files, profiling, comparing, writing the report), the median of --repeat runs, beside the
baseline a user would otherwise run in the same session:

- scipy script   a fresh `python` that reads the same two Parquet files with pandas and runs
                 the per-feature scipy loop (ks_2samp, wasserstein_distance, decile PSI and
                 base-2 JS via numpy histograms, chi2_contingency), the notebook baseline of
                 shared/anchors.md.
- ours           `driftwarden detect --baseline b.parquet --current c.parquet --format json`;
                 and with a stored baseline profile (`driftwarden profile` made it once,
                 outside the timing): `--baseline b.dwprofile`.

Also printed: `driftwarden --version` and `--help` times; the import cost of a `detect`
that needs no labels (`python -X importtime`, summed over top-level packages) and whether it
imported scikit-learn, SQLAlchemy or Alembic; and the 20-numeric-feature chunked run through
the CLI at 1M, 4M and 10M rows per window with each child's peak RSS (os.wait4's ru_maxrss),
so the growth is visible.

    python benchmarks/bench_e2e.py [--rows 1000000] [--big 1000000,4000000,10000000]
                                   [--repeat 3] [--workdir DIR]

The data files are written once into --workdir (default: a cache folder) and reused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DRIFTWARDEN = str(BIN / "driftwarden")

SCIPY_SCRIPT = r"""
import sys
import numpy as np
import pandas as pd
from scipy import stats

baseline = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
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
        levels = sorted(set(b.unique()) | set(c.unique()))
        bc = b.value_counts().reindex(levels, fill_value=0).to_numpy()
        cc = c.value_counts().reindex(levels, fill_value=0).to_numpy()
        stats.chi2_contingency(np.vstack([bc, cc]))
"""

HEAVY = ("sklearn", "sqlalchemy", "alembic")


def write_table(
    path: Path, rows: int, numeric: int, categorical: int, seed: int, shift: float
) -> None:
    """A Parquet file of `rows` rows, written in row groups so memory stays bounded."""
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    group = 1_000_000
    for start in range(0, rows, group):
        n = min(group, rows - start)
        data: dict[str, pa.Array] = {}
        for j in range(numeric):
            column = rng.normal(shift * (j % 3 == 0), 1.0, n)
            if j % 5 == 0:
                column = np.round(column * 10)  # ties, as rounded real data has
            data[f"n{j}"] = pa.array(column)
        for j in range(categorical):
            levels = np.array([f"level_{k}" for k in range(8 + 6 * j)])
            weights = np.random.default_rng(j).dirichlet(np.ones(levels.shape[0]) * 5)
            data[f"c{j}"] = pa.array(levels[rng.choice(levels.shape[0], n, p=weights)])
        table = pa.table(data)
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    tmp.replace(path)


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one child process; fails loudly on a non-zero exit."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {code}: {stderr[-2000:]}")
    return elapsed, usage.ru_maxrss // 1024


def median_of(command: list[str], repeat: int) -> tuple[float, int]:
    runs = [timed(command) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def import_cost(command: list[str]) -> tuple[dict[str, float], list[str]]:
    """Seconds of import per top-level package of one run, and which heavy packages loaded."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "driftwarden.detectors.cli", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    per_package: dict[str, float] = defaultdict(float)
    # Each line: "import time: self [us] | cumulative | name"; the self times add up.
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].startswith("import time:"):
            continue
        self_text = parts[0].removeprefix("import time:").strip()
        if not self_text.isdigit():
            continue
        name = parts[2].strip().split(".")[0]
        per_package[name] += int(self_text) / 1e6
    loaded = sorted(p for p in HEAVY if p in per_package)
    return dict(per_package), loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big", default="1000000,4000000,10000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    cache = Path(os.environ.get("DRIFTWARDEN_CACHE", Path.home() / ".cache" / "driftwarden"))
    work = args.workdir or cache / "bench-e2e"
    work.mkdir(parents=True, exist_ok=True)
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]} workdir={work}")

    # --- start-up -------------------------------------------------------------------------
    version, _ = median_of([DRIFTWARDEN, "--version"], max(args.repeat, 5))
    help_, _ = median_of([DRIFTWARDEN, "--help"], max(args.repeat, 5))
    print(f"driftwarden --version {version:.3f} s   --help {help_:.3f} s   (target < 0.3 s)")

    # --- 1M + 1M rows x (20 numeric + 5 categorical) -----------------------------------------
    rows = args.rows
    base, cur = work / f"base-{rows}.parquet", work / f"cur-{rows}.parquet"
    write_table(base, rows, 20, 5, seed=1, shift=0.0)
    write_table(cur, rows, 20, 5, seed=2, shift=0.05)
    profile = work / f"base-{rows}.dwprofile"
    if not profile.exists():
        subprocess.run(
            [DRIFTWARDEN, "profile", "--input", str(base), "--output", str(profile)], check=True
        )

    script = work / "scipy_loop.py"
    script.write_text(SCIPY_SCRIPT)
    scipy_s, scipy_mb = median_of([sys.executable, str(script), str(base), str(cur)], args.repeat)
    detect = ["detect", "--baseline", str(base), "--current", str(cur), "--format", "json"]
    ours_s, ours_mb = median_of([DRIFTWARDEN, *detect], args.repeat)
    stored = ["detect", "--baseline", str(profile), "--current", str(cur), "--format", "json"]
    stored_s, stored_mb = median_of([DRIFTWARDEN, *stored], args.repeat)
    print(
        f"\n{rows:,} + {rows:,} rows x (20 numeric + 5 categorical), Parquet, whole process, "
        f"median of {args.repeat}"
    )
    print(
        f"  {'scipy script (pandas read + per-feature loop)':48s} "
        f"{scipy_s:7.2f} s  {scipy_mb:6d} MiB"
    )
    print(
        f"  {'driftwarden detect, both windows from Parquet':48s} {ours_s:7.2f} s  {ours_mb:6d} MiB"
        f"   {scipy_s / ours_s:5.1f}x the scipy script (target >= 8x)"
    )
    print(
        f"  {'driftwarden detect, stored baseline profile':48s} "
        f"{stored_s:7.2f} s  {stored_mb:6d} MiB"
        f"   {scipy_s / stored_s:5.1f}x the scipy script (target >= 15x)"
    )

    per_package, heavy = import_cost(detect)
    total = sum(per_package.values())
    top = sorted(per_package.items(), key=lambda kv: -kv[1])[:8]
    print(
        f"\nimports of that detect: {total:.2f} s in all; "
        + ", ".join(f"{name} {sec:.2f}" for name, sec in top)
    )
    print(
        f"  heavy packages imported: {', '.join(heavy) if heavy else 'none'} "
        "(target: none of sklearn, sqlalchemy, alembic)"
    )

    # --- chunked, 20 numeric ------------------------------------------------------------------
    print("\nchunked through the CLI, 20 numeric features, --chunk-rows 1000000 (one run each)")
    for size in (int(s) for s in args.big.split(",") if s):
        b, c = work / f"num-base-{size}.parquet", work / f"num-cur-{size}.parquet"
        write_table(b, size, 20, 0, seed=3, shift=0.0)
        write_table(c, size, 20, 0, seed=4, shift=0.05)
        seconds, peak = timed(
            [
                DRIFTWARDEN,
                "detect",
                "--baseline",
                str(b),
                "--current",
                str(c),
                "--format",
                "json",
                "--chunk-rows",
                "1000000",
            ]
        )
        print(
            f"  {size:>11,} + {size:,} rows   {seconds:7.2f} s   peak RSS {peak:6d} MiB"
            + ("   (target at 10M: < 15 s, < 2048 MiB)" if size >= 10_000_000 else "")
        )
    if args.workdir is None and os.environ.get("DRIFTWARDEN_BENCH_CLEAN"):
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

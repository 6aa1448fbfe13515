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

- baseline code  the same `detect` with the detectors package of `--baseline` (default
                 main, extracted with `git archive`) first on the path: this tree's ratio
                 against the code it changes.

Also printed: `driftwarden --version` and `--help` times; the import cost of a `detect`
that needs no labels (`python -X importtime`, summed over top-level packages) and whether it
imported scikit-learn, SQLAlchemy or Alembic; and the 20-numeric-feature chunked run through
the CLI at 1M, 4M and 10M rows per window with each child's peak RSS (os.wait4's ru_maxrss),
so the growth is visible.

Peers (shared/anchors.md: what a user would otherwise run on that data), each once on the
1M + 1M files in a fresh process of their own virtualenv (`--peers-venv`, default
~/.cache/driftwarden/peers/venv; make it with `python -m venv` and `pip install
alibi-detect nannyml evidently`): alibi-detect's TabularDrift (KS and chi-square),
NannyML's univariate drift (KS/Jensen-Shannon and chi-square), Evidently's
DataDriftPreset. A peer that is not installed there is reported as such, not timed.

Every line gives wall seconds and CPU seconds (user + system, os.wait4) of the child, and
the load average is printed at the start and the end: the machine may be shared, and CPU
seconds move far less with its load than wall time does.

    python benchmarks/bench_e2e.py [--rows 1000000] [--big 1000000,4000000,10000000]
                                   [--repeat 3] [--workdir DIR] [--baseline main]
                                   [--peers alibi,nannyml,evidently] [--peers-venv DIR]

The data files are written once into --workdir (default: a cache folder) and reused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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

#: Each peer reads the same two files with pandas and runs its drift report on all columns.
PEERS = {
    "alibi": (
        "alibi-detect TabularDrift (KS + chi2)",
        r"""
import sys
import numpy as np
import pandas as pd
from alibi_detect.cd import TabularDrift

b = pd.read_parquet(sys.argv[1])
c = pd.read_parquet(sys.argv[2])
names = list(b.columns)
cats = [i for i, n in enumerate(names) if n.startswith("c")]
codes = {}
for i in cats:
    levels = sorted(set(b[names[i]]) | set(c[names[i]]))
    codes[names[i]] = {v: k for k, v in enumerate(levels)}
def encode(frame):
    out = frame.copy()
    for name, mapping in codes.items():
        out[name] = out[name].map(mapping)
    return out.to_numpy(dtype=np.float64)
detector = TabularDrift(
    encode(b), p_val=0.05, categories_per_feature={i: None for i in cats}
)
detector.predict(encode(c))
""",
    ),
    "nannyml": (
        "NannyML univariate drift (KS/JS + chi2)",
        r"""
import sys
import pandas as pd
import nannyml as nml

b = pd.read_parquet(sys.argv[1])
c = pd.read_parquet(sys.argv[2])
calc = nml.UnivariateDriftCalculator(
    column_names=list(b.columns),
    continuous_methods=["kolmogorov_smirnov", "jensen_shannon"],
    categorical_methods=["chi2", "jensen_shannon"],
    chunk_number=1,
)
calc.fit(b)
calc.calculate(c)
""",
    ),
    "evidently": (
        "Evidently DataDriftPreset",
        r"""
import sys
import pandas as pd

b = pd.read_parquet(sys.argv[1])
c = pd.read_parquet(sys.argv[2])
try:  # Evidently >= 0.7
    from evidently import Report
    from evidently.presets import DataDriftPreset
    Report([DataDriftPreset()]).run(c, b)
except ImportError:
    from evidently.metric_preset import DataDriftPreset
    from evidently.report import Report
    Report(metrics=[DataDriftPreset()]).run(reference_data=b, current_data=c)
""",
    ),
}


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


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one child process.

    CPU seconds are printed beside wall time because this machine may be shared: they move
    far less with the load than wall time does. Fails loudly on a non-zero exit.
    """
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {code}: {stderr[-2000:]}")
    return elapsed, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def peer_python(venv: Path, module: str) -> str | None:
    """The peers' interpreter when `module` imports there, else None."""
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    found = subprocess.run(
        [str(python), "-c", f"import {module}"], capture_output=True, check=False, timeout=300
    )
    return str(python) if found.returncode == 0 else None


def extract(revision: str, into: Path) -> str:
    """The detectors package of a git revision, extracted into `into`; returns its commit."""
    repo = HERE.parent
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", commit, "detectors/driftwarden"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return commit


def median_of(
    command: list[str], repeat: int, env: dict[str, str] | None = None
) -> tuple[float, int, float]:
    """Median wall seconds, largest peak RSS and median CPU seconds of `repeat` runs."""
    runs = [timed(command, env) for _ in range(repeat)]
    return (
        statistics.median(r[0] for r in runs),
        max(r[1] for r in runs),
        statistics.median(r[2] for r in runs),
    )


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


def _peer_names(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}"
        )
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big", default="1000000,4000000,10000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--baseline", default="main", help="git revision timed beside ours")
    parser.add_argument(
        "--peers",
        default="alibi,nannyml,evidently",
        type=_peer_names,
        help="comma-separated peers to time, from alibi, nannyml, evidently ('' for none)",
    )
    parser.add_argument(
        "--peers-venv",
        type=Path,
        default=Path(os.environ.get("DRIFTWARDEN_CACHE", Path.home() / ".cache" / "driftwarden"))
        / "peers"
        / "venv",
    )
    args = parser.parse_args()
    cache = Path(os.environ.get("DRIFTWARDEN_CACHE", Path.home() / ".cache" / "driftwarden"))
    work = args.workdir or cache / "bench-e2e"
    work.mkdir(parents=True, exist_ok=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"cpus={os.cpu_count()} load average at the start: {load} "
        f"python={sys.version.split()[0]} workdir={work}"
    )

    # --- start-up -------------------------------------------------------------------------
    starts = max(args.repeat, 5)
    bare, _, bare_cpu = median_of([sys.executable, "-c", "pass"], starts)
    version, _, version_cpu = median_of([DRIFTWARDEN, "--version"], starts)
    help_, _, help_cpu = median_of([DRIFTWARDEN, "--help"], starts)
    print(
        f"driftwarden --version {version:.3f} s (cpu {version_cpu:.3f})   --help {help_:.3f} s "
        f"(cpu {help_cpu:.3f})   (target < 0.3 s); bare `python -c pass` {bare:.3f} s "
        f"(cpu {bare_cpu:.3f})"
    )

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
    scipy_s, scipy_mb, scipy_cpu = median_of(
        [sys.executable, str(script), str(base), str(cur)], args.repeat
    )
    detect = ["detect", "--baseline", str(base), "--current", str(cur), "--format", "json"]
    ours_s, ours_mb, ours_cpu = median_of([DRIFTWARDEN, *detect], args.repeat)
    # The same command with the code of --baseline first on the path (its kernels compiled
    # by one run outside the figures): what this tree changed, in the same session.
    with tempfile.TemporaryDirectory() as tree:
        commit = extract(args.baseline, Path(tree))
        old_env = {**os.environ, "PYTHONPATH": str(Path(tree) / "detectors")}
        timed([DRIFTWARDEN, *detect], old_env)
        old_s, old_mb, old_cpu = median_of([DRIFTWARDEN, *detect], args.repeat, old_env)
    stored = ["detect", "--baseline", str(profile), "--current", str(cur), "--format", "json"]
    stored_s, stored_mb, stored_cpu = median_of([DRIFTWARDEN, *stored], args.repeat)
    # A fresh pod without a warm numba cache: every kernel compiles (an empty folder each run).
    cold_runs = []
    for i in range(args.repeat):
        cold_dir = work / f"numba-cold-{i}"
        shutil.rmtree(cold_dir, ignore_errors=True)
        cold_env = {**os.environ, "NUMBA_CACHE_DIR": str(cold_dir)}
        cold_runs.append(timed([DRIFTWARDEN, *detect], cold_env))
        shutil.rmtree(cold_dir, ignore_errors=True)
    cold_s = statistics.median(r[0] for r in cold_runs)
    cold_cpu = statistics.median(r[2] for r in cold_runs)
    print(
        f"\n{rows:,} + {rows:,} rows x (20 numeric + 5 categorical), Parquet, whole process, "
        f"median of {args.repeat}"
    )
    print(
        f"  {'scipy script (pandas read + per-feature loop)':48s} "
        f"{scipy_s:7.2f} s (cpu {scipy_cpu:6.2f})  {scipy_mb:6d} MiB"
    )
    print(
        f"  {'driftwarden detect, both windows from Parquet':48s} {ours_s:7.2f} s "
        f"(cpu {ours_cpu:6.2f})  {ours_mb:6d} MiB   {scipy_s / ours_s:5.1f}x the scipy script "
        f"(cpu {scipy_cpu / ours_cpu:.1f}x; target >= 8x)"
    )
    print(
        f"  {'the same detect, code of ' + args.baseline + ' (' + commit[:9] + ')':48s} "
        f"{old_s:7.2f} s (cpu {old_cpu:6.2f})  {old_mb:6d} MiB   this tree "
        f"{old_s / ours_s:.1f}x faster (cpu {old_cpu / ours_cpu:.1f}x less)"
    )
    print(
        f"  {'driftwarden detect, stored baseline profile':48s} {stored_s:7.2f} s "
        f"(cpu {stored_cpu:6.2f})  {stored_mb:6d} MiB   {scipy_s / stored_s:5.1f}x the scipy "
        f"script (cpu {scipy_cpu / stored_cpu:.1f}x; target >= 15x)"
    )
    print(
        f"  {'driftwarden detect, numba cache empty (compiles)':48s} {cold_s:7.2f} s "
        f"(cpu {cold_cpu:6.2f})   +{cold_s - ours_s:.2f} s over a warm cache"
    )

    modules = {"alibi": "alibi_detect", "nannyml": "nannyml", "evidently": "evidently"}
    for peer in args.peers:
        title, code = PEERS[peer]
        python = peer_python(args.peers_venv, modules[peer])
        if python is None:
            print(f"  {title:48s} not installed in {args.peers_venv}: not timed")
            continue
        peer_script = work / f"peer_{peer}.py"
        peer_script.write_text(code)
        try:
            peer_s, peer_mb, peer_cpu = timed([python, str(peer_script), str(base), str(cur)])
        except SystemExit as exc:
            print(f"  {title:48s} failed: {str(exc)[-300:]}")
            continue
        print(
            f"  {title:48s} {peer_s:7.2f} s (cpu {peer_cpu:6.2f})  {peer_mb:6d} MiB   "
            f"driftwarden detect {peer_s / ours_s:.1f}x faster (cpu {peer_cpu / ours_cpu:.1f}x "
            "less), one run"
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
        seconds, peak, cpu = timed(
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
            f"  {size:>11,} + {size:,} rows   {seconds:7.2f} s (cpu {cpu:6.2f})   "
            f"peak RSS {peak:6d} MiB"
            + ("   (target at 10M: < 15 s, < 2048 MiB)" if size >= 10_000_000 else "")
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average at the end: {load}")
    if args.workdir is None and os.environ.get("DRIFTWARDEN_BENCH_CLEAN"):
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

"""Read speed of a Postgres window into the profiles: this tree against a named baseline.

Starts its own PostgreSQL 15 (`tests/pg.py`, default durable settings), fills an unlogged
table with `--rows` rows x 25 columns (18 float8, 2 integers, 5 short texts) and reads the
whole window, each read in a fresh subprocess (numba's cache warmed by a small read first):

- read only: `rows` (psycopg2 server-side cursor, tuples -> frames) and `arrow` (the ADBC
  PostgreSQL driver, binary COPY -> Arrow record batches -> frames);
- into the profiles (25 features, what a run does; all with the Arrow reader):
  `baseline` (the code of `--baseline`, default `main`, extracted with `git archive`: frames
  profiled and merged chunk by chunk), `frames` (this tree, pandas frames into the
  `WindowProfiler`) and `arrow` (this tree, Arrow chunks into the profiles, what the Job
  does), and `arrow, 2 threads` (the same with the columns profiled in two threads,
  `profile_frames(workers=2)`, what `detect` does on this machine; the Job passes one).
  Ratios are against `baseline`, in the same run.

Each line gives rows/s of wall time, the process's CPU seconds for the read
(`resource.getrusage`: user + system, less sensitive than wall time to a shared machine's
load), rows per CPU second, and the peak RSS over the RSS before reading; the memory lines
repeat the profiled read for a tenth of the window (memory follows the chunk, not the
window). Last, `driftwarden run` as a whole process for each tree (interpreter start,
imports, a baseline and a current window of half the rows each, compared and written to a
results database): wall time, CPU seconds and peak RSS from os.wait4. The load average is
printed before and after. Target: >= 1,000,000 rows/s into
the profiles. The last lines bound what any reader could do here: the CPU the server's
backend spends writing the window as a binary COPY (from /proc; the server runs on the same
cores in this benchmark) and the driver's CPU per row, turned into the rows/s that every
core spent on the read alone would give, with the server elsewhere and with it here.

    python benchmarks/bench_sql_read.py                  # 1,000,000 rows, baseline main
    python benchmarks/bench_sql_read.py --rows 3000000 --baseline cbab9e4
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_e2e import extract  # noqa: E402  (the baseline tree, as the detect benchmark takes it)

END = datetime(2026, 11, 29, tzinfo=UTC)
FLOATS = 18


def _numeric() -> list[str]:
    return [f"x{i}" for i in range(FLOATS)] + ["n0", "n1"]


def _categorical() -> list[str]:
    return [f"c{i}" for i in range(5)]


def _child(args: argparse.Namespace) -> None:
    from itertools import chain

    from driftwarden.detectors.config import DetectionSpec
    from driftwarden.detectors.engine import profile_frames, resolve_features
    from driftwarden.detectors.sources import SqlSource, TimeWindow

    window = TimeWindow(END - timedelta(seconds=args.window_rows), END)
    columns = _numeric() + _categorical()
    spec = DetectionSpec.model_validate(
        {
            "features": [{"name": n, "type": "numeric"} for n in _numeric()]
            + [{"name": c, "type": "categorical"} for c in _categorical()]
        }
    )
    workers = 2 if args.path == "arrow2" else 1
    if args.path == "arrow2":
        args.path = "arrow"
    _warm(spec, args.path)
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    used = resource.getrusage(resource.RUSAGE_SELF)
    rows = 0
    started = time.perf_counter()
    with SqlSource(
        args.url, "bench_window", "ts", chunk_rows=args.chunk_rows, reader=args.reader
    ) as source:
        if args.path == "arrow":
            from driftwarden.detectors.profile import as_frame, chunk_rows

            chunks = source.iter_profile_chunks(window, columns)
            first = next(chunks)
            features = resolve_features(spec, as_frame(first))
            size = chunk_rows
        else:
            chunks = source.iter_chunks(window, columns)
            first = next(chunks)
            features = resolve_features(spec, first) if args.path != "read" else []
            size = len

        def counted():  # type: ignore[no-untyped-def]
            nonlocal rows
            for chunk in chain([first], chunks):
                rows += size(chunk)
                yield chunk

        if args.path == "read":
            for _ in counted():
                pass
        else:
            profile_frames(counted(), spec, features, workers=workers)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rss_growth_mib": (after.ru_maxrss - before_kib) / 1024,
            }
        )
    )


def _warm(spec: Any, path: str) -> None:
    """Profile a small synthetic window first, outside the figures: a run loads the compiled
    kernels (numba) anyway to compare, so their one-time load is no cost of the read."""
    if path == "read":
        return
    import numpy as np
    import pandas as pd

    from driftwarden.detectors.engine import profile_frames, resolve_features

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {n: rng.random(5_000) for n in _numeric()}
        | {c: rng.choice(["a", "b"], 5_000) for c in _categorical()}
    )
    features = resolve_features(spec, frame)
    chunks: list[Any] = [frame, frame]
    if path == "arrow":
        import pyarrow as pa

        from driftwarden.detectors.profile import ArrowChunk

        table = pa.Table.from_pandas(frame, preserve_index=False)
        chunks = [ArrowChunk.of(table), ArrowChunk.of(table)]
    profile_frames(chunks, spec, features)


def _measure(
    path: str, reader: str, url: str, window_rows: int, chunk_rows: int, baseline: Path | None
) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--path",
        path,
        "--reader",
        reader,
        "--url",
        url,
        "--window-rows",
        str(window_rows),
        "--chunk-rows",
        str(chunk_rows),
    ]
    env = dict(os.environ)
    if baseline is not None:  # the baseline's package first on the path
        env["PYTHONPATH"] = os.pathsep.join([str(baseline / "detectors"), str(REPO / "tests")])
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def _span(seconds: int) -> str:
    """Seconds in the durations' grammar (at most three digits a unit): 500000 = 5d18h53m20s."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, rest = divmod(rest, 60)
    parts = zip((days, hours, minutes, rest), "dhms", strict=True)
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0"


def _whole_run(server: Any, label: str, tree: Path | None, rows: int) -> dict[str, float]:
    """`driftwarden run` as a process (interpreter start, imports, both windows of `rows` / 2
    rows read and profiled, compared, written to a results database it migrated first):
    wall seconds, CPU seconds and peak RSS from os.wait4."""
    import yaml

    env = {**os.environ}
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "detectors")
    results = server.create_database(f"results_{label}")
    migrate = (
        "import sys\nfrom driftwarden.detectors.storage import create_engine, upgrade\n"
        "upgrade(create_engine(sys.argv[1]))"
    )
    subprocess.run([sys.executable, "-c", migrate, results], check=True, env=env)
    half = rows // 2
    config = {
        "version": 1,
        "apiVersion": "driftwarden.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": "bench", "namespace": "bench", "uid": "u-1", "generation": 1},
        "spec": {
            "model": {"name": "bench", "version": "1"},
            "schedule": {"cron": "0 * * * *"},
            "source": {
                "postgres": {
                    "connectionSecretRef": {"name": "db", "key": "url"},
                    "table": "bench_window",
                    "timestampColumn": "ts",
                }
            },
            "baseline": {"relative": {"length": _span(half), "endOffset": _span(half)}},
            "current": {"relative": {"length": _span(half)}},
            "features": [{"name": n, "type": "numeric"} for n in _numeric()]
            + [{"name": c, "type": "categorical"} for c in _categorical()],
        },
    }
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "run.yaml"
        path.write_text(yaml.safe_dump(config))
        env.update(
            {
                "DRIFTWARDEN_RUN_ID": f"bench-{label}",
                "DRIFTWARDEN_SOURCE_URL": server.url("bench"),
                "DRIFTWARDEN_DATABASE_URL": results,
                "DRIFTWARDEN_SCHEDULED_TIME": END.isoformat().replace("+00:00", "Z"),
                "DRIFTWARDEN_SUMMARY_PATH": str(Path(scratch) / "summary"),
            }
        )
        command = [sys.executable, "-m", "driftwarden.detectors.cli", "run", "--config", str(path)]
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"driftwarden run ({label}) failed")
    return {
        "rows": float(half * 2),
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
    }


def _line(what: str, result: dict[str, float]) -> str:
    rate = result["rows"] / result["seconds"]
    per_cpu = result["rows"] / max(result["cpu_seconds"], 1e-9)
    return (
        f"{what:34s} {rate:>11,.0f} rows/s  CPU {result['cpu_seconds']:5.2f}s "
        f"({per_cpu:>11,.0f} rows/CPU-s)  wall {result['seconds']:5.2f}s  "
        f"RSS +{result['rss_growth_mib']:.0f} MiB"
    )


def _fill(dsn: str, rows: int) -> None:
    import psycopg2

    floats = ", ".join(f"random() * {i + 1}" for i in range(FLOATS))
    texts = ", ".join(
        f"(ARRAY['north','south','east','west','centre'])[1 + (i + {k}) %% 5]" for k in range(5)
    )
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_window (ts timestamptz NOT NULL, "
            + ", ".join(f"x{i} double precision" for i in range(FLOATS))
            + ", n0 integer, n1 bigint, "
            + ", ".join(f"c{i} text" for i in range(5))
            + ")"
        )
        cursor.execute(
            "INSERT INTO bench_window SELECT %(end)s - i * interval '1 second', "
            + floats
            + ", (i %% 1000)::integer, i, "
            + texts
            + " FROM generate_series(1, %(rows)s) AS i",
            {"end": END, "rows": rows},
        )
        cursor.execute("ANALYZE bench_window")
    conn.close()


def _server_copy_cpu(dsn: str, rows: int) -> float:
    """CPU seconds (user + system, from /proc) of the server backend that writes the whole
    window as a binary COPY, as the ADBC driver asks for it; the client discards the bytes."""
    import io

    import psycopg2

    class Discard(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            return len(data)

    def backend_cpu(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    columns = ", ".join(["ts", *_numeric(), *_categorical()])
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = int(cursor.fetchone()[0])
            before = backend_cpu(pid)
            cursor.copy_expert(
                f"COPY (SELECT {columns} FROM bench_window) TO STDOUT (FORMAT binary)", Discard()
            )
            return backend_cpu(pid) - before
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", choices=["read", "baseline", "frames", "arrow", "arrow2"])
    parser.add_argument("--reader", choices=["arrow", "rows"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--window-rows", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.path == "baseline":
            args.path = "frames"  # the baseline's own code, on the path first
        _child(args)
        return

    from pg import PostgresServer

    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory() as scratch, PostgresServer.start(durable=True) as server:
        baseline = Path(scratch)
        commit = extract(args.baseline, baseline)
        print(f"baseline: {args.baseline} = {commit[:12]}; this tree: {REPO}")
        url = server.create_database("bench")
        started = time.perf_counter()
        _fill(server.dsn("bench"), args.rows)
        print(f"filled {args.rows:,} rows x 25 columns in {time.perf_counter() - started:.1f}s")

        def measure(path: str, reader: str, rows: int) -> dict[str, float]:
            tree = baseline if path == "baseline" else None
            return _measure(path, reader, url, rows, args.chunk_rows, tree)

        for path in ("baseline", "arrow"):  # numba's caches compiled, outside the figures
            measure(path, "arrow", min(args.rows, 20_000))
        read = {reader: measure("read", reader, args.rows) for reader in ("rows", "arrow")}
        for reader, result in read.items():
            print(_line(f"read only, {reader} reader", result))
        profiled = {path: measure(path, "arrow", args.rows) for path in PATHS}
        for path, result in profiled.items():
            print(_line(f"into the profiles, {LABELS.get(path, path)}", result))
        old = profiled["baseline"]
        for path in ("frames", "arrow", "arrow2"):
            new = profiled[path]
            wall = (new["rows"] / new["seconds"]) / (old["rows"] / old["seconds"])
            cpu = old["cpu_seconds"] / new["cpu_seconds"]
            print(
                f"ratio {LABELS.get(path, path)} / baseline: {wall:.1f}x rows/s, "
                f"{cpu:.1f}x less CPU"
            )
        tenth = max(args.rows // 10, 1)
        for path in ("baseline", "arrow"):
            small = measure(path, "arrow", tenth)
            print(
                f"memory, {path:8s}: RSS +{small['rss_growth_mib']:.0f} MiB for {tenth:,} rows, "
                f"+{profiled[path]['rss_growth_mib']:.0f} MiB for {args.rows:,} "
                f"(chunk {args.chunk_rows:,} rows)"
            )
        runs = {
            "baseline": _whole_run(server, "baseline", baseline, args.rows),
            "this tree": _whole_run(server, "tree", None, args.rows),
        }
        for label, result in runs.items():
            print(
                f"driftwarden run, {label:9s} (process, 2 x {args.rows // 2:,} rows): "
                f"wall {result['seconds']:5.2f}s ({result['rows'] / result['seconds']:,.0f} "
                f"rows/s), CPU {result['cpu_seconds']:5.2f}s, peak RSS {result['rss_mib']:.0f} MiB"
            )
        old_run, new_run = runs["baseline"], runs["this tree"]
        print(
            f"ratio driftwarden run this tree / baseline: "
            f"{old_run['seconds'] / new_run['seconds']:.1f}x faster, "
            f"{old_run['cpu_seconds'] / new_run['cpu_seconds']:.1f}x less CPU"
        )
        best = max(("arrow", "arrow2"), key=lambda p: profiled[p]["rows"] / profiled[p]["seconds"])
        target = profiled[best]["rows"] / profiled[best]["seconds"]
        verdict = "meets" if target >= 1_000_000 else "misses"
        print(
            f"{LABELS.get(best, best)} into the profiles {target:,.0f} rows/s: {verdict} the "
            "1,000,000 target"
        )
        # What the read alone allows here: the driver's CPU per row (the child's) plus the
        # server's (its backend writing the binary COPY, on the same cores), over every core.
        server_cpu = _server_copy_cpu(server.dsn("bench"), args.rows)
        cores = os.cpu_count() or 1
        client_cpu = read["arrow"]["cpu_seconds"] * args.rows / read["arrow"]["rows"]
        print(
            f"server CPU for the window's binary COPY: {server_cpu:.2f} s; the driver's: "
            f"{client_cpu:.2f} s"
        )
        print(
            f"ceiling of the read alone ({cores} cores, nothing else): "
            f"{args.rows / client_cpu * cores:,.0f} rows/s with the server elsewhere, "
            f"{args.rows / (client_cpu + server_cpu) * cores:,.0f} rows/s with it here"
        )
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


PATHS = ("baseline", "frames", "arrow", "arrow2")
LABELS = {"arrow2": "arrow, 2 threads"}


if __name__ == "__main__":
    main()

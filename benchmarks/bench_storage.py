"""Storage and source figures: write speed into PostgreSQL, read speed and memory of a window.

Starts its own PostgreSQL 15 (as the tests do, `tests/pg.py`, default durable settings) and
prints:

1. rows/s writing drift results with `write_run` (one large run, then many small runs);
2. rows/s and peak memory reading a `--rows` x 20-column window from PostgreSQL (server-side
   cursor) and from Parquet (pyarrow dataset), each read in a fresh subprocess whose peak RSS
   (ru_maxrss) is reported against its RSS before reading; a tenth of the window with the
   same chunk and with a quarter of the chunk shows that memory follows the chunk size (and,
   for Parquet, the files' row-group size), not the window.

    python benchmarks/bench_storage.py                 # 5,000,000 rows (a few minutes)
    python benchmarks/bench_storage.py --rows 500000   # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

END = datetime(2026, 11, 23, tzinfo=UTC)
DATA_COLUMNS = 20  # 16 floats, 2 integers, 2 short strings


def _column_names() -> list[str]:
    return [f"x{i}" for i in range(16)] + ["n0", "n1", "c0", "c1"]


# --- child: one read, measured in its own process ------------------------------------------


def _read_child(args: argparse.Namespace) -> None:
    from driftwarden.detectors.sources import FileSource, SqlSource, TimeWindow

    # rows are one second apart, ending one second before END: N seconds hold N rows
    window = TimeWindow(END - timedelta(seconds=args.window_rows), END)
    columns = _column_names()
    source = (
        SqlSource(args.url, "bench_window", "ts", chunk_rows=args.chunk_rows)
        if args.read_child == "postgres"
        else FileSource(args.url, "ts", chunk_rows=args.chunk_rows)
    )
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = chunks = 0
    largest = 0
    started = time.perf_counter()
    with source:
        for chunk in source.iter_chunks(window, columns):
            rows += len(chunk)
            chunks += 1
            largest = max(largest, int(chunk.memory_usage(deep=True).sum()))
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": rows,
                "chunks": chunks,
                "seconds": seconds,
                "rss_before_mib": before_kib / 1024,
                "rss_peak_mib": peak_kib / 1024,
                "largest_chunk_mib": largest / 2**20,
            }
        )
    )


def _measure_read(kind: str, url: str, chunk_rows: int, window_rows: int) -> dict[str, float]:
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--read-child",
            kind,
            "--url",
            url,
            "--chunk-rows",
            str(chunk_rows),
            "--window-rows",
            str(window_rows),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


# --- parent ---------------------------------------------------------------------------------


def _bench_writes(url: str, rows: int) -> None:
    from driftwarden.detectors.stats.severity import Severity
    from driftwarden.detectors.storage import (
        DriftResultRow,
        RunOutcome,
        RunRecord,
        create_engine,
        upgrade,
        write_run,
    )

    engine = create_engine(url)
    upgrade(engine)
    methods = ("psi", "ks", "js", "wasserstein")

    def results(n: int) -> list[DriftResultRow]:
        return [
            DriftResultRow(
                feature=f"feature_{i // len(methods)}",
                method=methods[i % len(methods)],
                statistic=(i % 997) / 997,
                p_value=(i % 89) / 89,
                threshold=0.1,
                drift_detected=i % 7 == 0,
                severity=Severity.WARNING if i % 7 == 0 else Severity.NONE,
                feature_kind="numeric",
            )
            for i in range(n)
        ]

    def record(run_id: str, at: datetime) -> RunRecord:
        return RunRecord(
            run_id=run_id,
            monitor_namespace="bench",
            monitor_name="bench",
            started_at=at,
            outcome=RunOutcome.SUCCEEDED,
        )

    big = results(rows)
    rates = []
    for attempt in range(3):  # three separate runs; the machine may be shared, report all
        started = time.perf_counter()
        write_run(engine, record(f"big-{attempt}", END - timedelta(days=attempt)), big)
        rates.append(rows / (time.perf_counter() - started))
    print(
        f"write, one run of {rows:,} drift results (x3): median {sorted(rates)[1]:,.0f} rows/s "
        f"(each: {', '.join(f'{r:,.0f}' for r in rates)}; target >= 100,000)"
    )
    started = time.perf_counter()
    write_run(engine, record("big-0", END), big)
    seconds = time.perf_counter() - started
    print(f"rewrite of the same run (idempotent replace): {rows / seconds:,.0f} rows/s")

    small, runs = results(100), 200
    started = time.perf_counter()
    for n in range(runs):
        write_run(engine, record(f"small-{n}", END - timedelta(hours=n)), small)
    seconds = time.perf_counter() - started
    print(
        f"write, {runs} runs of 100 drift results (one transaction each): "
        f"{runs * 100 / seconds:,.0f} rows/s, {runs / seconds:,.0f} runs/s"
    )
    engine.dispose()


def _fill_postgres(dsn: str, rows: int) -> None:
    import psycopg2

    floats = ", ".join(f"random() * {i + 1} AS x{i}" for i in range(16))
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_window (ts timestamptz NOT NULL, "
            + ", ".join(f"x{i} double precision" for i in range(16))
            + ", n0 integer, n1 bigint, c0 text, c1 text)"
        )
        cursor.execute(
            "INSERT INTO bench_window SELECT %(end)s - i * interval '1 second', "
            + floats
            + ", (i %% 1000)::integer, i, (ARRAY['north','south','east','west'])[1 + i %% 4], "
            "'v' || (i %% 7) FROM generate_series(1, %(rows)s) AS i",
            {"end": END, "rows": rows},
        )
        cursor.execute("ANALYZE bench_window")
    conn.close()


def _fill_parquet(path: Path, rows: int, row_group: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    writer: pq.ParquetWriter | None = None
    regions = np.array(["north", "south", "east", "west"])
    for start in range(0, rows, row_group):
        i = np.arange(start + 1, min(rows, start + row_group) + 1)
        data = {
            "ts": pa.array(
                np.datetime64(END.replace(tzinfo=None), "us") - i * np.timedelta64(1_000_000, "us"),
                pa.timestamp("us", tz="UTC"),
            )
        }
        data |= {f"x{k}": rng.random(len(i)) * (k + 1) for k in range(16)}
        data |= {"n0": (i % 1000).astype(np.int32), "n1": i, "c0": regions[i % 4]}
        data |= {"c1": np.char.add("v", (i % 7).astype(str))}
        table = pa.table(data)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=row_group)
    if writer is not None:
        writer.close()


def _read_plan(rows: int, chunk_rows: int) -> list[tuple[str, int, int]]:
    """The whole window, a tenth of it with the same chunk (peak memory should not move),
    and the tenth with a quarter of the chunk (peak memory should drop)."""
    tenth = rows // 10
    return [
        (f"whole window {rows:,} rows, chunk {chunk_rows:,}", chunk_rows, rows),
        (f"1/10 window {tenth:,} rows, chunk {chunk_rows:,}", chunk_rows, tenth),
        (f"1/10 window {tenth:,} rows, chunk {chunk_rows // 4:,}", chunk_rows // 4, tenth),
    ]


def _report_read(label: str, result: dict[str, float], rows: int) -> None:
    print(
        f"read {label}: {result['rows']:,.0f} rows in {result['seconds']:.1f} s = "
        f"{result['rows'] / result['seconds']:,.0f} rows/s; {result['chunks']:.0f} chunks, "
        f"largest chunk {result['largest_chunk_mib']:.0f} MiB; RSS {result['rss_before_mib']:.0f} "
        f"-> peak {result['rss_peak_mib']:.0f} MiB "
        f"(+{result['rss_peak_mib'] - result['rss_before_mib']:.0f} MiB)"
    )
    if int(result["rows"]) != rows:
        raise SystemExit(f"expected {rows} rows, read {result['rows']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows of the read window")
    parser.add_argument("--write-rows", type=int, default=200_000, help="drift results written")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--window-rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--read-child", choices=["postgres", "parquet"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_child:
        _read_child(args)
        return

    from pg import PostgresServer

    window_mib = args.rows * (18 * 8 + 2 * 60) / 2**20  # floats/ints + two short str objects
    print(
        f"window: {args.rows:,} rows x {DATA_COLUMNS} columns "
        f"(~{window_mib:,.0f} MiB as one DataFrame); chunk {args.chunk_rows:,} rows"
    )
    with PostgresServer.start(durable=True) as server, tempfile.TemporaryDirectory() as tmp:
        _bench_writes(server.create_database("bench_history"), args.write_rows)

        url = server.create_database("bench_data")
        started = time.perf_counter()
        _fill_postgres(server.dsn("bench_data"), args.rows)
        print(f"(filled PostgreSQL in {time.perf_counter() - started:.0f} s)")
        for label, chunk_rows, rows in _read_plan(args.rows, args.chunk_rows):
            result = _measure_read("postgres", url, chunk_rows, rows)
            _report_read(f"PostgreSQL, {label}", result, rows)

        parquet = Path(tmp) / "window.parquet"
        started = time.perf_counter()
        _fill_parquet(parquet, args.rows, row_group=args.chunk_rows)
        print(f"(wrote Parquet in {time.perf_counter() - started:.0f} s)")
        for label, chunk_rows, rows in _read_plan(args.rows, args.chunk_rows):
            result = _measure_read("parquet", str(parquet), chunk_rows, rows)
            _report_read(f"Parquet, {label}", result, rows)


if __name__ == "__main__":
    main()

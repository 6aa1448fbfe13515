"""Read speed of a Postgres window into the profiles: the Arrow reader against today's.

Starts its own PostgreSQL 15 (`tests/pg.py`, default durable settings), fills an unlogged
table with `--rows` rows x 25 columns (18 float8, 2 integers, 5 short texts) and reads the
whole window, each read in a fresh subprocess, with

- `rows`: the row reader (psycopg2 server-side cursor, tuples -> frames), today's baseline;
- `arrow`: the ADBC PostgreSQL driver (binary COPY -> Arrow record batches -> frames).

For each it prints rows/s of the read alone and of the read profiled into a window profile
(25 features, what a run does), the peak RSS over the RSS before reading, and the same for a
tenth of the window (memory follows the chunk, not the window). Ratios are arrow / rows in
the same run. Target: >= 1,000,000 rows/s into the profiles.

    python benchmarks/bench_sql_read.py                  # 1,000,000 rows
    python benchmarks/bench_sql_read.py --rows 3000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

END = datetime(2026, 11, 29, tzinfo=UTC)
FLOATS = 18


def _numeric() -> list[str]:
    return [f"x{i}" for i in range(FLOATS)] + ["n0", "n1"]


def _categorical() -> list[str]:
    return [f"c{i}" for i in range(5)]


def _child(args: argparse.Namespace) -> None:
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
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = 0
    started = time.perf_counter()
    with SqlSource(
        args.url, "bench_window", "ts", chunk_rows=args.chunk_rows, reader=args.reader
    ) as source:
        chunks = source.iter_chunks(window, columns)
        if args.profile:
            first = next(chunks)
            features = resolve_features(spec, first)

            def counted():  # type: ignore[no-untyped-def]
                nonlocal rows
                rows += len(first)
                yield first
                for chunk in chunks:
                    rows += len(chunk)
                    yield chunk

            profile_frames(counted(), spec, features)
        else:
            for chunk in chunks:
                rows += len(chunk)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "rss_growth_mib": (peak_kib - before_kib) / 1024,
            }
        )
    )


def _measure(
    reader: str, url: str, window_rows: int, chunk_rows: int, profile: bool
) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--reader",
        reader,
        "--url",
        url,
        "--window-rows",
        str(window_rows),
        "--chunk-rows",
        str(chunk_rows),
    ]
    if profile:
        command.append("--profile")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reader", choices=["arrow", "rows"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--window-rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    from pg import PostgresServer

    with PostgresServer.start(durable=True) as server:
        url = server.create_database("bench")
        started = time.perf_counter()
        _fill(server.dsn("bench"), args.rows)
        print(f"filled {args.rows:,} rows x 25 columns in {time.perf_counter() - started:.1f}s")
        rates: dict[tuple[str, bool], float] = {}
        for profile in (False, True):
            what = "read + profile (25 features)" if profile else "read only"
            for reader in ("rows", "arrow"):
                result = _measure(reader, url, args.rows, args.chunk_rows, profile)
                rate = result["rows"] / result["seconds"]
                rates[(reader, profile)] = rate
                print(
                    f"{what:30s} {reader:5s}: {rate:>12,.0f} rows/s "
                    f"({result['seconds']:.2f}s, RSS +{result['rss_growth_mib']:.0f} MiB)"
                )
            ratio = rates[("arrow", profile)] / rates[("rows", profile)]
            print(f"{what:30s} ratio arrow / rows: {ratio:.1f}x")
        tenth = args.rows // 10
        for reader in ("rows", "arrow"):
            small = _measure(reader, url, tenth, args.chunk_rows, False)
            print(
                f"memory, {reader:5s}: RSS +{small['rss_growth_mib']:.0f} MiB for {tenth:,} rows"
                f" vs the whole window above (chunk {args.chunk_rows:,} rows)"
            )
        target = rates[("arrow", True)]
        verdict = "meets" if target >= 1_000_000 else "misses"
        print(f"arrow into the profiles {target:,.0f} rows/s: {verdict} the 1,000,000 target")


if __name__ == "__main__":
    main()

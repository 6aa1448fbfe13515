"""Real data for the demo: US census employment data, Massachusetts (ACS PUMS, via folktables).

The data set ships inside the NannyML wheel (reference year 2015; analysis years 2016-2018,
with a trained model's predictions and the true labels). The wheel is fetched once with
`pip download` (a package file; NannyML is not installed), checked against a pinned SHA-256,
and its Parquet files are read straight out of the zip.

The survey gives the year of each answer, not the day: rows of a year are spread evenly over
that year in their published order, so windows of a year mean that year.

    python examples/demo/census.py postgres URL          # table `employment_inference_log`
    python examples/demo/census.py files DIR             # 2015 and 2018 as Parquet files

Columns: `ts`, the person's answers (`agep` age in years; the coded answers `schl` schooling,
`mar` marital status, `relp` relationship, `dis` disability, `esp` parents' employment, `cit`
citizenship, `mig` mobility, `mil` military service, `anc` ancestry, `nativity`, `dear`
hearing, `deye` vision, `drem` cognition, `sex`, `rac1p` race), the model's
`predicted_probability` and `prediction`, the true label `employed`, and `year`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2

PACKAGE = "nannyml==0.13.1"
WHEEL = "nannyml-0.13.1-py3-none-any.whl"
WHEEL_SHA256 = "cf5f4a33489834ae6773cb1baa33a0f98c0a3ee6ed9b43049478b25ce22fe869"
DATA = "nannyml/datasets/data/employment_MA_{}.pq"
TABLE = "employment_inference_log"
CODED = "SCHL MAR RELP DIS ESP CIT MIG MIL ANC NATIVITY DEAR DEYE DREM SEX RAC1P".lower().split()
FEATURES = ("agep", *CODED)
COLUMNS = ("ts", *FEATURES, "predicted_probability", "prediction", "employed", "year")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "driftwarden" / "demo"


def fetch_wheel(folder: Path | None = None) -> Path:
    """The NannyML wheel in `folder` (default ~/.cache/driftwarden/demo), downloaded once."""
    folder = folder or cache_dir()
    wheel = folder / WHEEL
    if not wheel.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps", "--only-binary=:all:",
             "--dest", str(folder), "--quiet"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not wheel.is_file():
            raise RuntimeError(f"pip download {PACKAGE} failed: {done.stderr.strip()[-500:]}")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise RuntimeError(f"{wheel}: SHA-256 {digest}, expected {WHEEL_SHA256}")
    return wheel


def _year_times(years: pd.Series) -> pd.Series:
    """Each row's time: its year, spread evenly over the year in the rows' order."""
    times = pd.Series(pd.NaT, index=years.index, dtype="datetime64[ns, UTC]")
    for year, rows in years.groupby(years).groups.items():
        start = pd.Timestamp(year=int(year), month=1, day=1, tz="UTC")
        span = pd.Timestamp(year=int(year) + 1, month=1, day=1, tz="UTC") - start
        n = len(rows)
        offsets = (np.arange(n) + 0.5) / n
        times.loc[rows] = start + pd.to_timedelta(offsets * span.total_seconds(), unit="s")
    return times


def read_census(wheel: Path) -> pd.DataFrame:
    """Reference and analysis rows with their labels, one inference log ordered by time."""
    with zipfile.ZipFile(wheel) as archive:
        parts = {
            name: pd.read_parquet(io.BytesIO(archive.read(DATA.format(name))))
            for name in ("reference", "analysis", "analysis_target")
        }
    analysis = parts["analysis"].merge(parts["analysis_target"], on="id", how="left")
    if analysis["employed"].isna().any():
        raise ValueError("an analysis row has no label")
    frame = pd.concat([parts["reference"], analysis], ignore_index=True).sort_values("id")
    frame.columns = [c.lower() for c in frame.columns]
    for column in CODED:
        frame[column] = frame[column].astype(str)
    frame["agep"] = frame["agep"].astype(float)
    frame["employed"] = frame["employed"].astype(int)
    frame["ts"] = _year_times(frame["year"])
    return frame.loc[:, list(COLUMNS)].reset_index(drop=True)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg2://...) as libpq reads it."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def load_postgres(url: str, frame: pd.DataFrame, table: str = TABLE) -> int:
    """(Re)create `table` and COPY the rows in; returns the row count."""
    columns = ", ".join(
        ["ts timestamptz NOT NULL", "agep double precision"]
        + [f"{c} text" for c in CODED]
        + [
            "predicted_probability double precision",
            "prediction smallint",
            "employed smallint",
            "year smallint",
        ]
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    buffer.seek(0)
    conn = psycopg2.connect(libpq_url(url))
    try:
        with conn, conn.cursor() as cursor:
            # `table` is this module's constant or a test's, never user input.
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} ({columns})")
            cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", buffer)
            cursor.execute(f"CREATE INDEX ON {table} (ts)")
            cursor.execute(f"SELECT count(*) FROM {table}")
            row = cursor.fetchone()
    finally:
        conn.close()
    assert row is not None
    return int(row[0])


def write_files(frame: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """2015 (the model's reference year) and 2018 as Parquet files for `driftwarden detect`."""
    folder.mkdir(parents=True, exist_ok=True)
    baseline, current = folder / "census-2015.parquet", folder / "census-2018.parquet"
    frame[frame["year"] == 2015].to_parquet(baseline, index=False)
    frame[frame["year"] == 2018].to_parquet(current, index=False)
    return baseline, current


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    to_pg = sub.add_parser("postgres", help="load the inference log into a Postgres database")
    to_pg.add_argument("url", help="postgresql://user:password@host:port/db")
    to_files = sub.add_parser("files", help="write census-2015.parquet and census-2018.parquet")
    to_files.add_argument("folder", type=Path, help="where the two Parquet files are written")
    args = parser.parse_args(argv)
    frame = read_census(fetch_wheel())
    if args.command == "postgres":
        print(f"loaded {load_postgres(args.url, frame):,} rows into {TABLE}")
    else:
        baseline, current = write_files(frame, args.folder)
        print(f"wrote {baseline} and {current}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

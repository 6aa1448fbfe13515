"""The Job's files source reads a CSV file as `driftwarden detect` does (`tables`): one
missing-value rule (`tables.CSV_MISSING_MARKERS`, docs/statistics.md): an empty field is
missing in every column, the markers only in columns read as numbers; "NA", "None" and
"null" in a text column are values; `N/A` in a number column is a type error (kept as text),
not missing. pyarrow's defaults gave the Job "" as a text value and N/A as missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftwarden.detectors.profile import (
    ArrowChunk,
    CategoricalProfile,
    NumericProfile,
    WindowProfiler,
)
from driftwarden.detectors.sources import FileSource, TimeWindow
from driftwarden.detectors.tables import iter_chunks

START = datetime(2026, 11, 1, tzinfo=UTC)
ROWS = 400
WINDOW = TimeWindow(START, START + timedelta(hours=ROWS))
TEXT = ["NA", "None", "null", "", "DE", "US", "NaN"]
#: One `N/A` in 400 rows: the column reads as numbers (tables.TYPE_ERROR_SHARE), N/A a type error.
NUMBER_MARKERS = {3: "NaN", 5: "", 7: "NA", 11: "nan", 13: "null", 200: "N/A"}


def _csv(path: Path) -> None:
    lines = ["ts,country,amount"]
    for i in range(ROWS):
        ts = (START + timedelta(hours=i)).isoformat()
        amount = NUMBER_MARKERS.get(i, repr(i / 4))
        lines.append(f"{ts},{TEXT[i % len(TEXT)]},{amount}")
    path.write_text("\n".join(lines) + "\n")


def _summary(frame: pd.DataFrame) -> dict[str, tuple[int, list[object]]]:
    """Missing count and the values (missing as None) of each column."""
    return {
        str(name): (
            int(frame[name].isna().sum()),
            [None if pd.isna(v) else v for v in frame[name].astype(object)],
        )
        for name in frame.columns
    }


def _job(source: FileSource, *, chunk_rows: int) -> pd.DataFrame:
    chunks = list(source.iter_chunks(WINDOW, ["country", "amount"], chunk_rows=chunk_rows))
    return pd.concat(chunks, ignore_index=True)


def _job_profile(source: FileSource, *, chunk_rows: int) -> pd.DataFrame:
    chunks = list(source.iter_profile_chunks(WINDOW, ["country", "amount"], chunk_rows=chunk_rows))
    assert all(isinstance(c, ArrowChunk) for c in chunks)
    return pd.concat([c.frame() for c in chunks if isinstance(c, ArrowChunk)], ignore_index=True)


@pytest.mark.parametrize("chunk_rows", [64, 10_000])
def test_the_job_reads_a_csv_file_as_detect_does(tmp_path: Path, chunk_rows: int) -> None:
    path = tmp_path / "window.csv"
    _csv(path)
    detect = pd.concat(list(iter_chunks(path, ["country", "amount"])), ignore_index=True)
    expected = _summary(detect)
    # the rule itself, as docs/statistics.md states it
    assert expected["country"][0] == ROWS // len(TEXT) + (ROWS % len(TEXT) > TEXT.index(""))
    assert {"NA", "None", "null", "NaN"} <= set(expected["country"][1])
    assert expected["amount"][0] == 5
    assert expected["amount"][1][200] == "N/A"  # a type error, kept as text
    source = FileSource(path, "ts")
    assert _summary(_job(source, chunk_rows=chunk_rows)) == expected
    assert _summary(_job_profile(source, chunk_rows=chunk_rows)) == expected


def test_parquet_of_the_same_table_gives_the_same_missing_counts(tmp_path: Path) -> None:
    csv_path = tmp_path / "window.csv"
    _csv(csv_path)
    from_csv = _job(FileSource(csv_path, "ts"), chunk_rows=10_000)
    # The table detect reads from the CSV, stored as Parquet (N/A, a type error, left out).
    amount = pd.to_numeric(from_csv["amount"], errors="coerce").astype(np.float64)
    table = pa.table(
        {
            "ts": pa.array(
                [START + timedelta(hours=i) for i in range(ROWS)], pa.timestamp("us", "UTC")
            ),
            "country": pa.array(list(from_csv["country"]), pa.string()),
            "amount": pa.array(amount, pa.float64()),
        }
    )
    pq.write_table(table, tmp_path / "window.parquet")
    from_parquet = _job(FileSource(tmp_path / "window.parquet", "ts"), chunk_rows=10_000)
    assert _summary(from_parquet)["country"] == _summary(from_csv)["country"]
    assert from_parquet["amount"].isna().sum() == from_csv["amount"].isna().sum() + 1


@pytest.mark.parametrize("chunk_rows", [64, 10_000])
def test_the_jobs_profile_counts_what_detect_reads(tmp_path: Path, chunk_rows: int) -> None:
    """The counts the quality section shows (missing, type errors, categories), profiled
    from the Job's Arrow chunks (text and parsed numbers from Arrow, the rest as frames)."""
    path = tmp_path / "window.csv"
    _csv(path)
    kinds = {"country": "categorical", "amount": "numeric"}
    profiles = []
    for chunks in (
        iter_chunks(path, ["country", "amount"], chunk_rows=chunk_rows),
        FileSource(path, "ts").iter_profile_chunks(
            WINDOW, ["country", "amount"], chunk_rows=chunk_rows
        ),
    ):
        profiler = WindowProfiler(kinds)
        for chunk in chunks:
            profiler.add(chunk)
        profiles.append(profiler.profile())
    detect, job = (p.columns for p in profiles)
    assert isinstance(job["amount"], NumericProfile)
    assert isinstance(detect["amount"], NumericProfile)
    # five markers missing, plus N/A: a type error (a profile counts it among the missing)
    assert (detect["amount"].missing, detect["amount"].type_errors) == (6, 1)
    summary = ("missing", "type_errors", "count", "total", "minimum", "maximum")
    assert {k: getattr(job["amount"], k) for k in summary} == {
        k: getattr(detect["amount"], k) for k in summary
    }
    assert isinstance(job["country"], CategoricalProfile)
    assert job["country"] == detect["country"]
    assert job["country"].missing == ROWS // len(TEXT) + (ROWS % len(TEXT) > TEXT.index(""))

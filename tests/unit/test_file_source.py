"""Parquet and CSV sources: files, directories, globs, date partitions, windows, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftwarden.detectors.config import FeatureKind, WindowSpec
from driftwarden.detectors.kinds import infer_kind
from driftwarden.detectors.sources import (
    ColumnNotFoundError,
    FileSource,
    Source,
    SourceError,
    SourceUnreachableError,
    TimestampTypeError,
    TimeWindow,
)

RUN_TIME = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOURS = 24 * 40  # one row per hour, the last one an hour before RUN_TIME


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    i = np.arange(1, HOURS + 1)
    ts = pd.DatetimeIndex([RUN_TIME - timedelta(hours=int(h)) for h in i])
    return (
        pd.DataFrame(
            {
                "ts": ts,
                "ts_naive": ts.tz_localize(None),
                "age": (i % 70).astype(np.float64),
                "region": np.where(i % 3 == 0, "north", "south"),
                "model_version": np.where(i % 2 == 0, "3", "2"),
                "note": "n",
            }
        )
        .iloc[::-1]
        .reset_index(drop=True)
    )


@pytest.fixture(scope="module")
def files(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("files")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, root / "single.parquet", row_group_size=100)
    frame.assign(ts=frame["ts"].map(lambda t: t.isoformat())).drop(columns="ts_naive").to_csv(
        root / "single.csv", index=False
    )
    (root / "many").mkdir()
    for n, part in enumerate(np.array_split(np.arange(len(frame)), 4)):
        pq.write_table(table.take(part), root / "many" / f"part-{n}.parquet")
    day = frame["ts"].dt.strftime("%Y-%m-%d")
    for value, rows in frame.groupby(day).groups.items():
        folder = root / "hive" / f"date={value}"
        folder.mkdir(parents=True)
        pq.write_table(table.take(np.asarray(rows)), folder / "part-0.parquet")
    # Outside every window used below: pruning must never open it.
    (root / "hive" / "date=2026-10-20" / "zz-broken.parquet").write_bytes(b"not parquet")
    return root


def _read(source: Source, window: TimeWindow, columns: list[str]) -> pd.DataFrame:
    """The window's rows as the Job streams them (`iter_chunks`), in one frame."""
    chunks = list(source.iter_chunks(window, columns))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)


def _kinds(frame: pd.DataFrame) -> dict[str, FeatureKind]:
    return {str(name): infer_kind(frame[name]) for name in frame.columns}


def _window(length: str, end_offset: str = "0s") -> TimeWindow:
    spec = WindowSpec.model_validate({"relative": {"length": length, "endOffset": end_offset}})
    return TimeWindow.from_spec(spec, RUN_TIME)


@pytest.mark.parametrize("path", ["single.parquet", "single.csv", "many", "many/part-*.parquet"])
def test_windows_select_exactly_their_rows(files: Path, path: str) -> None:
    source = FileSource(files / path, "ts")
    current = _read(source, _window("24h"), ["age", "region"])
    baseline = _read(source, _window("30d", "7d"), ["age", "region"])
    assert len(current) == 24
    assert len(baseline) == 30 * 24
    assert list(current.columns) == ["age", "region"]
    assert _kinds(current) == {"age": FeatureKind.NUMERIC, "region": FeatureKind.CATEGORICAL}


def test_naive_timestamps_are_utc_and_filters_apply(files: Path) -> None:
    source = FileSource(files / "single.parquet", "ts_naive", filters={"model_version": "3"})
    data = _read(source, _window("24h"), ["model_version", "age"])
    assert len(data) == 12
    assert set(data["model_version"]) == {"3"}


def test_date_partitions_outside_the_window_are_not_read(files: Path) -> None:
    source = FileSource(files / "hive", "ts", date_partition="date")
    data = _read(source, _window("3d", "1d"), ["age"])
    assert len(data) == 72
    with pytest.raises(SourceError, match="failed"):  # the broken file, once inside the window
        _read(source, _window("40d"), ["age"])


def test_reads_in_bounded_chunks(files: Path) -> None:
    source = FileSource(files / "single.parquet", "ts", chunk_rows=50)
    sizes = [len(c) for c in source.iter_chunks(_window("30d"), ["age"])]
    assert max(sizes) <= 50
    assert sum(sizes) == 30 * 24


def test_errors_are_distinct_and_named(files: Path) -> None:
    with pytest.raises(SourceUnreachableError, match="does not exist"):
        _read(FileSource(files / "nope.parquet", "ts"), _window("1d"), ["age"])
    with pytest.raises(SourceUnreachableError, match="no files match"):
        _read(FileSource(files / "many" / "*.csv", "ts"), _window("1d"), ["age"])
    with pytest.raises(ColumnNotFoundError, match="'salary'"):
        _read(FileSource(files / "single.parquet", "ts"), _window("1d"), ["age", "salary"])
    with pytest.raises(TimestampTypeError, match="'note'"):
        _read(FileSource(files / "single.parquet", "note"), _window("1d"), ["age"])
    # An empty window streams no chunk: the Job records the run as InsufficientData.
    source = FileSource(files / "single.parquet", "ts")
    assert not list(source.iter_chunks(TimeWindow(RUN_TIME, RUN_TIME + timedelta(days=1)), ["age"]))

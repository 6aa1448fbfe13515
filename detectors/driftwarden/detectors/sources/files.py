"""Parquet and CSV files as a data source: one file, a directory, or a glob.

Read with pyarrow's dataset API: only the requested columns, the window and the equality
filters pushed into the scan (Parquet row-group statistics and hive partitions prune what
is read), in record batches of at most `chunk_rows` rows with little read-ahead, so memory
follows the chunk (and the files' row-group size), not the window.

Date-partitioned layouts (`.../date=2026-01-31/part-0.parquet`) are read with
`date_partition="date"`: partitions outside the window are never opened. Timestamps without
a time zone are taken as UTC.

CSV is read as `driftwarden detect` reads it (`tables`, docs/statistics.md "Reading files"):
every column's type is decided once from the head of the first file (`tables.read_head`),
its fields are read as text and converted by that type, with the one missing-value rule
(`tables.CSV_MISSING_MARKERS`): an empty field is missing in every column, the markers only
in columns read as numbers, booleans or times ("NA" in a text column is Namibia), and a
field that does not parse (`N/A` in a number column) is kept as text, a type error. Only the
timestamp and filter columns are typed by pyarrow, for the scan's filter.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds

from driftwarden.detectors.profile import ArrowChunk, Chunk
from driftwarden.detectors.sources.base import (
    DEFAULT_CHUNK_ROWS,
    FilterValue,
    Source,
    TimeWindow,
)
from driftwarden.detectors.sources.errors import (
    ColumnNotFoundError,
    SourceError,
    SourceUnreachableError,
    TimestampTypeError,
)
from driftwarden.detectors.tables import (
    CSV_MISSING_MARKERS,
    ColumnType,
    TableError,
    column_types,
    convert_text_frame,
    read_head,
)

FileFormat = Literal["parquet", "csv"]
_SUFFIXES: dict[str, FileFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def _format_of(path: Path) -> FileFormat | None:
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
    return None


class FileSource(Source):
    """Rows of Parquet or CSV files with `timestamp_column` in the window."""

    def __init__(
        self,
        path: str | Path,
        timestamp_column: str,
        *,
        file_format: FileFormat | None = None,
        date_partition: str | None = None,
        hive_partitioning: bool = False,
        filters: Mapping[str, FilterValue] | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
        if file_format not in (None, "parquet", "csv"):
            raise ValueError(f"file_format must be parquet or csv, got {file_format!r}")
        self.path = str(path)
        self.timestamp_column = timestamp_column
        self.file_format = file_format
        self.date_partition = date_partition
        self.hive_partitioning = hive_partitioning or date_partition is not None
        self.filters = dict(filters or {})
        self.chunk_rows = chunk_rows
        self._dataset: ds.Dataset | None = None
        #: CSV only: each column's type as `detect` decides it (None: Parquet)
        self._csv_types: dict[str, ColumnType] | None = None

    def describe(self) -> str:
        return f"files {self.path}"

    def _files(self) -> tuple[str | list[str], Path]:
        """What to hand to pyarrow, and one example file (to tell the format)."""
        if glob.has_magic(self.path):
            matches = sorted(p for p in glob.glob(self.path, recursive=True) if Path(p).is_file())
            if not matches:
                raise SourceUnreachableError(f"no files match {self.path}")
            return matches, Path(matches[0])
        root = Path(self.path)
        if root.is_file():
            return [str(root)], root
        if root.is_dir():
            example = next(
                (p for p in sorted(root.rglob("*")) if p.is_file() and _format_of(p)), None
            )
            if example is None:
                raise SourceUnreachableError(f"no .parquet or .csv files under {self.path}")
            return str(root), example
        raise SourceUnreachableError(f"{self.path} does not exist")

    def dataset(self) -> ds.Dataset:
        if self._dataset is None:
            source, example = self._files()
            file_format = self.file_format or _format_of(example)
            if file_format is None:
                raise SourceError(
                    f"cannot tell the format of {example}: name it .parquet or .csv, "
                    "or pass file_format"
                )
            partitioning: Any = None
            if self.date_partition is not None:
                partitioning = ds.partitioning(
                    pa.schema([(self.date_partition, pa.date32())]), flavor="hive"
                )
            elif self.hive_partitioning:
                partitioning = "hive"
            file_type: Any = file_format
            if file_format == "csv":
                file_type = self._csv_format(example)
            if file_format == "parquet":
                # pre_buffer would fetch row groups ahead of the scan: memory then grows
                # with the file, not with the chunk (measured in benchmarks/bench_storage.py).
                file_type = ds.ParquetFileFormat(
                    default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False)
                )
            try:
                self._dataset = ds.dataset(
                    source,
                    format=file_type,
                    partitioning=partitioning,
                    exclude_invalid_files=False,
                )
            except (pa.ArrowInvalid, OSError) as error:
                raise SourceError(f"cannot read {self.describe()}: {error}") from None
        return self._dataset

    def _csv_format(self, example: Path) -> ds.CsvFileFormat:
        """Every column as text, an empty field missing, but the timestamp and filter columns,
        which pyarrow types for the scan's filter. The markers are not pyarrow's null values:
        with `strings_can_be_null` they would be missing in text columns too; they become
        missing in the conversion by type (`_to_frame`), in typed columns only."""
        try:
            self._csv_types = column_types(read_head(example))
        except TableError as error:
            raise SourceError(str(error)) from None
        scanned = {self.timestamp_column, *self.filters}
        return ds.CsvFileFormat(
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in self._csv_types if name not in scanned},
                null_values=[""],
                strings_can_be_null=True,
            )
        )

    def _filter(self, dataset: ds.Dataset, window: TimeWindow) -> ds.Expression:
        schema = dataset.schema
        ts_type = schema.field(self.timestamp_column).type
        ts = ds.field(self.timestamp_column)
        if pa.types.is_timestamp(ts_type):
            bounds = window.utc() if ts_type.tz is not None else window.naive_utc()
            start, end = (pa.scalar(b, type=ts_type) for b in bounds)
        elif pa.types.is_date(ts_type):
            ts = ts.cast(pa.timestamp("us"))
            start, end = (pa.scalar(b, type=pa.timestamp("us")) for b in window.naive_utc())
        else:
            raise TimestampTypeError(self.timestamp_column, str(ts_type), self.describe())
        expression = (ts >= start) & (ts < end)
        if self.date_partition is not None:
            first, last = window.utc()
            last -= timedelta(microseconds=1)
            day = ds.field(self.date_partition)
            expression &= (day >= pa.scalar(first.date(), pa.date32())) & (
                day <= pa.scalar(last.date(), pa.date32())
            )
        for name, value in self.filters.items():
            field = ds.field(name)
            expression &= field.is_null() if value is None else field == pa.scalar(value)
        return expression

    def iter_chunks(
        self, window: TimeWindow, columns: Sequence[str], *, chunk_rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        for batch in self._batches(window, columns, chunk_rows):
            if self._csv_types is None:
                yield batch.to_pandas()
            else:
                yield self._to_frame(self._numbers(pa.Table.from_batches([batch])), None)

    def iter_profile_chunks(
        self, window: TimeWindow, columns: Sequence[str], *, chunk_rows: int | None = None
    ) -> Iterator[Chunk]:
        """The scanner's batches as Arrow, for the profiles (no pandas frame)."""
        for batch in self._batches(window, columns, chunk_rows):
            table = pa.Table.from_batches([batch])
            if self._csv_types is None:
                yield ArrowChunk.of(table)
                continue
            table = self._numbers(table)
            # Text columns (strings, empty fields null) and the number columns that parsed
            # (float64) are in the form the frame gives: the profiles' fast paths.
            plain = frozenset(
                name
                for name, kind in zip(table.column_names, table.schema.types, strict=True)
                if (pa.types.is_string(kind) and self._csv_type(name) is ColumnType.TEXT)
                or (pa.types.is_float64(kind) and self._csv_type(name) is ColumnType.NUMBER)
            )
            yield ArrowChunk(table, self._to_frame, plain)

    def _csv_type(self, name: str) -> ColumnType:
        return (self._csv_types or {}).get(name, ColumnType.TEXT)

    def _numbers(self, table: pa.Table) -> pa.Table:
        """The CSV chunk's number columns parsed by Arrow, the markers missing; a column
        with a field that does not parse stays text, for `_to_frame` (its type errors)."""
        markers = pa.array(CSV_MISSING_MARKERS, pa.string())
        for i, (name, kind) in enumerate(zip(table.column_names, table.schema.types, strict=True)):
            if not pa.types.is_string(kind) or self._csv_type(name) is not ColumnType.NUMBER:
                continue
            column = table.column(i)
            cleaned = pc.if_else(pc.is_in(column, value_set=markers), None, column)
            try:
                parsed = pc.cast(cleaned, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue  # a type error in this chunk: converted field by field
            table = table.set_column(i, name, parsed)
        return table

    def _to_frame(self, table: pa.Table, rows: npt.NDArray[np.intp] | None) -> pd.DataFrame:
        """A CSV chunk's frame as `detect` reads it: the text converted by each column's
        type (`tables`), a marker missing in a typed column, a bad field kept as text."""
        if rows is not None:
            table = table.take(pa.array(rows, type=pa.int64()))
        frame: pd.DataFrame = table.to_pandas()
        text = [
            name
            for name, kind in zip(table.column_names, table.schema.types, strict=True)
            if pa.types.is_string(kind)
        ]
        converted = convert_text_frame(frame[text], self._csv_types or {})
        for name in text:
            frame[name] = converted[name]
        return frame

    def _batches(
        self, window: TimeWindow, columns: Sequence[str], chunk_rows: int | None
    ) -> Iterator[pa.RecordBatch]:
        size = chunk_rows or self.chunk_rows
        if size < 1:
            raise ValueError(f"chunk_rows must be positive, got {size}")
        names = list(dict.fromkeys(columns))
        dataset = self.dataset()
        available = set(dataset.schema.names)
        wanted = [*names, self.timestamp_column, *self.filters]
        missing = [name for name in dict.fromkeys(wanted) if name not in available]
        if missing:
            raise ColumnNotFoundError(missing, self.describe(), dataset.schema.names)
        scanner = dataset.scanner(
            columns=names,
            filter=self._filter(dataset, window),
            batch_size=size,
            batch_readahead=1,
            fragment_readahead=1,
        )
        try:
            for batch in scanner.to_batches():
                if batch.num_rows:
                    yield batch
        except (pa.ArrowInvalid, OSError) as error:
            raise SourceError(f"reading {self.describe()} failed: {error}") from None

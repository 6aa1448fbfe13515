"""Reading local CSV and Parquet files in chunks, for the `driftwarden` CLI.

Parquet is read column-selectively in record batches (pyarrow), CSV in pandas chunks, so a
window larger than memory streams through `engine.profile_frames`.

Why not `sources.FileSource`: that reads a time window of a monitor's data (a timestamp
column is required and filtered on, CSV is typed by pyarrow); `detect` compares two whole
files as a notebook user holds them, with pandas' CSV typing, and names a bad file in the
CLI's one-line errors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from driftwarden.detectors.chunks import FILE_CHUNK_ROWS
from driftwarden.detectors.errors import InputError

DEFAULT_CHUNK_ROWS = FILE_CHUNK_ROWS
SUPPORTED = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class TableError(InputError, ValueError):
    """A data file that cannot be read as asked; the message names the file and problem."""


def table_format(path: Path) -> str:
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise TableError(
            f"{path}: unsupported file type {path.suffix or '(none)'!r}; use .csv or .parquet"
        )
    return fmt


def read_columns(path: Path) -> list[str]:
    """Column names of a file, without reading its rows (CSV: the header line)."""
    _check_exists(path)
    try:
        if table_format(path) == "parquet":
            return list(pq.ParquetFile(path).schema_arrow.names)
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except TableError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise TableError(f"{path}: cannot read: {_one_line(exc)}") from exc


def read_head(path: Path, rows: int = 10_000) -> pd.DataFrame:
    """The first rows, for inferring column kinds."""
    return next(iter_chunks(path, None, chunk_rows=rows), pd.DataFrame())


def iter_chunks(
    path: Path, columns: Sequence[str] | None, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Yield the file's rows as data frames of at most `chunk_rows` rows."""
    _check_exists(path)
    if chunk_rows < 1:
        raise TableError(f"chunk size must be positive, got {chunk_rows}")
    fmt = table_format(path)
    wanted = list(dict.fromkeys(columns)) if columns is not None else None
    if wanted is not None:
        available = read_columns(path)
        missing = [c for c in wanted if c not in available]
        if missing:
            raise TableError(f"{path}: column(s) not found: {', '.join(missing)}")
    try:
        if fmt == "parquet":
            # pre_buffer (pyarrow's default) reads ahead the whole file: 760 MB of buffers
            # for a 4M x 20 window. Reading row group by row group keeps memory at a chunk.
            parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
            for batch in parquet.iter_batches(batch_size=chunk_rows, columns=wanted):
                yield batch.to_pandas()
        else:
            with pd.read_csv(path, usecols=wanted, chunksize=chunk_rows) as reader:
                yield from reader
    except TableError:
        raise
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as exc:
        raise TableError(f"{path}: cannot read: {_one_line(exc)}") from exc


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise TableError(f"{path}: no such file")
    if not path.is_file():
        raise TableError(f"{path}: not a file")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

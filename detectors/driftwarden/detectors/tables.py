"""Reading local CSV and Parquet files in chunks, for the `driftwarden` CLI.

Parquet is read column-selectively in record batches (pyarrow), CSV in pandas chunks, so a
window larger than memory streams through `engine.profile_frames`.

One reading of a file, whatever the chunk size: every column gets one `ColumnType`, decided
once (from the Parquet schema, or from the first `HEAD_ROWS` rows of a CSV file, never per
chunk) and applied to every chunk of both windows, so `00042` is the same value in the first
chunk and the last, and in the baseline and the current window. CSV cells are read as text
and converted by that type; a cell that does not parse as the column's type is kept as text
(a type error the quality section counts), never silently dropped or retyped. Arrow and
pandas types arrive as one canonical form each, missing values as missing:

| type     | Arrow / pandas types                                     | pandas form              |
|----------|----------------------------------------------------------|--------------------------|
| number   | integers (nullable too), floats, decimals, all-null      | float64, NaN missing     |
| bool     | bool (nullable too)                                      | object True/False/None   |
| datetime | date, timestamp with or without zone (zones to UTC)      | datetime64[ns], NaT      |
| text     | strings, large strings, dictionary-encoded, anything else | strings, missing as NA   |

A row with more fields than the header is refused in both windows (never truncated), and a
CSV whose header parses into one column holding `;`, tab or `|` is refused as not
comma-separated.

Why not `sources.FileSource`: that reads a time window of a monitor's data (a timestamp
column is required and filtered on; its CSV takes these same types and missing values);
`detect` compares two whole files as a notebook user holds them, and names a bad file in
the CLI's one-line errors.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pandas.io.parsers import TextFileReader

from driftwarden.detectors.chunks import FILE_CHUNK_ROWS, HEAD_ROWS
from driftwarden.detectors.errors import InputError

DEFAULT_CHUNK_ROWS = FILE_CHUNK_ROWS
#: HEAD_ROWS (`chunks`): rows of a CSV file that decide its column types (independent of
#: --chunk-rows)
#: The widest file read (columns), and the longest CSV header line (bytes): wider tables
#: take minutes in pandas for no monitoring purpose (docs/limits.md).
MAX_COLUMNS = 10_000
MAX_HEADER_BYTES = 16 << 20
SUPPORTED = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# pandas' own index written into a Parquet file is not data
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_BOOL_TEXT = {"true": True, "false": False}
#: A CSV column whose head is numbers (or ISO times) but for at most this share of its
#: non-empty cells is numbers (times); the rest are type errors, not a reason to read the
#: whole column as text (one typo among 300 numbers made it an "identifier", left out).
TYPE_ERROR_SHARE = 0.01
_OTHER_DELIMITERS = (";", "\t", "|")
#: The one missing-value rule of a CSV file (docs/statistics.md, "Reading files"): an empty
#: field is missing in every column; in a column read as numbers, booleans or times these
#: exact fields are missing too. In a text column every non-empty field is a value ("NA" is
#: Namibia, "None" and "null" are words), as a Parquet string is: the same table gives the
#: same report in either format. pandas' longer default list (N/A, NULL, #N/A, ...) is not
#: used; in a number column such a field is a type error the quality section shows.
CSV_MISSING_MARKERS = ("NA", "NaN", "nan", "null")


class TableError(InputError, ValueError):
    """A data file that cannot be read as asked; the message names the file and problem."""


class ColumnType(StrEnum):
    """How a column's values are represented once read (see the module docstring)."""

    NUMBER = "number"
    BOOL = "bool"
    DATETIME = "datetime"
    TEXT = "text"


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
            names = list(pq.ParquetFile(path).schema_arrow.names)
        else:
            names = [str(c) for c in pd.read_csv(path, nrows=0, dtype=str).columns]
    except TableError:
        raise
    except pd.errors.EmptyDataError:
        names = []  # an empty file, or one of blank lines: said below, as for Parquet
    except (OSError, ValueError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: cannot read: {_one_line(exc)}") from exc
    if not names:
        raise TableError(f"{path}: the file has no columns")
    names = [n for n in names if not _PANDAS_INDEX.match(n)]
    _check_unique(path, names)
    if len(names) == 1 and table_format(path) == "csv":
        found = [d for d in _OTHER_DELIMITERS if d in names[0]]
        if found:
            shown = {";": "';'", "\t": "tab", "|": "'|'"}[found[0]]
            raise TableError(
                f"{path}: the header parses into one column ({names[0][:60]!r}): the file "
                f"looks {shown}-separated; driftwarden reads comma-separated CSV"
            )
    return names


def read_head(path: Path, rows: int = HEAD_ROWS) -> pd.DataFrame:
    """The first rows with their decided types, for inferring column kinds (a file without
    rows gives its columns, empty)."""
    head = next(iter_chunks(path, None, chunk_rows=rows, head_only=True), None)
    if head is None:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in read_columns(path)})
    return head


def column_types(head: pd.DataFrame) -> dict[str, ColumnType]:
    """The type of every column of a head read by `read_head` (canonical dtypes)."""
    types: dict[str, ColumnType] = {}
    for name in head.columns:
        dtype = head[name].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            types[str(name)] = ColumnType.DATETIME
        elif pd.api.types.is_float_dtype(dtype):
            types[str(name)] = ColumnType.NUMBER
        elif _is_bool_object(head[name]):
            types[str(name)] = ColumnType.BOOL
        else:
            types[str(name)] = ColumnType.TEXT
    return types


def iter_chunks(
    path: Path,
    columns: Sequence[str] | None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    types: Mapping[str, ColumnType] | None = None,
    head_only: bool = False,
) -> Iterator[pd.DataFrame]:
    """Yield the file's rows as data frames of at most `chunk_rows` rows.

    `types` fixes each column's type (decide it once, e.g. from the baseline's head, and
    pass the same mapping for both windows); columns it does not name get the type this
    file's own schema or head gives them, the same in every chunk.
    """
    fmt, available, wanted = _checked(path, columns, chunk_rows)
    decided = dict(types or {})
    if fmt == "parquet":
        for table in _regrouped(_parquet_batches(path, wanted, chunk_rows), chunk_rows):
            yield _from_arrow(path, _one_batch(table), decided)
            if head_only:
                return
        return
    try:
        # the head's own check reads the first block only (the types come from there)
        _check_field_counts(path, available, head_only=head_only)
        if not head_only and any(name not in decided for name in wanted):
            head_types = column_types(next(iter_chunks(path, None, head_only=True)))
            decided = {**head_types, **decided}
        # Every column but the numbers as text (converted by its type below); numbers
        # by pandas' C parser (fast), a chunk with a bad cell converted cell by cell.
        # Every field read: with `usecols` pandas silently drops a ragged row's extras.
        text = {
            name: str
            for name in wanted
            if head_only or decided.get(name, ColumnType.TEXT) is not ColumnType.NUMBER
        }
        with pd.read_csv(
            path,
            dtype=text,
            index_col=False,
            keep_default_na=False,
            na_values=_csv_missing(available, {} if head_only else decided),
            chunksize=HEAD_ROWS if head_only else chunk_rows,
        ) as reader:
            while (frame := _next_chunk(reader)) is not None:
                frame = frame[wanted]
                if head_only:
                    yield _typed_head(frame)
                    return
                yield _from_text(path, frame, decided)
    except TableError:
        raise
    except (
        OSError,
        ValueError,
        OverflowError,
        UnicodeDecodeError,
        pa.ArrowException,
        pd.errors.ParserError,
    ) as exc:
        raise TableError(f"{path}: cannot read: {_one_line(exc)}") from exc


def non_numbers(path: Path, columns: Sequence[str], *, limit: int = 3) -> dict[str, list[str]]:
    """Up to `limit` distinct values of each of `columns` that are not numbers, in file
    order, with the columns read as numbers (a missing marker is no such value). One pass
    over the file, until every column has its `limit` or the file ends: for an error
    message or a report's examples, not for every run."""
    found: dict[str, list[str]] = {column: [] for column in columns}
    types = dict.fromkeys(found, ColumnType.NUMBER)
    for frame in iter_chunks(path, list(found), types=types):
        for column, seen in found.items():
            values = frame[column]
            if len(seen) >= limit or pd.api.types.is_float_dtype(values.dtype):
                continue  # done, or every cell of this chunk parsed
            for value in values[values.map(lambda v: isinstance(v, str))].unique():
                if value not in seen and len(seen) < limit:
                    seen.append(str(value))
        if all(len(seen) >= limit for seen in found.values()):
            break
    return found


def _checked(
    path: Path, columns: Sequence[str] | None, chunk_rows: int
) -> tuple[str, list[str], list[str]]:
    """The file's format, its columns and the wanted ones, each problem a `TableError`."""
    _check_exists(path)
    if chunk_rows < 1:
        raise TableError(f"chunk size must be positive, got {chunk_rows}")
    fmt = table_format(path)
    _check_width(path, fmt)
    available = read_columns(path)
    wanted = list(dict.fromkeys(columns)) if columns is not None else available
    known = set(available)  # a set: linear in the header's width
    missing = [c for c in wanted if c not in known]
    if missing:
        from driftwarden.detectors.hints import hint

        raise TableError(
            f"{path}: column(s) not found: {', '.join(missing)}{hint(missing[0], available)}"
        )
    return fmt, available, wanted


def _parquet_batches(
    path: Path, wanted: Sequence[str], chunk_rows: int, *, text_as_dictionary: bool = False
) -> Iterator[pa.RecordBatch]:
    """A Parquet file's `wanted` columns in record batches of at most `chunk_rows` rows;
    with `text_as_dictionary`, its string columns as dictionary arrays (indices into each
    batch's distinct strings)."""
    try:
        # pre_buffer (pyarrow's default) reads ahead the whole file: 760 MB of buffers
        # for a 4M x 20 window. Reading row group by row group keeps memory at a chunk.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        if text_as_dictionary:
            # Parquet writers store text dictionary-encoded: kept so, a category column is
            # read without building a string per row, and counted on its indices (a fifth
            # of the read and half the count of 1M strings).
            schema = parquet.schema_arrow
            text = [
                name
                for name in wanted
                if pa.types.is_string(schema.field(name).type)
                or pa.types.is_large_string(schema.field(name).type)
            ]
            if text:
                parquet = pq.ParquetFile(
                    path, pre_buffer=False, buffer_size=1 << 20, read_dictionary=text
                )
        yield from parquet.iter_batches(batch_size=chunk_rows, columns=list(wanted))
    except (OSError, ValueError, OverflowError, pa.ArrowException) as exc:
        raise TableError(f"{path}: cannot read: {_one_line(exc)}") from exc


#: Converts rows of an Arrow chunk (`None`: all of them) to the frame `iter_chunks` gives.
ToFrame = Callable[[pa.Table, "npt.NDArray[np.intp] | None"], pd.DataFrame]


def iter_arrow_chunks(
    path: Path,
    columns: Sequence[str],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    types: Mapping[str, ColumnType] | None = None,
) -> Iterator[tuple[pa.Table, ToFrame, frozenset[str]]]:
    """A Parquet file's chunks of `iter_chunks` kept as Arrow, for the profiles: each chunk's
    table, the function that gives the frame `iter_chunks` gives for its rows (`_from_arrow`,
    the same conversion, row for row) and the columns that need no conversion ("plain":
    numbers stored as integers or floats, text stored as strings), which go into the
    profiles from their Arrow buffers (`profile.ArrowChunk`): no pandas frame, no copy of
    the numbers into one 2-d block.
    """
    fmt, _, wanted = _checked(path, columns, chunk_rows)
    if fmt != "parquet":
        raise TableError(f"{path}: only Parquet files are read as Arrow chunks")
    decided = dict(types or {})

    def to_frame(table: pa.Table, rows: npt.NDArray[np.intp] | None) -> pd.DataFrame:
        if rows is not None:
            table = table.take(pa.array(rows, type=pa.int64()))
        return _from_arrow(path, _one_batch(table), decided)

    batches = _parquet_batches(path, wanted, chunk_rows, text_as_dictionary=True)
    for table in _regrouped(batches, chunk_rows):
        plain = frozenset(
            field.name for field in table.schema if _plain(field.type, decided.get(field.name))
        )
        yield table, to_frame, plain


def _regrouped(batches: Iterable[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    """Tables of exactly `chunk_rows` rows (the last one: the rest) from `batches`.

    pyarrow ends a batch wherever a dictionary-encoded column's dictionary changes (each
    row group has its own), so without this a window's chunks, and the row sample drawn
    chunk by chunk, would depend on how the file was written and on whether its text is
    read as dictionaries (`iter_arrow_chunks`) or not (`iter_chunks`). Each table's
    dictionaries are unified, so a column's chunks index one list of strings.
    """
    pending: list[pa.RecordBatch] = []
    held = 0
    yielded = False
    for batch in batches:
        if batch.num_rows == 0:
            pending.append(batch)  # kept for its schema: a file without rows, one empty chunk
            continue
        while batch.num_rows:
            take = min(batch.num_rows, chunk_rows - held)
            pending.append(batch.slice(0, take))
            held += take
            batch = batch.slice(take)
            if held == chunk_rows:
                yield pa.Table.from_batches(pending).unify_dictionaries()
                pending, held, yielded = [], 0, True
    if pending and (held or not yielded):
        yield pa.Table.from_batches(pending).unify_dictionaries()


def _one_batch(table: pa.Table) -> pa.RecordBatch:
    """A table as one record batch (a taken table may hold several chunks, or none)."""
    batches = table.to_batches()
    if len(batches) == 1:
        return batches[0]  # no copy
    arrays = [
        column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
        for column in table.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=table.schema)


def _plain(kind: pa.DataType, wanted: ColumnType | None) -> bool:
    """Whether `_convert_arrow` gives Arrow's own values for a column of this type: integers
    and floats read as numbers (float64, NaN for nulls), strings read as text."""
    own = wanted or _arrow_type(kind)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return own is ColumnType.NUMBER
    if pa.types.is_dictionary(kind):
        kind = kind.value_type  # text read as a dictionary (`_parquet_batches`)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return own is ColumnType.TEXT
    return False


def _csv_missing(names: Sequence[str], types: Mapping[str, ColumnType]) -> dict[str, list[str]]:
    """`read_csv`'s missing fields of each column (`CSV_MISSING_MARKERS`): a column not yet
    typed (the head) or read as text gets the empty field only."""
    typed = ["", *CSV_MISSING_MARKERS]
    return {
        name: [""] if types.get(name, ColumnType.TEXT) is ColumnType.TEXT else typed
        for name in names
    }


def _next_chunk(reader: TextFileReader) -> pd.DataFrame | None:
    """The next chunk, None at the end. A number column with a bad cell comes back as
    mixed objects (converted cell by cell later); pandas' DtypeWarning about it is ours
    to handle, not the user's to read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        return next(reader, None)


# --- types ---------------------------------------------------------------------------------


def _typed_head(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV head read as text, each column converted by the type its values suggest."""
    types = {str(name): _text_type(frame[name]) for name in frame.columns}
    typed = convert_text_frame(frame, types)
    for name in frame.columns:
        if types[str(name)] is ColumnType.NUMBER:
            # A head decides types and kinds only: its few type errors (TYPE_ERROR_SHARE)
            # are missing here, so the column reads as numbers (the windows count them).
            typed[name] = pd.to_numeric(typed[name], errors="coerce").astype(np.float64)
    return typed


def _text_type(series: pd.Series) -> ColumnType:
    """The type of a CSV column from its head's text (an all-missing column is a number)."""
    present = series.dropna().astype(str)
    present = present[~present.isin(CSV_MISSING_MARKERS)].str.strip()  # missing if not text
    present = present[present != ""]
    if present.empty:
        return ColumnType.NUMBER
    if present.str.lower().isin(list(_BOOL_TEXT)).all():
        return ColumnType.BOOL
    allowed = TYPE_ERROR_SHARE * len(present)
    if (~present.str.match(_ISO_DATE)).sum() <= allowed:
        return ColumnType.DATETIME
    parsed = pd.to_numeric(present, errors="coerce")
    if parsed.isna().sum() <= allowed:
        # A code with leading zeros (00042, zip codes, account numbers) is text, not 42.
        leading = present.str.match(_LEADING_ZERO) & ~present.str.contains(r"[.eE]")
        return ColumnType.TEXT if leading.any() else ColumnType.NUMBER
    return ColumnType.TEXT


def _from_text(path: Path, frame: pd.DataFrame, types: Mapping[str, ColumnType]) -> pd.DataFrame:
    try:
        return convert_text_frame(frame, types)
    except (ValueError, OverflowError, TypeError) as exc:
        raise TableError(f"{path}: cannot read: {_one_line(exc)}") from exc


def convert_text_frame(frame: pd.DataFrame, types: Mapping[str, ColumnType]) -> pd.DataFrame:
    """A frame of text fields converted column by column to `types` (TEXT where a column is
    not named), as a CSV chunk is: the one conversion of `detect` and of the Job's files."""
    out = {}
    for name in frame.columns:
        out[name] = _convert_text(frame[name], types.get(str(name), ColumnType.TEXT))
    return pd.DataFrame(out, index=frame.index)


def _convert_text(series: pd.Series, kind: ColumnType) -> pd.Series:
    if kind is ColumnType.NUMBER and pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype(np.float64)  # the C parser read every cell as a number
    text = series.astype(object).where(series.notna(), None)
    if kind is ColumnType.TEXT:
        return text
    text = text.where(~text.isin(CSV_MISSING_MARKERS), None)  # missing in a non-text column
    if kind is ColumnType.NUMBER:
        return _keep_bad(text, pd.to_numeric(text, errors="coerce").astype(np.float64))
    if kind is ColumnType.BOOL:
        lowered = text.map(lambda v: v if v is None else _BOOL_TEXT.get(str(v).strip().lower(), v))
        return lowered.astype(object)
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def _keep_bad(text: pd.Series, parsed: pd.Series) -> pd.Series:
    """`parsed` where it parsed; the cells that did not keep their text (type errors)."""
    bad = text.notna().to_numpy() & parsed.isna().to_numpy()
    if not bad.any():
        return parsed
    mixed = parsed.astype(object)
    mixed[bad] = text[bad]
    return mixed


def _from_arrow(path: Path, batch: pa.RecordBatch, types: Mapping[str, ColumnType]) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for name, array in zip(batch.schema.names, batch.columns, strict=True):
        if _PANDAS_INDEX.match(name):
            continue
        try:
            out[name] = _convert_arrow(array, types.get(name))
        except (pa.ArrowException, ValueError, OverflowError, TypeError) as exc:
            raise TableError(f"{path}: column {name!r}: cannot read: {_one_line(exc)}") from exc
    return pd.DataFrame(out, index=pd.RangeIndex(batch.num_rows))


def _arrow_type(kind: pa.DataType) -> ColumnType:
    if pa.types.is_dictionary(kind):
        return _arrow_type(kind.value_type)
    if pa.types.is_boolean(kind):
        return ColumnType.BOOL
    if (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
        or pa.types.is_duration(kind)  # compared in seconds, as the Job's profiles do
    ):
        return ColumnType.NUMBER
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return ColumnType.DATETIME
    return ColumnType.TEXT


def _convert_arrow(array: pa.Array, wanted: ColumnType | None) -> pd.Series:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    own = _arrow_type(array.type)
    kind = wanted or own
    if own is ColumnType.DATETIME:
        if pa.types.is_timestamp(array.type) and array.type.tz is not None:
            array = array.cast(pa.timestamp(array.type.unit))  # the UTC instants, zone dropped
        array = array.cast(pa.timestamp("ns"))
        stamps = pd.Series(array.to_numpy(zero_copy_only=False)).astype("datetime64[ns]")
        if kind is ColumnType.TEXT:
            return _convert_text(stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f"), ColumnType.TEXT)
        return stamps
    if pa.types.is_duration(array.type) and kind is ColumnType.NUMBER:
        span = array.cast(pa.duration("ns")).to_numpy(zero_copy_only=False)
        seconds = span.astype(np.int64).astype(np.float64) / 1e9
        seconds[np.isnat(span)] = np.nan
        return pd.Series(seconds, dtype=np.float64)
    if kind is ColumnType.NUMBER and own in (ColumnType.NUMBER, ColumnType.BOOL):
        floats = array.cast(pa.float64(), safe=False)  # integers past 2**53 round, as in pandas
        return pd.Series(floats.to_numpy(zero_copy_only=False), dtype=np.float64)
    if own is ColumnType.NUMBER and kind is ColumnType.TEXT:
        # Integer codes print as integers ("3", never "3.0" because a chunk had a null).
        return _convert_text(pd.Series(array.cast(pa.string()).to_pylist()), ColumnType.TEXT)
    if own is ColumnType.BOOL:
        values = pd.Series(array.to_pylist(), dtype=object)
        if kind is ColumnType.TEXT:
            return values.map(lambda v: v if v is None else str(v)).astype(object)
        return values
    # text-like (strings, large strings, binary, nested): python objects, missing as None
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        values = array.to_pandas()  # object dtype, None for nulls (pyarrow's fast path)
        return values if kind is ColumnType.TEXT else _convert_text(values, kind)
    values = pd.Series(array.to_pylist(), dtype=object)
    if own is not ColumnType.TEXT or any(
        isinstance(v, bytes | list | dict) for v in values.head(1000)
    ):
        values = values.map(lambda v: v if v is None else _text(v)).astype(object)
    return _convert_text(values, kind)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _is_bool_object(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series.dtype):
        return True
    if series.dtype != object:
        return False
    present = series.dropna()
    return bool(len(present)) and bool(present.map(lambda v: isinstance(v, bool)).all())


def _check_width(path: Path, fmt: str) -> None:
    """Refuse a file of more than MAX_COLUMNS columns, reading only its header (bounded)."""
    try:
        if fmt == "parquet":
            width = len(pq.ParquetFile(path).schema_arrow.names)
        else:
            with path.open("rb") as handle:
                line = handle.readline(MAX_HEADER_BYTES + 1)
            if len(line) > MAX_HEADER_BYTES:
                raise TableError(f"{path}: the header line is longer than {MAX_HEADER_BYTES} bytes")
            text = line.decode("utf-8", errors="replace")
            width = len(next(csv.reader([text]), []))
    except TableError:
        raise
    except (OSError, ValueError, csv.Error, pa.ArrowException) as exc:
        raise TableError(f"{path}: cannot read: {_one_line(exc)}") from exc
    if width > MAX_COLUMNS:
        raise TableError(f"{path}: has {width} columns, more than the limit of {MAX_COLUMNS}")


def _check_field_counts(path: Path, header: Sequence[str], *, head_only: bool = False) -> None:
    """Refuse a CSV file with a row of more or fewer fields than its header.

    pandas' parser fills a short row's missing fields as if they were empty and says
    nothing (no option of `read_csv` tells the two apart), which would count a damaged row
    as data with missing values. pyarrow's CSV parser checks every row's field count: one
    streaming pass converting a single column (as bytes) before the read, about a fifth of
    the read's time (2M rows x 10 columns, 322 MB: 0.6 s against 2.7 s).
    """
    invalid: list[pacsv.InvalidRow] = []

    def refuse(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "error"

    try:
        reader = pacsv.open_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=refuse),
            convert_options=pacsv.ConvertOptions(
                include_columns=[header[0]], column_types={header[0]: pa.binary()}
            ),
        )
        for _ in reader:
            if head_only:
                break
    except pa.ArrowInvalid as exc:
        if not invalid and _one_line_file(path):
            return  # only a header without a line break: no row to check (an empty window)
        if not invalid:
            raise TableError(f"{path}: cannot read: {_one_line(exc)}") from exc
        row = invalid[0]
        text = row.text if len(row.text) <= 80 else row.text[:77] + "..."
        raise TableError(
            f"{path}: a row has {row.actual_columns} field(s) where the header has "
            f"{row.expected_columns}: {text!r}"
        ) from None


def _one_line_file(path: Path) -> bool:
    """Whether the file holds at most one line (pyarrow's CSV reader refuses a header that
    ends without a line break as "Empty CSV file or block"; pandas reads it as no rows)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
        more = handle.read(1)
    return not more and b"\n" not in head.rstrip(b"\r\n") and b"\r" not in head.rstrip(b"\r\n")


def _check_unique(path: Path, names: Sequence[str]) -> None:
    """Refuse a header naming a column twice (pandas renames the second `a` to `a.1`)."""
    header = names
    mangled = re.compile(r"^(.*)\.\d+$")
    known = set(names)
    if table_format(path) == "csv" and any(
        (m := mangled.match(n)) is not None and m.group(1) in known for n in names
    ):
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            header = next(csv.reader(handle), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise TableError(f"{path}: column {name[:60]!r} is named twice in the header")
        seen.add(name)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise TableError(f"{path}: no such file")
    if not path.is_file():
        raise TableError(f"{path}: not a file")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

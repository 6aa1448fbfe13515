"""Data sources: read a monitor's baseline and current windows from where the data lives.

`SqlSource` (PostgreSQL or any SQLAlchemy URL) and `FileSource` (Parquet/CSV) share one
interface (`Source`): `iter_chunks` streams pandas frames of bounded size, `read` returns the
whole window with each column's kind, or `InsufficientData` when it has too few rows.
Independent of `driftwarden.detectors.storage` (import-linter enforces it).
"""

from driftwarden.detectors.kinds import infer_kind
from driftwarden.detectors.sources.base import (
    DEFAULT_CHUNK_ROWS,
    FilterValue,
    InsufficientData,
    Source,
    TimeWindow,
    WindowData,
    validate_identifier,
)
from driftwarden.detectors.sources.errors import (
    AuthenticationFailedError,
    ColumnNotFoundError,
    EmptyWindowError,
    InvalidNameError,
    QueryTimeoutError,
    SourceError,
    SourceUnreachableError,
    TableNotFoundError,
    TimestampTypeError,
)
from driftwarden.detectors.sources.files import FileSource
from driftwarden.detectors.sources.sql import SqlSource

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "AuthenticationFailedError",
    "ColumnNotFoundError",
    "EmptyWindowError",
    "FileSource",
    "FilterValue",
    "InsufficientData",
    "InvalidNameError",
    "QueryTimeoutError",
    "Source",
    "SourceError",
    "SourceUnreachableError",
    "SqlSource",
    "TableNotFoundError",
    "TimeWindow",
    "TimestampTypeError",
    "WindowData",
    "infer_kind",
    "validate_identifier",
]

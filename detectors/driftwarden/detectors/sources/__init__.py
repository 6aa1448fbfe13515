"""Data sources: read a monitor's baseline and current windows from where the data lives.

`SqlSource` (PostgreSQL or any SQLAlchemy URL) and `FileSource` (Parquet/CSV) share one
interface (`Source`): `iter_chunks` streams pandas frames of bounded size and
`iter_profile_chunks` the same rows as Arrow where the reader reads Arrow (what the Job
profiles). A window without rows streams no chunk (the Job records InsufficientData).
Independent of `driftwarden.detectors.storage` (import-linter enforces it).
"""

from driftwarden.detectors.kinds import infer_kind
from driftwarden.detectors.sources.base import (
    DEFAULT_CHUNK_ROWS,
    FilterValue,
    Source,
    TimeWindow,
    validate_identifier,
)
from driftwarden.detectors.sources.errors import (
    AuthenticationFailedError,
    ColumnNotFoundError,
    InvalidNameError,
    InvalidSourceUrlError,
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
    "FileSource",
    "FilterValue",
    "InvalidNameError",
    "InvalidSourceUrlError",
    "QueryTimeoutError",
    "Source",
    "SourceError",
    "SourceUnreachableError",
    "SqlSource",
    "TableNotFoundError",
    "TimeWindow",
    "TimestampTypeError",
    "infer_kind",
    "validate_identifier",
]

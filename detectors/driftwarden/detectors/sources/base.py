"""The source interface: read a time window of some columns, in chunks or whole.

Both implementations (SQL, files) yield pandas DataFrames per chunk, so memory is bounded by
the chunk size (`iter_profile_chunks` yields the same chunks as Arrow, for the profiles);
`read` concatenates them for callers that want the whole window, and attaches each column's
kind (declared, else inferred from the dtype).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

import pandas as pd

from driftwarden.detectors.chunks import SOURCE_CHUNK_ROWS
from driftwarden.detectors.config import WindowSpec
from driftwarden.detectors.sources.errors import InvalidNameError

if TYPE_CHECKING:
    from driftwarden.detectors.profile import Chunk

DEFAULT_CHUNK_ROWS = SOURCE_CHUNK_ROWS

# Equality filters: column -> value (None means IS NULL).
FilterValue = str | int | float | bool | None

#: PostgreSQL's longest identifier (NAMEDATALEN - 1 bytes); a longer one is truncated.
MAX_IDENTIFIER_BYTES = 63


def validate_identifier(name: str, what: str) -> str:
    """Return `name` when PostgreSQL accepts it as a quoted identifier (non-empty, at most
    63 bytes in UTF-8, no NUL), else raise InvalidNameError.

    Any such name is safe: the query is built from SQLAlchemy constructs, whose dialect
    quotes every name (`"Region Name"`, `"select"`, `"a""b"`), and nothing the user wrote
    is pasted into SQL. Stricter rules (the table's name) are the ModelMonitor schema's."""
    if (
        not isinstance(name, str)
        or not name
        or "\x00" in name
        or len(name.encode("utf-8", "surrogatepass")) > MAX_IDENTIFIER_BYTES
    ):
        raise InvalidNameError(what, str(name))
    return name


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """[start, end), timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.start >= self.end:
            raise ValueError(
                f"window start {self.start.isoformat()} must be before end {self.end.isoformat()}"
            )

    @classmethod
    def from_spec(cls, spec: WindowSpec, run_time: datetime) -> TimeWindow:
        start, end = spec.resolve(run_time)
        return cls(start=start, end=end)

    def utc(self) -> tuple[datetime, datetime]:
        return self.start.astimezone(UTC), self.end.astimezone(UTC)

    def naive_utc(self) -> tuple[datetime, datetime]:
        """Bounds for timestamp columns without a time zone (which are read as UTC)."""
        start, end = self.utc()
        return start.replace(tzinfo=None), end.replace(tzinfo=None)


class Source(ABC):
    """Where a monitor's data lives. Subclasses stream a window's rows in chunks."""

    timestamp_column: str

    @abstractmethod
    def describe(self) -> str:
        """The source for messages (no credentials)."""

    @abstractmethod
    def iter_chunks(
        self, window: TimeWindow, columns: Sequence[str], *, chunk_rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """Yield non-empty frames of at most `chunk_rows` rows with exactly `columns`,
        for rows whose timestamp is in [window.start, window.end). Validates names and
        types before reading anything."""

    def iter_profile_chunks(
        self, window: TimeWindow, columns: Sequence[str], *, chunk_rows: int | None = None
    ) -> Iterator[Chunk]:
        """The chunks of `iter_chunks` for profiling: as Arrow (`profile.ArrowChunk`, whose
        numeric and text columns are profiled without a pandas frame) where the reader
        reads Arrow, else the same frames. The same rows, the same chunk boundaries."""
        yield from self.iter_chunks(window, columns, chunk_rows=chunk_rows)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; nothing to do by default."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

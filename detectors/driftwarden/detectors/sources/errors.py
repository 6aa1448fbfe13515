"""Distinct, named errors of the data sources (each message names the problem)."""

from __future__ import annotations

from collections.abc import Sequence

from driftwarden.detectors.errors import DriftwardenError, InputError, TransientError
from driftwarden.detectors.hints import hint


class SourceError(DriftwardenError):
    """Base of every data-source error; messages never contain credentials."""


class SourceUnreachableError(SourceError, TransientError):
    """The database cannot be reached, or the files do not exist."""


class AuthenticationFailedError(SourceError, InputError):
    """The source refused the credentials (wrong user or password): fix the Secret."""


class InvalidNameError(SourceError, InputError, ValueError):
    """A table, column or filter name PostgreSQL cannot take as an identifier (refused
    before any SQL)."""

    def __init__(self, what: str, name: str) -> None:
        self.what, self.name = what, name
        super().__init__(
            f"invalid {what} name {name[:80]!r}: expected 1 to 63 bytes in UTF-8 and no NUL "
            "character (PostgreSQL's identifiers)"
        )


class InvalidSourceUrlError(SourceError, InputError):
    """The source's URL does not parse (the message never shows it: it may hold a password)."""


class TableNotFoundError(SourceError, InputError):
    def __init__(self, table: str, source: str) -> None:
        self.table = table
        super().__init__(f"table or view {table!r} not found in {source}")


class ColumnNotFoundError(SourceError, InputError):
    """With the source's `available` columns, the message names the closest to the first
    missing one (a misspelt feature in a monitor's spec)."""

    def __init__(self, columns: Sequence[str], where: str, available: Sequence[str] = ()) -> None:
        self.columns = tuple(columns)
        names = ", ".join(repr(c) for c in columns)
        suffix = hint(columns[0], available) if columns and available else ""
        super().__init__(f"column(s) {names} not found in {where}{suffix}")


class TimestampTypeError(SourceError, InputError):
    def __init__(self, column: str, actual: str, where: str) -> None:
        self.column, self.actual = column, actual
        super().__init__(
            f"timestamp column {column!r} of {where} has type {actual}, "
            "expected a timestamp or date"
        )


class QueryTimeoutError(SourceError, TransientError):
    """The source query ran longer than the statement timeout."""

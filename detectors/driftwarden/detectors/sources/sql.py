"""PostgreSQL (or any SQLAlchemy URL) table or view as a data source.

Names (schema, table, timestamp, columns, filters) come from users. Each must be a name
PostgreSQL takes as a quoted identifier (1 to 63 bytes, no NUL) and must exist in the
reflected table; the query is then built from
SQLAlchemy constructs, which quote every name as an identifier, and filter values are bound
parameters. No user string is ever pasted into SQL.

On PostgreSQL the read runs in a READ ONLY transaction with a statement timeout and the
session time zone set to UTC (timestamps without a time zone are taken as UTC). The default
reader (`reader="arrow"`) streams the rows as Arrow record batches through the ADBC
PostgreSQL driver (binary COPY parsed in C++, no Python object per value) and re-slices them
into frames of `chunk_rows` rows; COPY takes no parameters, so the window bounds and filter
values travel as bound parameters of a `set_config` call and the query reads them back with
`current_setting`, cast to the column's type: the query text holds quoted identifiers and
our own setting names only. `reader="rows"` is the earlier server-side cursor (psycopg2),
kept for other dialects and as the benchmark's baseline.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from driftwarden.detectors.profile import ArrowChunk, Chunk
from driftwarden.detectors.readahead import prefetched
from driftwarden.detectors.redaction import INVALID_URL, describe_error, mask_url, parse_url
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

_QUERY_CANCELED = "57014"  # PostgreSQL SQLSTATE query_canceled (statement_timeout)
# SQLSTATE 28P01 invalid_password / 28000 invalid_authorization_specification; libpq reports
# them at connect time as text only, so the server's wording is matched as well.
_AUTH_CODES = ("28P01", "28000")
_AUTH_TEXT = ("password authentication failed", "no password supplied")
_FETCH_ROWS = 10_000  # rows per round trip of the server-side cursor
#: The PostgreSQL dialect with ADBC's parameter style, which leaves `%` in names as it is.
_ADBC_DIALECT = PGDialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


class SqlSource(Source):
    """Rows of `table` (optionally `schema.table`) with `timestamp_column` in the window."""

    def __init__(
        self,
        url: str | URL | Engine,
        table: str,
        timestamp_column: str,
        *,
        filters: Mapping[str, FilterValue] | None = None,
        statement_timeout: timedelta = timedelta(minutes=10),
        connect_timeout_s: int = 10,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        reader: Literal["arrow", "rows"] = "arrow",
    ) -> None:
        parts = table.split(".") if isinstance(table, str) else [table]
        if len(parts) > 2:  # dots beyond schema.table
            raise InvalidNameError("table", str(table))
        self.schema = validate_identifier(parts[0], "schema") if len(parts) == 2 else None
        self.table = validate_identifier(parts[-1], "table")
        self.timestamp_column = validate_identifier(timestamp_column, "timestamp column")
        self.filters = {
            validate_identifier(name, "filter column"): value
            for name, value in (filters or {}).items()
        }
        if statement_timeout <= timedelta():
            raise ValueError("statement_timeout must be positive")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
        if reader not in ("arrow", "rows"):
            raise ValueError(f"reader must be arrow or rows, got {reader!r}")
        self.statement_timeout = statement_timeout
        self.chunk_rows = chunk_rows
        self.reader = reader
        self._connect_timeout_s = connect_timeout_s
        if isinstance(url, Engine):
            self._engine, self._owns_engine = url, False
        else:
            try:
                parsed = parse_url(url) if isinstance(url, str) else url
            except ValueError:
                raise InvalidSourceUrlError(INVALID_URL) from None
            connect_args: dict[str, Any] = {}
            if parsed.get_backend_name() == "postgresql":
                connect_args["connect_timeout"] = connect_timeout_s
            self._engine = sa.create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
            self._owns_engine = True
        self._columns: dict[str, sa.types.TypeEngine[Any]] | None = None

    def describe(self) -> str:
        name = f"{self.schema}.{self.table}" if self.schema else self.table
        return f"table {name} at {mask_url(self._engine.url)}"

    def close(self) -> None:
        if self._owns_engine:
            self._engine.dispose()

    # -- reflection ------------------------------------------------------------------------

    def _connect(self) -> Connection:
        try:
            return self._engine.connect()
        except exc.DBAPIError as error:
            message = describe_error(error, self._engine.url)
            code = getattr(error.orig, "pgcode", None)
            if code in _AUTH_CODES or any(text in message for text in _AUTH_TEXT):
                raise AuthenticationFailedError(
                    f"{mask_url(self._engine.url)} refused the credentials: {message}"
                ) from None
            raise SourceUnreachableError(
                f"cannot connect to {mask_url(self._engine.url)}: {message}"
            ) from None

    def columns(self) -> dict[str, sa.types.TypeEngine[Any]]:
        """The table's columns and their reflected types (cached)."""
        if self._columns is None:
            with self._connect() as conn:
                try:
                    reflected = sa.inspect(conn).get_columns(self.table, schema=self.schema)
                except exc.NoSuchTableError:
                    name = f"{self.schema}.{self.table}" if self.schema else self.table
                    raise TableNotFoundError(name, mask_url(self._engine.url)) from None
                except exc.DBAPIError as error:
                    raise SourceError(
                        f"cannot inspect {self.describe()}: "
                        f"{describe_error(error, self._engine.url)}"
                    ) from None
            if not reflected:  # some dialects return [] instead of raising
                name = f"{self.schema}.{self.table}" if self.schema else self.table
                raise TableNotFoundError(name, mask_url(self._engine.url))
            self._columns = {c["name"]: c["type"] for c in reflected}
        return self._columns

    def _query(
        self,
        window: TimeWindow,
        columns: Sequence[str],
        settings: dict[str, str] | None = None,
    ) -> sa.Select[Any]:
        """The window's query. With `settings`, values are not bound parameters: each is
        put into `settings` under a name of ours and read back with `current_setting`."""
        for name in columns:
            validate_identifier(name, "column")
        known = self.columns()
        wanted = list(dict.fromkeys([*columns, self.timestamp_column, *self.filters]))
        missing = [name for name in wanted if name not in known]
        if missing:
            raise ColumnNotFoundError(missing, self.describe(), list(known))
        ts_type = known[self.timestamp_column]
        if not isinstance(ts_type, sa.DateTime | sa.Date):
            raise TimestampTypeError(self.timestamp_column, str(ts_type), self.describe())
        table = sa.table(self.table, *(sa.column(n, known[n]) for n in wanted), schema=self.schema)
        selected: list[sa.ColumnElement[Any]] = []
        for name in columns:
            column = table.c[name]
            kind = known[name]
            # Exact NUMERIC/DECIMAL would arrive as Python Decimals: convert on the server.
            if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
                selected.append(sa.cast(column, sa.Float()).label(name))
            else:
                selected.append(column)
        aware = isinstance(ts_type, sa.DateTime) and bool(ts_type.timezone)
        start, end = window.utc() if aware else window.naive_utc()
        ts = table.c[self.timestamp_column]

        def value(index: int, raw: Any, kind: sa.types.TypeEngine[Any]) -> Any:
            if settings is None:
                return raw
            key = f"driftwarden.p{index}"
            settings[key] = _setting_text(raw)
            return sa.cast(sa.func.current_setting(sa.literal_column(f"'{key}'")), kind)

        bound = sa.DateTime(timezone=aware)
        query: sa.Select[Any] = sa.select(*selected).where(
            ts >= value(0, start, bound), ts < value(1, end, bound)
        )
        for index, (name, raw) in enumerate(self.filters.items(), start=2):
            column = table.c[name]
            query = query.where(
                column.is_(None) if raw is None else column == value(index, raw, known[name])
            )
        return query

    # -- reading ---------------------------------------------------------------------------

    def iter_chunks(
        self, window: TimeWindow, columns: Sequence[str], *, chunk_rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        size = chunk_rows or self.chunk_rows
        if size < 1:
            raise ValueError(f"chunk_rows must be positive, got {size}")
        names = list(dict.fromkeys(columns))
        if self.reader == "arrow" and self._engine.dialect.name == "postgresql":
            for table in self._arrow_chunks(window, names, size):
                yield table.to_pandas()
            return
        query = self._query(window, names)
        with self._connect() as conn:
            try:
                with conn.begin():
                    self._guard(conn)
                    if conn.dialect.driver == "psycopg2":
                        yield from _psycopg2_chunks(conn, query, names, size)
                    else:
                        # A server-side cursor where the driver has one, `size` rows a time.
                        result = conn.execute(query.execution_options(yield_per=size))
                        for part in result.partitions(size):
                            yield pd.DataFrame.from_records(
                                [tuple(row) for row in part], columns=names, nrows=len(part)
                            )
            except (exc.DBAPIError, conn.dialect.loaded_dbapi.Error) as error:
                original = getattr(error, "orig", error)
                code = getattr(original, "pgcode", None)
                if code == _QUERY_CANCELED:
                    raise QueryTimeoutError(
                        f"reading {self.describe()} exceeded the statement timeout of "
                        f"{self.statement_timeout}"
                    ) from None
                if getattr(error, "connection_invalidated", False) or conn.invalidated:
                    raise SourceUnreachableError(
                        f"lost the connection to {mask_url(self._engine.url)}: "
                        f"{describe_error(error, self._engine.url)}"
                    ) from None
                raise SourceError(
                    f"reading {self.describe()} failed: {describe_error(error, self._engine.url)}"
                ) from None
            finally:
                if conn.dialect.name == "sqlite" and not conn.closed:
                    conn.exec_driver_sql("PRAGMA query_only = OFF")

    def iter_profile_chunks(
        self, window: TimeWindow, columns: Sequence[str], *, chunk_rows: int | None = None
    ) -> Iterator[Chunk]:
        """The Arrow reader's chunks as Arrow, for the profiles (no pandas frame), read in
        a thread one chunk ahead of the profiling (`readahead.prefetched`)."""
        size = chunk_rows or self.chunk_rows
        if size < 1:
            raise ValueError(f"chunk_rows must be positive, got {size}")
        if self.reader == "arrow" and self._engine.dialect.name == "postgresql":
            names = list(dict.fromkeys(columns))
            # Names and types are checked here, before the reading thread starts.
            self._query(window, names)
            for table in prefetched(self._arrow_chunks(window, names, size)):
                yield ArrowChunk.of(table)
            return
        yield from self.iter_chunks(window, columns, chunk_rows=size)

    def _guard(self, conn: Connection) -> None:
        """Read-only, bounded in time, UTC (PostgreSQL); read-only (SQLite)."""
        dialect = conn.dialect.name
        if dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            milliseconds = int(self.statement_timeout.total_seconds() * 1000)
            set_config = sa.func.set_config
            conn.execute(sa.select(set_config("statement_timeout", str(milliseconds), True)))
            conn.execute(sa.select(set_config("TimeZone", "UTC", True)))
        elif dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")

    def _arrow_chunks(self, window: TimeWindow, names: list[str], size: int) -> Iterator[pa.Table]:
        """Stream through the ADBC PostgreSQL driver as Arrow, `size` rows per table."""
        settings: dict[str, str] = {}
        query = self._query(window, names, settings)
        # Every value is in `settings`; what is left to render are identifiers (quoted by the
        # dialect) and our own setting names. Rendered for ADBC's `$n` parameters: psycopg2's
        # `%(name)s` style would double a `%` in a name (`"50%% share"`, another column).
        text = str(query.compile(dialect=_ADBC_DIALECT, compile_kwargs={"literal_binds": True}))
        milliseconds = int(self.statement_timeout.total_seconds() * 1000)
        settings = {"statement_timeout": str(milliseconds), "TimeZone": "UTC", **settings}
        url = self._engine.url.set(drivername="postgresql").update_query_dict(
            {"connect_timeout": str(self._connect_timeout_s)}
        )
        try:
            connection = adbc.connect(url.render_as_string(hide_password=False))
        except adbc_driver_manager.Error as error:
            raise self._connect_error(error) from None
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                keys = list(settings)
                calls = ", ".join(
                    f"set_config(${2 * i + 1}, ${2 * i + 2}, true)" for i in range(len(keys))
                )
                cursor.execute(
                    f"SELECT {calls}",
                    parameters=tuple(x for key in keys for x in (key, settings[key])),
                )
                cursor.fetchall()
                cursor.execute(text)
                pending: list[pa.RecordBatch] = []
                held = 0
                for batch in cursor.fetch_record_batch():
                    while batch.num_rows:
                        take = min(size - held, batch.num_rows)
                        pending.append(batch.slice(0, take))
                        batch = batch.slice(take)
                        held += take
                        if held == size:
                            yield _table(pending, names)
                            pending, held = [], 0
                if pending:
                    yield _table(pending, names)
        except (adbc_driver_manager.Error, pa.ArrowException, OSError) as error:
            # Errors while the batches stream arrive as Arrow errors without a SQLSTATE.
            text = str(error)
            canceled = "canceling statement due to statement timeout" in text
            if getattr(error, "sqlstate", None) == _QUERY_CANCELED or canceled:
                raise QueryTimeoutError(
                    f"reading {self.describe()} exceeded the statement timeout of "
                    f"{self.statement_timeout}"
                ) from None
            raise SourceError(
                f"reading {self.describe()} failed: {describe_error(error, self._engine.url)}"
            ) from None
        finally:
            try:
                connection.rollback()  # read only: nothing to keep
            finally:
                connection.close()

    def _connect_error(self, error: BaseException) -> SourceError:
        message = describe_error(error, self._engine.url)
        if any(text in message for text in _AUTH_TEXT):
            return AuthenticationFailedError(
                f"{mask_url(self._engine.url)} refused the credentials: {message}"
            )
        return SourceUnreachableError(f"cannot connect to {mask_url(self._engine.url)}: {message}")


def _setting_text(value: Any) -> str:
    """A bound value as `set_config` text, which the query casts back to the column's type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _table(batches: list[pa.RecordBatch], names: list[str]) -> pa.Table:
    return pa.Table.from_batches(batches).rename_columns(names)


def _psycopg2_chunks(
    conn: Connection, query: sa.Select[Any], names: list[str], size: int
) -> Iterator[pd.DataFrame]:
    """Stream through a psycopg2 named (server-side) cursor, `size` rows per round trip.

    The statement is compiled by SQLAlchemy (identifiers quoted) and its values are passed
    to the driver as parameters, exactly as `Connection.execute` would; the rows arrive as
    plain tuples, which pandas turns into columns much faster than SQLAlchemy rows.
    """
    compiled = query.compile(dialect=conn.dialect)
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is None:  # pragma: no cover - an open Connection always has one
        raise SourceError("the database connection was closed")
    cursor = dbapi_connection.cursor(name="driftwarden_window")
    # Python row tuples cost ~20x the memory of the columns they become, so rows are fetched
    # in small slices, turned into columns at once, and the slices joined into a chunk.
    try:
        cursor.execute(str(compiled), compiled.params)
        pending: list[pd.DataFrame] = []
        held = 0
        while rows := cursor.fetchmany(min(_FETCH_ROWS, size - held)):
            pending.append(pd.DataFrame.from_records(rows, columns=names, nrows=len(rows)))
            held += len(rows)
            del rows
            if held >= size:
                yield _join(pending)
                pending, held = [], 0
        if pending:
            yield _join(pending)
    finally:
        if not cursor.closed:
            cursor.close()


def _join(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

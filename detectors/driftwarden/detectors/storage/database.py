"""Where the history lives: the database URL from the environment, engines, errors.

The URL comes from `DRIFTWARDEN_DATABASE_URL`, else from the usual libpq variables (`PGHOST`,
`PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`), else — for the local CLI only — a SQLite
file under the user's data directory. Credentials are never printed: every message this
module raises goes through `redact`, and URLs are shown with `mask_url`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url

from driftwarden.detectors.errors import DriftwardenError, InputError, TransientError
from driftwarden.detectors.redaction import describe_error, mask_url, redact

ENV_URL = "DRIFTWARDEN_DATABASE_URL"
ENV_SQLITE_PATH = "DRIFTWARDEN_SQLITE_PATH"
__all__ = [
    "DatabaseConfigError",
    "DatabaseOperationError",
    "DatabaseUnreachableError",
    "StorageError",
    "connection",
    "create_engine",
    "default_sqlite_path",
    "describe_error",
    "mask_url",
    "redact",
    "resolve_database_url",
    "transaction",
]

_PG_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


class StorageError(DriftwardenError):
    """Base of every error the history store raises; messages never contain credentials."""


class DatabaseConfigError(StorageError, InputError):
    """The database URL is missing or malformed."""


class DatabaseUnreachableError(StorageError, TransientError):
    """The database server could not be reached or refused the connection."""


class DatabaseOperationError(StorageError, TransientError):
    """A statement failed on a reachable database (connection lost, lock, constraint)."""


def default_sqlite_path(env: Mapping[str, str] | None = None) -> Path:
    """The embedded database of the local CLI: `$DRIFTWARDEN_SQLITE_PATH`, else
    `$XDG_DATA_HOME/driftwarden/driftwarden.db` (`~/.local/share/...` when unset)."""
    env = os.environ if env is None else env
    if env.get(ENV_SQLITE_PATH):
        return Path(env[ENV_SQLITE_PATH]).expanduser()
    base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "driftwarden" / "driftwarden.db"


def resolve_database_url(
    env: Mapping[str, str] | None = None, *, sqlite_default: bool = True
) -> URL:
    """The history database's URL from the environment.

    `sqlite_default=False` (the operator and detector Jobs) raises DatabaseConfigError when
    nothing is configured instead of falling back to a local SQLite file.
    """
    env = os.environ if env is None else env
    raw = env.get(ENV_URL, "").strip()
    if raw:
        try:
            url = make_url(raw)
        except exc.ArgumentError:
            raise DatabaseConfigError(
                f"{ENV_URL} is not a valid database URL (value not shown); expected e.g. "
                "postgresql://user:password@host:5432/database"
            ) from None
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg2")
        return url
    if any(env.get(name) for name in ("PGHOST", "PGDATABASE")):
        port = env.get("PGPORT")
        if port is not None and not port.isdigit():
            raise DatabaseConfigError(f"PGPORT must be a number, got {port!r}")
        return URL.create(
            "postgresql+psycopg2",
            username=env.get("PGUSER") or None,
            password=env.get("PGPASSWORD") or None,
            host=env.get("PGHOST") or None,
            port=int(port) if port else None,
            database=env.get("PGDATABASE") or None,
        )
    if not sqlite_default:
        raise DatabaseConfigError(
            f"no database configured: set {ENV_URL} or the PG* variables ({', '.join(_PG_VARS)})"
        )
    return URL.create("sqlite+pysqlite", database=str(default_sqlite_path(env)))


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: URL | str | None = None, **kwargs: Any) -> Engine:
    """An engine for the history store (the URL from the environment when None).

    SQLite files get their directory created and foreign keys enforced (cascading deletes
    of a run's rows rely on them).
    """
    if url is None:
        url = resolve_database_url()
    elif isinstance(url, str):
        try:
            url = make_url(url)
        except exc.ArgumentError:
            raise DatabaseConfigError("not a valid database URL (value not shown)") from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_foreign_keys)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


@contextmanager
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose failures surface as StorageError subclasses without secrets."""
    try:
        conn = engine.connect()
    except exc.DBAPIError as error:
        raise DatabaseUnreachableError(
            f"cannot connect to {mask_url(engine.url)}: {describe_error(error, engine.url)}"
        ) from None
    with conn:
        try:
            yield conn
        except exc.DBAPIError as error:
            raise DatabaseOperationError(
                f"database error on {mask_url(engine.url)}: {describe_error(error, engine.url)}"
            ) from None


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    with connection(engine) as conn, conn.begin():
        yield conn

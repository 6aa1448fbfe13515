"""Where the history lives: the database URL from the environment, engines, errors.

The URL comes from `DRIFTWARDEN_DATABASE_URL`, else from the usual libpq variables (`PGHOST`,
`PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`), else — for the local CLI only — a SQLite
file under the user's data directory. Credentials are never printed: every message this
module raises goes through `redact`, and URLs are shown with `mask_url` (both remove
secrets by parsing, see `driftwarden.detectors.redaction`). A URL that does not parse is
refused with "not a valid database URL (value not shown)"; schemes other than
`postgresql://` and `sqlite://` are refused by name.

SQLite connections run in SQLite's own transactions (pysqlite's implicit ones are turned
off): DDL is transactional too, so a schema upgrade that fails or is killed half-way
leaves the database as it was (`storage.migrate`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine

from driftwarden.detectors.errors import DriftwardenError, InputError, TransientError
from driftwarden.detectors.redaction import INVALID_URL, describe_error, mask_url, parse_url, redact

ENV_URL = "DRIFTWARDEN_DATABASE_URL"
#: libpq's messages for a login the server refuses for good (libpq gives no SQLSTATE then).
_REFUSED_LOGIN = re.compile(
    r"password authentication failed|role \"[^\"]*\" does not exist|"
    r"database \"[^\"]*\" does not exist|no pg_hba\.conf entry|"
    r"permission denied for database|not permitted to log in"
)
#: SQLSTATE of "permission denied" and of a row refused by a row-level security policy.
INSUFFICIENT_PRIVILEGE = "42501"
ENV_SQLITE_PATH = "DRIFTWARDEN_SQLITE_PATH"
__all__ = [
    "DatabaseAuthenticationError",
    "DatabaseConfigError",
    "DatabaseOperationError",
    "DatabasePermissionError",
    "DatabaseUnreachableError",
    "StorageError",
    "checked_url",
    "connection",
    "create_engine",
    "database_url_from",
    "default_sqlite_path",
    "describe_error",
    "mask_url",
    "redact",
    "resolve_database_url",
    "sqlite_read_only_url",
    "transaction",
]

_PG_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
_BACKENDS = {"postgresql": "postgresql+psycopg2", "postgres": "postgresql+psycopg2"}
_DRIVERS = {"postgresql+psycopg2", "sqlite", "sqlite+pysqlite"}
#: Seconds a SQLite connection waits for another writer's lock (a concurrent `db upgrade`).
SQLITE_BUSY_TIMEOUT_S = 60.0


class StorageError(DriftwardenError):
    """Base of every error the history store raises; messages never contain credentials."""


class DatabaseConfigError(StorageError, InputError):
    """The database URL is missing or malformed."""


class DatabaseUnreachableError(StorageError, TransientError):
    """The database server could not be reached or refused the connection."""


class DatabasePermissionError(StorageError, InputError):
    """The role may not do this (SQLSTATE 42501: a missing grant, or a row another
    namespace's policy keeps): retrying with the same credentials will not help."""


class DatabaseAuthenticationError(StorageError, InputError):
    """The server refused these credentials or this database (a wrong password, an unknown
    role or database, no pg_hba.conf entry): retrying will not help, the URL must change."""


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
        return database_url_from(raw, ENV_URL)
    if any(env.get(name) for name in ("PGHOST", "PGDATABASE")):
        port = env.get("PGPORT")
        if port is not None and not (port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
            raise DatabaseConfigError(f"PGPORT must be a port number (1-65535), got {port[:20]!r}")
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


SUPPORTED_SCHEMES = "postgresql:// or sqlite://"


def database_url_from(text: str, name: str) -> URL:
    """A user-supplied results-database URL, parsed and checked (`checked_url`).

    `name` says where the text came from (a variable or an option, e.g. `--database-url`):
    every refusal is a DatabaseConfigError (exit 2) that names it and the supported schemes,
    never the value (it may hold a password)."""
    try:
        url = parse_url(text.strip())
    except ValueError:
        raise DatabaseConfigError(
            f"{name} is {INVALID_URL}; expected {SUPPORTED_SCHEMES}, e.g. "
            "postgresql://user:password@host:5432/database"
        ) from None
    try:
        return checked_url(url)
    except DatabaseConfigError as error:
        raise DatabaseConfigError(f"{name}: {error}") from None


def checked_url(url: URL) -> URL:
    """`url` with `postgres://` spelled as SQLAlchemy wants it; DatabaseConfigError for a
    scheme this store does not support or a port out of range (the URL is not shown)."""
    scheme = url.drivername
    url = url.set(drivername=_BACKENDS.get(scheme, scheme))
    if url.drivername not in _DRIVERS:
        shown = scheme if scheme.replace("+", "").replace("_", "").isalnum() else "?"
        raise DatabaseConfigError(
            f"unsupported database URL scheme {shown[:40]!r}: use {SUPPORTED_SCHEMES}"
        )
    if url.port is not None and not 0 < url.port < 65536:
        raise DatabaseConfigError(f"database URL port {url.port} is out of range (1-65535)")
    return url


def _sqlite_connect(foreign_keys: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's implicit transactions commit before DDL; turn them off and let the
        # "begin" listener open SQLite's own (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.close()

    return on_connect


def _sqlite_begin(conn: Connection) -> None:
    # `BEGIN IMMEDIATE` (the migrations) takes the write lock at once, so two upgrades
    # run one after the other instead of failing on a lock upgrade half-way.
    conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


def sqlite_read_only_url(url: URL) -> URL:
    """A SQLite URL that opens its file read-only (SQLite's `mode=ro` URI): nothing is
    created, not even the file."""
    path = Path(url.database or "").expanduser().absolute()
    return URL.create(
        "sqlite+pysqlite",
        database=f"file:{quote(path.as_posix())}",
        query={"mode": "ro", "uri": "true"},
    )


def create_engine(
    url: URL | str | None = None,
    *,
    read_only: bool = False,
    foreign_keys: bool = True,
    **kwargs: Any,
) -> Engine:
    """An engine for the history store (the URL from the environment when None).

    SQLite: foreign keys enforced (cascading deletes of a run's rows rely on them; the
    migrations turn them off and check them at the end, as SQLite advises), transactional
    DDL, a busy timeout for concurrent writers, and the file's directory created — unless
    `read_only`, which opens an existing file read-only and creates nothing.
    """
    if url is None:
        url = resolve_database_url()
    elif isinstance(url, str):
        url = database_url_from(url, "the database URL")
    url = checked_url(url)
    if url.get_backend_name() == "sqlite":
        in_memory = not url.database or url.database == ":memory:"
        uri = str(url.query.get("uri", "")).lower() == "true"
        if read_only and not in_memory and not uri:
            url = sqlite_read_only_url(url)
        elif not in_memory and not uri:
            directory = Path(url.database or "").expanduser().parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseConfigError(
                    f"cannot create the SQLite database's directory {str(directory)[:300]}: "
                    f"{error.strerror or type(error).__name__}"
                ) from None
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_connect(foreign_keys))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


#: SQLite's result codes for a file that is not a database, or a damaged one: the path is
#: wrong, and a retry (exit 3) would only fail again.
_SQLITE_NOT_A_DATABASE = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def _not_a_database(error: exc.DBAPIError, engine: Engine) -> DatabaseConfigError | None:
    if getattr(error.orig, "sqlite_errorcode", None) not in _SQLITE_NOT_A_DATABASE:
        return None
    reason = describe_error(error, engine.url)
    return DatabaseConfigError(
        f"{mask_url(engine.url)} is not a driftwarden database ({reason}); point "
        f"{ENV_SQLITE_PATH} or {ENV_URL} at one (`driftwarden db upgrade` creates one)"
    )


@contextmanager
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose failures surface as StorageError subclasses without secrets."""
    try:
        conn = engine.connect()
    except exc.DBAPIError as error:
        if (wrong := _not_a_database(error, engine)) is not None:
            raise wrong from None
        if _REFUSED_LOGIN.search(str(error.orig)):
            raise DatabaseAuthenticationError(
                f"{mask_url(engine.url)} refused the connection: "
                f"{describe_error(error, engine.url)}"
            ) from None
        raise DatabaseUnreachableError(
            f"cannot connect to {mask_url(engine.url)}: {describe_error(error, engine.url)}"
        ) from None
    with conn:
        try:
            yield conn
        except exc.DBAPIError as error:
            if (wrong := _not_a_database(error, engine)) is not None:
                raise wrong from None
            if getattr(error.orig, "pgcode", None) == INSUFFICIENT_PRIVILEGE:
                raise DatabasePermissionError(
                    f"not permitted on {mask_url(engine.url)}: {describe_error(error, engine.url)}"
                ) from None
            raise DatabaseOperationError(
                f"database error on {mask_url(engine.url)}: {describe_error(error, engine.url)}"
            ) from None


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    with connection(engine) as conn, conn.begin():
        yield conn

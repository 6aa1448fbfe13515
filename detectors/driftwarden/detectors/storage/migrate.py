"""Schema migrations (Alembic, shipped inside the package) and the compatibility check.

`upgrade(engine)` brings a database to the newest schema this version knows, idempotently.
`check_schema_compatible(engine)` is what the operator and the detector Jobs call at start:
a schema newer than this code (a rollback of driftwarden after an upgrade) is refused with a
clear message instead of writing rows the newer schema does not expect.

Adding a migration: change `models.py`, then generate a revision against a database at the
current head and review it (SQLite needs batch operations, which env.py turns on)::

    python -c "from alembic import command; \
      from driftwarden.detectors.storage.database import create_engine; \
      from driftwarden.detectors.storage.migrate import alembic_config; \
      command.revision(alembic_config(create_engine()), 'what changed', \
                       rev_id='0002', autogenerate=True)"

A test compares the models with the migrated schema and fails when they differ.

An upgrade is one transaction on both databases (PostgreSQL and SQLite have transactional
DDL; `storage.database` turns pysqlite's implicit commits off): a migration that fails, or
a process killed half-way, leaves the schema exactly as it was, never tables without a
revision. Concurrent upgrades are serialised: on PostgreSQL by a transaction-scoped
advisory lock taken before Alembic reads the current revision, on SQLite by `BEGIN
IMMEDIATE` (the database's write lock, waited for up to `SQLITE_BUSY_TIMEOUT_S`). The
second upgrade then finds the schema at head and does nothing; both exit 0.

SQLite runs the migrations with foreign keys off (a batch "move and copy" of a parent table
must not cascade) and checks them with `PRAGMA foreign_key_check` before committing.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from driftwarden.detectors.errors import InputError
from driftwarden.detectors.storage.database import (
    StorageError,
    connection,
    create_engine,
    describe_error,
    mask_url,
)

SCRIPT_LOCATION = "driftwarden.detectors.storage:migrations"
#: Key of the PostgreSQL advisory lock that serialises `db upgrade` (any fixed 64-bit
#: number; this one spells "dwmigrat" in ASCII).
MIGRATION_LOCK_KEY = 0x64776D6967726174


class SchemaError(StorageError, InputError):
    """The database schema does not match what this version of driftwarden expects."""


class SchemaMissingError(SchemaError):
    """The database has no driftwarden schema yet."""


class SchemaTooNewError(SchemaError):
    """The database was migrated by a newer driftwarden than this one."""


class SchemaOutdatedError(SchemaError):
    """The database needs `driftwarden db upgrade` before this version can use it."""


class MigrationFailedError(SchemaError):
    """A migration failed on the database's contents (e.g. a table of that name exists
    already); the upgrade was rolled back and the schema is as it was."""


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None  # revision stored in the database (None: no schema)
    head: str  # newest revision this code knows


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic configuration pointing at the migrations inside the installed package."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if engine is not None:
        # Alembic's ini interpolation treats % specially; URLs may contain it.
        config.set_main_option(
            "sqlalchemy.url",
            engine.url.render_as_string(hide_password=False).replace("%", "%%"),
        )
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaError("no migrations shipped with this driftwarden installation")
    return head


def schema_status(engine: Engine) -> SchemaStatus:
    with connection(engine) as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    if len(heads) > 1:
        raise SchemaError(f"database has several schema heads {sorted(heads)}; cannot tell")
    return SchemaStatus(current=heads[0] if heads else None, head=head_revision())


def upgrade(engine: Engine, revision: str = "head") -> SchemaStatus:
    """Apply every pending migration (nothing when up to date) and return the new status.

    Refuses a database whose schema is newer than this code: Alembic would not know how to
    treat it, and a downgrade is never implied.
    """
    status = schema_status(engine)
    if status.current is not None and not _known(status.current):
        raise _too_new(engine, status)
    if status.current == status.head and revision == "head":
        return status
    sqlite = engine.dialect.name == "sqlite"
    # SQLite: a connection of its own, foreign keys off for the batch moves, checked below.
    migrating = create_engine(engine.url, foreign_keys=False) if sqlite else engine
    config = alembic_config(migrating)
    try:
        with connection(migrating) as conn:
            if sqlite:
                conn = conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            try:
                with conn.begin():
                    _lock(conn)
                    config.attributes["connection"] = conn
                    command.upgrade(config, revision)
                    _check_foreign_keys(conn)
            except (exc.ProgrammingError, exc.IntegrityError) as error:
                raise _failed(engine, error) from None
            except exc.OperationalError as error:
                if sqlite and "locked" not in str(error.orig):
                    raise _failed(engine, error) from None
                raise
    finally:
        if migrating is not engine:
            migrating.dispose()
    return schema_status(engine)


def _lock(conn: Connection) -> None:
    """Serialise concurrent upgrades (see the module docstring)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY:d})")


def _check_foreign_keys(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise MigrationFailedError(
            f"schema upgrade rolled back: {len(broken)} row(s) break a foreign key "
            f"(first in table {broken[0][0]})"
        )


def _failed(engine: Engine, error: exc.DBAPIError) -> MigrationFailedError:
    return MigrationFailedError(
        f"schema upgrade of {mask_url(engine.url)} failed and was rolled back, the schema is "
        f"unchanged: {describe_error(error)}"
    )


def check_schema_compatible(engine: Engine) -> SchemaStatus:
    """Raise unless the database schema is exactly the newest one this code knows.

    - no schema: SchemaMissingError (run `driftwarden db upgrade`);
    - a revision this code does not know: SchemaTooNewError (a newer driftwarden migrated it);
    - an older known revision: SchemaOutdatedError (run `driftwarden db upgrade`).
    """
    status = schema_status(engine)
    where = mask_url(engine.url)
    if status.current is None:
        raise SchemaMissingError(
            f"database {where} has no driftwarden schema; run `driftwarden db upgrade` first"
        )
    if not _known(status.current):
        raise _too_new(engine, status)
    if status.current != status.head:
        raise SchemaOutdatedError(
            f"database {where} is at schema revision {status.current}, this driftwarden needs "
            f"{status.head}; run `driftwarden db upgrade`"
        )
    return status


def _known(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    return any(rev.revision == revision for rev in script.walk_revisions())


def _too_new(engine: Engine, status: SchemaStatus) -> SchemaTooNewError:
    return SchemaTooNewError(
        f"database {mask_url(engine.url)} has schema revision {status.current!r}, which this "
        f"driftwarden does not know (newest known: {status.head}); it was migrated by a newer "
        "driftwarden. Refusing to use it: upgrade driftwarden instead of downgrading the schema."
    )

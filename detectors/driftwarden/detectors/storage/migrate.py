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
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from driftwarden.detectors.errors import InputError
from driftwarden.detectors.storage.database import StorageError, connection, mask_url

SCRIPT_LOCATION = "driftwarden.detectors.storage:migrations"


class SchemaError(StorageError, InputError):
    """The database schema does not match what this version of driftwarden expects."""


class SchemaMissingError(SchemaError):
    """The database has no driftwarden schema yet."""


class SchemaTooNewError(SchemaError):
    """The database was migrated by a newer driftwarden than this one."""


class SchemaOutdatedError(SchemaError):
    """The database needs `driftwarden db upgrade` before this version can use it."""


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
    config = alembic_config(engine)
    with connection(engine) as conn, conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return schema_status(engine)


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

"""Alembic environment, run from the installed package (see `storage.migrate`).

The caller hands over an open connection in `config.attributes["connection"]`; the `alembic`
command line can be used too (it builds an engine from `sqlalchemy.url`). SQLite runs in
batch mode so that later migrations may alter tables, and in one transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from driftwarden.detectors.storage.database import create_engine
from driftwarden.detectors.storage.models import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # One transaction for the whole upgrade, on SQLite too (its DDL is transactional
        # once pysqlite's implicit commits are off, see storage.database): a failed or
        # killed upgrade leaves the schema as it was.
        transactional_ddl=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("driftwarden migrations run online only: use `driftwarden db upgrade`")
run_migrations_online()

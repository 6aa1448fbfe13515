"""Fixtures for tests against a real PostgreSQL 15 server started by this test session.

`postgres_server` (session) is the server from `tests/pg.py`; `history` is an engine on a
database migrated to the newest schema, emptied after each test. Other test folders reuse
the server by importing `PostgresServer` from `pg` (see its docstring).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg import PostgresServer
from sqlalchemy.engine import Engine

from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.detectors.storage.models import TABLES


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer.start() as server:
        yield server


@pytest.fixture(scope="session")
def history_url(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database("history")
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def history(history_url: str) -> Iterator[Engine]:
    engine = create_engine(history_url)
    yield engine
    with engine.begin() as conn:
        names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in TABLES)
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")
    engine.dispose()


@pytest.fixture
def scratch_database(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database for tests that need their own schema state."""
    name = "scratch_" + request.node.name.lower().replace("[", "_").replace("]", "")
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)[:60]
    return postgres_server.create_database(name)

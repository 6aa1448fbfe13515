"""Credentials and concurrent upgrades against the real PostgreSQL server (issue 11, 1 and 5).

Every output path of `driftwarden db ...` (stdout, stderr, exit code, the exception's text)
is checked with a secret-bearing URL of each form: the user-info password, `?password=`,
`sslpassword=`, a libpq `options=` that mentions a password, and `PGPASSWORD` (also of one
letter, which must not garble messages); on success and on a failed connection. Two
concurrent `db upgrade` processes both exit 0 and leave one schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

import psycopg2
import pytest
from pg import PostgresServer

from driftwarden.detectors.storage import (
    DatabaseAuthenticationError,
    DatabaseUnreachableError,
    create_engine,
)
from driftwarden.detectors.storage.migrate import check_schema_compatible, head_revision

SECRET = "Tq9-pg-s3cr3t-Lm"
WRONG = "Wr0ng-pg-s3cr3t-Zx"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DRIFTWARDEN_"))}
    return subprocess.run(
        [sys.executable, "-m", "driftwarden.detectors.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def secret_role(postgres_server: PostgresServer) -> str:
    """A role `alice` with password SECRET and `e` with the one-letter password `e`, and
    a database `secrets` they may use."""
    conn = psycopg2.connect(postgres_server.dsn())
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("CREATE ROLE alice LOGIN SUPERUSER PASSWORD %s", (SECRET,))
        cursor.execute("CREATE ROLE e LOGIN SUPERUSER PASSWORD 'e'")
        cursor.execute("CREATE DATABASE secrets OWNER alice")
    conn.close()
    return "secrets"


def _forms(server: PostgresServer, password: str) -> dict[str, dict[str, str]]:
    base = f"postgresql://alice@{server.host}:{server.port}/secrets"
    options = quote("-c application_name=dw -c password=" + password, safe="")
    return {
        "userinfo": {"DRIFTWARDEN_DATABASE_URL": base.replace("alice@", f"alice:{password}@")},
        "query": {"DRIFTWARDEN_DATABASE_URL": f"{base}?password={password}"},
        "sslpassword": {
            "DRIFTWARDEN_DATABASE_URL": f"{base}?password={password}&sslpassword={password}"
        },
        "pgpassword": {
            "PGHOST": server.host,
            "PGPORT": str(server.port),
            "PGUSER": "alice",
            "PGDATABASE": "secrets",
            "PGPASSWORD": password,
        },
        "options": {"DRIFTWARDEN_DATABASE_URL": f"{base}?password={password}&options={options}"},
    }


@pytest.mark.parametrize("form", ["userinfo", "query", "sslpassword", "pgpassword"])
def test_success_lines_never_show_the_password(
    postgres_server: PostgresServer, secret_role: str, form: str
) -> None:
    env = _forms(postgres_server, SECRET)[form]
    for command in (["db", "upgrade"], ["db", "check"], ["db", "retention", "--dry-run"]):
        result = _run(env, *command)
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
        assert "alice" in result.stdout
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("form", ["userinfo", "query", "sslpassword", "pgpassword", "options"])
def test_connection_errors_never_show_the_password(
    postgres_server: PostgresServer, secret_role: str, form: str
) -> None:
    # A wrong password (and, for `options`, a setting the server refuses): exit 3, one line.
    env = _forms(postgres_server, WRONG)[form]
    result = _run(env, "db", "check")
    assert result.returncode in (2, 3), result.stderr
    assert WRONG not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # The exception's own text, in-process.
    url = env.get("DRIFTWARDEN_DATABASE_URL")
    if url is not None:
        engine = create_engine(url)
        with pytest.raises((DatabaseUnreachableError, DatabaseAuthenticationError)) as error:
            check_schema_compatible(engine)
        engine.dispose()
        assert WRONG not in str(error.value)
        assert WRONG not in repr(error.value.args)


def test_a_one_letter_pgpassword_neither_leaks_nor_garbles(
    postgres_server: PostgresServer, secret_role: str
) -> None:
    env = {
        "PGHOST": postgres_server.host,
        "PGPORT": str(postgres_server.port),
        "PGUSER": "e",
        "PGDATABASE": "secrets",
        "PGPASSWORD": "e",
    }
    assert _run(env, "db", "upgrade").returncode == 0
    result = _run(env, "db", "check")
    assert result.returncode == 0, result.stderr
    expected = (
        f"database postgresql+psycopg2://e:***@{postgres_server.host}:{postgres_server.port}"
        f"/secrets schema revision {head_revision()}: compatible"
    )
    assert result.stdout.strip() == expected
    wrong = _run({**env, "PGUSER": "nobody_here"}, "db", "check")
    assert wrong.returncode == 2  # an unknown role: the URL must change, no retry
    assert "***" not in wrong.stderr.replace("nobody_here:***@", "")  # nothing else masked
    assert 'role "nobody_here" does not exist' in wrong.stderr or "authentication" in wrong.stderr


def test_two_concurrent_upgrades_both_succeed(postgres_server: PostgresServer) -> None:
    for attempt in range(3):
        url = postgres_server.create_database(f"concurrent_{attempt}")
        env = {"DRIFTWARDEN_DATABASE_URL": url}
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DRIFTWARDEN_"))}
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "driftwarden.detectors.cli", "db", "upgrade"],
                env={**clean, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        engine = create_engine(url)
        assert check_schema_compatible(engine).current == head_revision()
        engine.dispose()


def test_db_check_on_a_read_only_url_stays_read_only(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("read_only_check")
    read_only = url + "?options=" + quote("-c default_transaction_read_only=on", safe="")
    fresh = _run({"DRIFTWARDEN_DATABASE_URL": read_only}, "db", "check")
    assert fresh.returncode == 2  # no schema yet, and none created by looking
    assert "db upgrade" in fresh.stderr
    refused = _run({"DRIFTWARDEN_DATABASE_URL": read_only}, "db", "upgrade")
    assert refused.returncode in (2, 3)
    assert "Traceback" not in refused.stderr
    assert _run({"DRIFTWARDEN_DATABASE_URL": url}, "db", "upgrade").returncode == 0
    assert _run({"DRIFTWARDEN_DATABASE_URL": read_only}, "db", "check").returncode == 0

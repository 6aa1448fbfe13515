"""Storage that cannot be wedged, and URLs whose secrets never show (issue 11, 1, 4 and 5).

SQLite: a migration killed at every statement leaves either the old schema or the new one,
never tables without a revision; a pre-existing table makes the upgrade fail and roll back;
two concurrent upgrades both succeed; `db check` creates nothing and a read-only URL stays
read-only. The PostgreSQL counterparts live in tests/integration/test_untrusted_postgres.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from driftwarden.detectors.redaction import mask_url, redact
from driftwarden.detectors.storage import (
    DatabaseConfigError,
    check_schema_compatible,
    create_engine,
    resolve_database_url,
    upgrade,
)
from driftwarden.detectors.storage.cli import add_db_subcommands
from driftwarden.detectors.storage.migrate import MigrationFailedError, head_revision

SECRET = "Zq7-s3cr3t-Wx"


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="driftwarden")
    add_db_subcommands(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {name for (name,) in rows}


def _in_child(work: Callable[[], None]) -> int:
    """Run `work` in a forked process; its exit status (negative: killed by that signal)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            work()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


# --- URLs and their secrets -----------------------------------------------------------------

SECRET_URLS = [
    f"postgresql://alice:{SECRET}@db:5432/x",
    f"postgresql://alice@db:5432/x?password={SECRET}",
    f"postgresql://alice@db:5432/x?sslmode=require&sslpassword={SECRET}",
    f"postgresql://alice@db:5432/x?options=-c%20password%3D{SECRET}",
    f"postgresql://alice@db:5432/x?options=-cpassword%3D{SECRET}",
    f"postgresql://alice@db:5432/x?PassWord={SECRET}&password={SECRET}",
    f"postgres://alice:{SECRET}@db/x?password={SECRET}",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_mask_url_removes_every_secret_by_parsing(url: str) -> None:
    shown = mask_url(url)
    assert SECRET not in shown
    assert "alice" in shown
    assert "db" in shown
    assert "***" in shown


@pytest.mark.parametrize("url", SECRET_URLS)
def test_redact_finds_urls_in_free_text(url: str) -> None:
    text = f'could not use "{url}", giving up; dsn host=db password={SECRET} port=5'
    cleaned = redact(text)
    assert SECRET not in cleaned
    assert cleaned.startswith('could not use "')
    assert cleaned.endswith(" port=5")


def test_a_short_password_does_not_garble_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "e")
    message = "connection refused: is the server running here?"
    assert redact(message) == message
    url = resolve_database_url({"PGHOST": "db", "PGPASSWORD": "e", "PGUSER": "alice"})
    assert mask_url(url) == "postgresql+psycopg2://alice:***@db"


@pytest.mark.parametrize(
    "raw",
    [
        f"::not a url {SECRET}@",
        f"postgresql://alice:{SECRET}@db:notaport/x",
        f"postgresql://alice:{SECRET}@[::1/x",
        f"{SECRET}",
    ],
)
def test_an_unparseable_url_is_refused_without_showing_it(raw: str) -> None:
    with pytest.raises(DatabaseConfigError) as error:
        resolve_database_url({"DRIFTWARDEN_DATABASE_URL": raw})
    assert "not a valid database URL (value not shown)" in str(error.value)
    assert SECRET not in str(error.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"mysql://alice:{SECRET}@db/x", "unsupported database URL scheme 'mysql'"),
        (f"oracle+cx://alice:{SECRET}@db/x", "unsupported database URL scheme"),
        (f"postgresql://alice:{SECRET}@db:99999/x", "port 99999 is out of range"),
    ],
)
def test_unknown_schemes_and_ports_are_input_errors(raw: str, expected: str) -> None:
    with pytest.raises(DatabaseConfigError, match=expected) as error:
        resolve_database_url({"DRIFTWARDEN_DATABASE_URL": raw})
    assert SECRET not in str(error.value)


def test_a_sqlite_path_under_a_file_is_an_input_error(tmp_path: Path) -> None:
    afile = tmp_path / "plain"
    afile.write_text("x")
    with pytest.raises(DatabaseConfigError, match="cannot create the SQLite database's dir"):
        create_engine(f"sqlite:///{afile}/sub/db.sqlite")


@pytest.mark.parametrize(
    "argv",
    [
        ["--keep-runs", "9999999999d"],
        ["--keep-runs", "0s"],
        ["--keep-feature-rows", "1" * 5000 + "d"],
        ["--keep-resolved-alerts", "36526d"],
        ["--keep-runs", "-1d"],
    ],
)
def test_retention_durations_are_bounded(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        _cli(["db", "retention", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()[-1]) < 300


# --- migrations -----------------------------------------------------------------------------


def test_a_pre_existing_table_rolls_the_whole_upgrade_back(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alerts (x INTEGER)")  # not the first table 0001 creates
    engine = create_engine(f"sqlite:///{path}")
    with pytest.raises(MigrationFailedError, match="rolled back") as error:
        upgrade(engine)
    assert error.value.exit_code == 2
    assert _tables(path) == {"alerts"}  # nothing else, no alembic_version
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE alerts")
    assert upgrade(engine).current == head_revision()
    engine.dispose()


def test_an_upgrade_killed_at_any_statement_leaves_a_usable_database(tmp_path: Path) -> None:
    """The child process is SIGKILLed just before its n-th SQL statement, for every n
    until an upgrade completes; each time, a fresh upgrade must then succeed."""
    completed = False
    kills: list[int] = []
    step = 0
    while not completed:
        step += 1
        assert step < 1000, "the upgrade never completed"
        path = tmp_path / f"h{step}.db"

        def killed_at(n: int = step, path: Path = path) -> None:
            seen = [0]

            def before(*_args: Any) -> None:
                seen[0] += 1
                if seen[0] == n:
                    os.kill(os.getpid(), signal.SIGKILL)

            event.listen(Engine, "before_cursor_execute", before)
            upgrade(create_engine(f"sqlite:///{path}"))

        status = _in_child(killed_at)
        if status == 0:
            completed = True
        else:
            assert status == -signal.SIGKILL
            tables = _tables(path) if path.exists() else set()
            engine = create_engine(f"sqlite:///{path}")
            if tables:  # all or nothing: a complete schema at head, never a partial one
                assert "alembic_version" in tables
                check_schema_compatible(engine)
            kills.append(len(tables))
            assert upgrade(engine).current == head_revision()
            check_schema_compatible(engine)
            engine.dispose()
    assert step > 10  # the migration really has many steps to be killed at
    assert kills.count(0) > 5  # killed inside the migration: rolled back to nothing


def test_two_concurrent_upgrades_both_succeed_with_one_schema(tmp_path: Path) -> None:
    for attempt in range(3):
        path = tmp_path / f"c{attempt}.db"
        read_fd, write_fd = os.pipe()

        def racer(read_fd: int = read_fd, path: Path = path) -> None:
            os.read(read_fd, 1)  # start together
            engine = create_engine(f"sqlite:///{path}")
            upgrade(engine)
            check_schema_compatible(engine)

        pids: list[int] = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                code = 0
                try:
                    racer()
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            pids.append(pid)
        os.write(write_fd, b"go")
        statuses = [os.waitpid(pid, 0)[1] for pid in pids]
        os.close(read_fd)
        os.close(write_fd)
        assert [os.waitstatus_to_exitcode(s) for s in statuses] == [0, 0]
        engine = create_engine(f"sqlite:///{path}")
        assert check_schema_compatible(engine).current == head_revision()
        engine.dispose()


# --- db check only reads ---------------------------------------------------------------------


def test_db_check_creates_no_file_or_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "not" / "yet" / "history.db"
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    monkeypatch.setenv("DRIFTWARDEN_SQLITE_PATH", str(target))
    assert _cli(["db", "check"]) == 2
    assert not (tmp_path / "not").exists()


def test_db_check_opens_sqlite_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "h.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    path.chmod(0o444)
    tmp_path.chmod(0o555)  # no journal can be created next to it either
    try:
        monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", f"sqlite:///{path}")
        assert _cli(["db", "check"]) == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == ["h.db"]
    finally:
        tmp_path.chmod(0o755)
        path.chmod(0o644)


def test_a_read_only_sqlite_uri_stays_read_only(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    before = path.read_bytes()
    ro = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert check_schema_compatible(ro).current == head_revision()
    assert upgrade(ro).current == head_revision()  # at head: nothing to write
    ro.dispose()
    assert path.read_bytes() == before

"""A real, throw-away PostgreSQL 15 server for tests and benchmarks.

`PostgresServer` runs `initdb` into a temporary directory and starts `postgres` on a free
loopback port (its unix socket stays inside the temporary directory), as the `postgres` OS
user when running as root (PostgreSQL refuses to run as root). Password authentication is
on for TCP, so tests exercise real credentials. `stop()` shuts it down and deletes the data.

Reuse from any test folder (pytest puts `tests/` on `sys.path`, see `pythonpath` in
pyproject.toml)::

    from pg import PostgresServer

    @pytest.fixture(scope="session")
    def postgres_server() -> Iterator[PostgresServer]:
        with PostgresServer.start() as server:
            yield server

`tests/integration/conftest.py` defines exactly that fixture plus a migrated database.
A script (the benchmarks) adds `tests/` to `sys.path` first. Set `DRIFTWARDEN_PG_BIN` to
use binaries other than /usr/lib/postgresql/15/bin.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg2
from ports import free_port


def _default_bin() -> Path:
    """PostgreSQL 15's binaries, else the newest installed version's (Debian layout)."""
    preferred = Path("/usr/lib/postgresql/15/bin")
    if (preferred / "postgres").exists():
        return preferred
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else preferred


PG_BIN = Path(os.environ.get("DRIFTWARDEN_PG_BIN", str(_default_bin())))
SUPERUSER = "postgres"
START_TIMEOUT_S = 60.0


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) of the `postgres` user when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


@dataclass
class PostgresServer:
    root: Path
    port: int
    password: str
    process: subprocess.Popen[bytes]

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """SQLAlchemy URL of a database on this server (psycopg2 driver)."""
        secret = self.password if password is None else password
        return f"postgresql+psycopg2://{SUPERUSER}:{secret}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return (
            f"host={self.host} port={self.port} user={SUPERUSER} "
            f"password={self.password} dbname={database}"
        )

    def create_database(self, name: str) -> str:
        """Create a database (a plain identifier) and return its URL."""
        if not name.isidentifier():
            raise ValueError(f"test database names are plain identifiers, got {name!r}")
        conn = psycopg2.connect(self.dsn())
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    @classmethod
    def start(cls, *, durable: bool = False) -> PostgresServer:
        """initdb + postgres; returns once the server accepts connections.

        `durable=False` (tests) turns fsync off: faster, and nothing here needs to survive
        a power cut. Benchmarks pass `durable=True` to measure with the default settings.
        """
        for tool in ("initdb", "postgres"):
            if not (PG_BIN / tool).exists():
                raise RuntimeError(
                    f"{PG_BIN / tool} not found: install PostgreSQL 15 "
                    "(apt-get install postgresql-15) or set DRIFTWARDEN_PG_BIN"
                )
        ids = _run_as()
        root = Path(tempfile.mkdtemp(prefix="driftwarden-pg-"))
        try:
            return cls._start_in(root, ids, durable=durable)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise

    @classmethod
    def _start_in(cls, root: Path, ids: tuple[int, int] | None, *, durable: bool) -> Self:
        data, sockets = root / "data", root / "sockets"
        sockets.mkdir()
        password = secrets.token_urlsafe(16)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        if ids is not None:
            for path in (root, sockets, pwfile):
                os.chown(path, *ids)
        user_kwargs: dict[str, object] = {}
        if ids is not None:
            user_kwargs = {"user": ids[0], "group": ids[1], "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        subprocess.run(
            [
                str(PG_BIN / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            env=env,
            **user_kwargs,  # type: ignore[arg-type]
        )
        pwfile.unlink()
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(sockets),
            "max_connections": "50",
            "shared_buffers": "128MB",
        }
        if not durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        command = [str(PG_BIN / "postgres"), "-D", str(data)]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        log = (root / "postgres.log").open("wb")
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            **user_kwargs,  # type: ignore[arg-type]
        )
        log.close()
        server = cls(root=root, port=port, password=password, process=process)
        try:
            server._wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self) -> None:
        """Poll until a connection succeeds; fail fast when the server process exits."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last_error = ""
        while time.monotonic() < deadline:
            try:
                self.process.wait(timeout=0.1)  # a poll: returns early only if it died
            except subprocess.TimeoutExpired:
                pass
            else:
                raise RuntimeError(f"postgres exited with {self.process.returncode}:\n{self.log}")
            try:
                psycopg2.connect(self.dsn(), connect_timeout=2).close()
                return
            except psycopg2.OperationalError as error:
                last_error = str(error)
        raise RuntimeError(f"postgres not ready after {START_TIMEOUT_S}s: {last_error}\n{self.log}")

    @property
    def log(self) -> str:
        path = self.root / "postgres.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """Fast shutdown (SIGINT), waiting for the process; then remove the data."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

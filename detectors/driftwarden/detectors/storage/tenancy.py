"""One PostgreSQL login role per namespace, limited by row-level security to its rows.

The administrative connection (the schema's owner: the operator, `driftwarden db`) creates a
role per namespace that has monitors, grants it the history tables, and records it in
`tenant_roles`; revision 0006's policies then let the role read and write only rows whose
namespace is its own, so a run in namespace A can neither read nor write namespace B's
history. A detector Job is given the role's credentials, never the administrative ones.

Passwords are never stored nor sent in clear: the role gets a SCRAM-SHA-256 verifier computed
here (RFC 5802 and RFC 7677, the format PostgreSQL stores in `pg_authid`), so neither the
server's statement log nor `pg_stat_activity` sees the password. It exists only in what
`grant_tenant` returns (for a Secret); granting again rotates it.

Raises `DatabaseConfigError` on a database without roles (SQLite) and for a namespace that is
not a Kubernetes name; `DatabaseOperationError` (with the server's reason) when the
administrative role may not create roles (it needs CREATEROLE and to own the tables) or the
database fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.database import (
    DatabaseConfigError,
    connection,
    mask_url,
    transaction,
)

#: A namespace is a DNS label (RFC 1123), as Kubernetes requires.
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
#: Role names: a fixed prefix and a digest of the namespace (63 bytes is PostgreSQL's limit,
#: a namespace alone may take all of it).
ROLE_PREFIX = "driftwarden_ns_"
#: PBKDF2 iterations of the verifier: PostgreSQL's own default (scram_iterations).
SCRAM_ITERATIONS = 4096

#: The history tables a namespace's role reads and writes (each under row-level security).
TENANT_TABLES = (
    "monitor_runs",
    "drift_results",
    "performance_metrics",
    "quality_findings",
    "feature_distributions",
    "alerts",
    "retrain_events",
    "reference_profiles",
)
#: Read only: its own row of tenant_roles (the policies read it) and the schema version.
READ_ONLY_TABLES = ("tenant_roles", "alembic_version")


@dataclass(frozen=True)
class TenantCredentials:
    """A namespace's login: keep the password in a Secret of that namespace only."""

    namespace: str
    role: str
    password: str
    issued_at: datetime | None = None
    """When the role got this password (as `issued_at` reads it back)."""

    def url(self, admin: URL) -> URL:
        """The administrative URL with this role's user and password (same host, database)."""
        return admin.set(username=self.role, password=self.password)

    def __repr__(self) -> str:  # never the password, in a log line or a traceback
        return f"TenantCredentials(namespace={self.namespace!r}, role={self.role!r})"


def role_name(namespace: str) -> str:
    """The role of `namespace`: deterministic, so a lost record is found again."""
    return ROLE_PREFIX + hashlib.sha256(namespace.encode()).hexdigest()[:24]


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password.

    ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (base64), where
    SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations), ClientKey =
    HMAC(SaltedPassword, "Client Key"), StoredKey = SHA-256(ClientKey) and ServerKey =
    HMAC(SaltedPassword, "Server Key") (RFC 5802 section 3, RFC 7677).
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def grant_tenant(
    engine: Engine, namespace: str, *, now: datetime | None = None
) -> TenantCredentials:
    """Create `namespace`'s role (or give it a new password) and grant it the history tables.

    Idempotent but for the password, which is new on every call (a rotation): the previous
    one stops working when this returns.
    """
    _check(engine, namespace)
    role = role_name(namespace)
    password = secrets.token_urlsafe(32)
    at = now or datetime.now(UTC)
    with transaction(engine) as conn:
        quoted = conn.dialect.identifier_preparer.quote(role)
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        ).first()
        verb = "ALTER" if exists else "CREATE"
        # The verifier is generated here from hex and base64 only: no quote can occur in it.
        conn.exec_driver_sql(
            f"{verb} ROLE {quoted} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"NOINHERIT PASSWORD '{scram_verifier(password)}'"
        )
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {_schema(conn)} TO {quoted}")
        tables = ", ".join(_table(conn, name) for name in TENANT_TABLES)
        conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {quoted}")
        read_only = ", ".join(_table(conn, name) for name in READ_ONLY_TABLES)
        conn.exec_driver_sql(f"GRANT SELECT ON {read_only} TO {quoted}")
        row = m.tenant_roles
        if conn.execute(sa.select(row.c.role_name).where(row.c.role_name == role)).first():
            conn.execute(sa.update(row).where(row.c.role_name == role).values(rotated_at=at))
        else:
            conn.execute(sa.insert(row).values(role_name=role, namespace=namespace, created_at=at))
    return TenantCredentials(namespace=namespace, role=role, password=password, issued_at=at)


def revoke_tenant(engine: Engine, namespace: str) -> bool:
    """Drop `namespace`'s role and its grants (its rows stay, readable by the administrative
    connection). False when it had none."""
    _check(engine, namespace)
    role = role_name(namespace)
    with transaction(engine) as conn:
        quoted = conn.dialect.identifier_preparer.quote(role)
        if (
            conn.execute(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
            ).first()
            is None
        ):
            conn.execute(sa.delete(m.tenant_roles).where(m.tenant_roles.c.role_name == role))
            return False
        every = ", ".join(_table(conn, name) for name in (*TENANT_TABLES, *READ_ONLY_TABLES))
        conn.exec_driver_sql(f"REVOKE ALL ON {every} FROM {quoted}")
        conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {_schema(conn)} FROM {quoted}")
        conn.exec_driver_sql(f"DROP ROLE {quoted}")
        conn.execute(sa.delete(m.tenant_roles).where(m.tenant_roles.c.role_name == role))
    return True


def issued_at(engine: Engine, namespace: str) -> datetime | None:
    """When `namespace`'s role got its current password (the `now` of its last
    `grant_tenant`), or None when it has no role: no row in `tenant_roles`, or the row's
    role was dropped behind our back. A Secret written at another instant holds a password
    that no longer works."""
    _check(engine, namespace)
    role = role_name(namespace)
    row = m.tenant_roles
    with connection(engine) as conn:
        found = conn.execute(
            sa.select(row.c.created_at, row.c.rotated_at).where(row.c.role_name == role)
        ).first()
        if found is None:
            return None
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        ).first()
    if exists is None:
        return None
    when: datetime = found.rotated_at or found.created_at
    return when.astimezone(UTC)


def tenants(engine: Engine) -> dict[str, str]:
    """Namespace -> role, as recorded."""
    with connection(engine) as conn:
        rows = conn.execute(sa.select(m.tenant_roles.c.namespace, m.tenant_roles.c.role_name))
        return {row.namespace: row.role_name for row in rows}


def _check(engine: Engine, namespace: str) -> None:
    if engine.dialect.name != "postgresql":
        raise DatabaseConfigError(
            f"per-namespace roles need PostgreSQL; {mask_url(engine.url)} is {engine.dialect.name}"
        )
    if not NAMESPACE.fullmatch(namespace):
        raise DatabaseConfigError(f"{namespace[:80]!r} is not a Kubernetes namespace name")


def _schema(conn: Connection) -> str:
    name = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    return conn.dialect.identifier_preparer.quote(str(name))


def _table(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)

"""`driftwarden db ...`: schema upgrades, the compatibility check and retention.

The top-level CLI calls `add_db_subcommands(subparsers)`; every leaf parser sets
`handler(args) -> int` (the exit code). The database comes from the environment
(`DRIFTWARDEN_DATABASE_URL` or PG*), else the local SQLite file; it is printed masked.
Exit codes (`driftwarden.detectors.errors`): 0 done, 2 invalid input or incompatible schema
(retrying will not help), 3 a transient failure (e.g. the database is unreachable).

`db check` only reads: a SQLite file is opened read-only and a missing one is reported,
never created (nor its directory). Retention durations are bounded (`MAX_RETENTION`).

The storage modules (SQLAlchemy, Alembic) are imported inside the handlers: building the
parser must stay cheap, since every `driftwarden` command builds it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from driftwarden.detectors.config import DURATION_PATTERN, parse_duration
from driftwarden.detectors.errors import DriftwardenError, ExitCode
from driftwarden.detectors.hints import hint

Handler = Callable[[argparse.Namespace], int]

#: The longest retention a `--keep-*` option accepts (100 years); longer is a typo.
MAX_RETENTION = timedelta(days=36_525)


def _retention_duration(text: str) -> str:
    """argparse type of the `--keep-*` options: a duration between 1s and 100 years."""
    if not re.fullmatch(DURATION_PATTERN, text[:64]):
        raise argparse.ArgumentTypeError(
            f"invalid duration {text[:64]!r}: expected e.g. 90d, 12w or 8760h"
        )
    try:
        value = parse_duration(text[:64])
    except ValueError:  # too long for a timedelta
        value = MAX_RETENTION * 2
    if len(text) > 64 or not timedelta(seconds=1) <= value <= MAX_RETENTION:
        raise argparse.ArgumentTypeError(
            f"duration {text[:64]!r} is out of range: between 1s and 36525d (100 years)"
        )
    return text


def add_db_subcommands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `db upgrade`, `db check` and `db retention` to a CLI's subcommands."""
    db = subparsers.add_parser(
        "db",
        help="manage the history database (schema, retention)",
        description="Manage the history database. The URL comes from DRIFTWARDEN_DATABASE_URL "
        "or the PG* variables; without either, a local SQLite file is used.",
    )
    db.set_defaults(handler=_needs_subcommand(db))
    commands = db.add_subparsers(title="commands", metavar="COMMAND")

    up = commands.add_parser("upgrade", help="apply pending schema migrations (safe to run again)")
    up.set_defaults(handler=_guarded(_upgrade))

    check = commands.add_parser(
        "check", help="exit 0 when the schema is exactly what this version expects"
    )
    check.set_defaults(handler=_guarded(_check))

    retention = commands.add_parser(
        "retention", help="delete history older than the retention policy keeps"
    )
    retention.add_argument(
        "--keep-feature-rows",
        type=_retention_duration,
        default="90d",
        help="drift results and metrics (default: %(default)s)",
    )
    retention.add_argument(
        "--keep-runs",
        type=_retention_duration,
        default="365d",
        help="run summaries (default: %(default)s)",
    )
    retention.add_argument(
        "--keep-resolved-alerts",
        type=_retention_duration,
        default="365d",
        help="resolved alerts (default: %(default)s)",
    )
    retention.add_argument(
        "--keep-retrain-events",
        type=_retention_duration,
        default="365d",
        help="retrain decisions (default: %(default)s)",
    )
    retention.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
    )
    retention.set_defaults(handler=_guarded(_retention))

    tenant = commands.add_parser(
        "tenant",
        help="per-namespace database roles (PostgreSQL row-level security)",
        description="Each namespace's detector Jobs use a role that reads and writes only that "
        "namespace's history. `grant` creates the role or rotates its password and prints a "
        "Kubernetes Secret for the namespace (pipe it to `kubectl apply -f -`); the password "
        "is printed nowhere else.",
    )
    tenant.set_defaults(handler=_needs_subcommand(tenant))
    tenants = tenant.add_subparsers(title="commands", metavar="COMMAND")
    grant = tenants.add_parser("grant", help="create or rotate a namespace's role")
    grant.add_argument("namespace", help="the Kubernetes namespace")
    grant.add_argument(
        "--secret",
        default="driftwarden-results/url",
        help="NAME/KEY of the Secret to print (default: %(default)s)",
    )
    grant.set_defaults(handler=_guarded(_tenant_grant))
    revoke = tenants.add_parser("revoke", help="drop a namespace's role (its rows stay)")
    revoke.add_argument("namespace", help="the Kubernetes namespace")
    revoke.set_defaults(handler=_guarded(_tenant_revoke))
    listing = tenants.add_parser("list", help="namespaces with a role")
    listing.set_defaults(handler=_guarded(_tenant_list))


def _needs_subcommand(parser: argparse.ArgumentParser) -> Handler:
    def handler(_args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        print("driftwarden db: error: a command is required", file=sys.stderr)
        return 2

    return handler


def _guarded(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except DriftwardenError as error:
            print(f"driftwarden db: error: {error}", file=sys.stderr)
            return int(error.exit_code)
        except ValueError as error:  # an argument the parser let through (a duration)
            print(f"driftwarden db: error: {error}", file=sys.stderr)
            return int(ExitCode.INVALID_INPUT)

    return run


def _upgrade(_args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.database import create_engine, mask_url, resolve_database_url
    from driftwarden.detectors.storage.migrate import upgrade

    url = resolve_database_url()
    engine = create_engine(url)
    try:
        status = upgrade(engine)
    finally:
        engine.dispose()
    print(f"database {mask_url(url)} is at schema revision {status.current} (newest known)")
    return 0


def _check(_args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.database import create_engine, mask_url, resolve_database_url
    from driftwarden.detectors.storage.migrate import SchemaMissingError, check_schema_compatible

    url = resolve_database_url()
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        if url.query.get("uri") is None and not path.is_file():
            raise SchemaMissingError(
                f"database {mask_url(url)} does not exist; run `driftwarden db upgrade` first"
            )
    engine = create_engine(url, read_only=True)
    try:
        status = check_schema_compatible(engine)
    finally:
        engine.dispose()
    print(f"database {mask_url(url)} schema revision {status.current}: compatible")
    return 0


def _retention(args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.database import create_engine, mask_url, resolve_database_url
    from driftwarden.detectors.storage.migrate import check_schema_compatible
    from driftwarden.detectors.storage.retention import RetentionPolicy, apply_retention

    policy = RetentionPolicy.from_durations(
        feature_rows=args.keep_feature_rows,
        runs=args.keep_runs,
        resolved_alerts=args.keep_resolved_alerts,
        retrain_events=args.keep_retrain_events,
    )
    url = resolve_database_url()
    engine = create_engine(url)
    try:
        check_schema_compatible(engine)
        result = apply_retention(engine, policy, datetime.now(UTC), dry_run=args.dry_run)
    finally:
        engine.dispose()
    verb = "would delete" if result.dry_run else "deleted"
    summary = ", ".join(f"{table} {count}" for table, count in result.deleted.items())
    print(f"retention on {mask_url(url)}: {verb} {summary}")
    return 0


def _tenant_grant(args: argparse.Namespace) -> int:
    import json

    from driftwarden.detectors.storage.database import create_engine, resolve_database_url
    from driftwarden.detectors.storage.migrate import check_schema_compatible
    from driftwarden.detectors.storage.tenancy import grant_tenant

    name, _, key = args.secret.partition("/")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", name) or not re.fullmatch(
        r"[-._a-zA-Z0-9]{1,253}", key or "url"
    ):
        raise ValueError(
            f"--secret {args.secret[:80]!r}: expected NAME/KEY, e.g. driftwarden-results/url"
        )
    url = resolve_database_url()
    engine = create_engine(url)
    try:
        check_schema_compatible(engine)
        credentials = grant_tenant(engine, args.namespace)
    finally:
        engine.dispose()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": credentials.namespace,
            "labels": {"app.kubernetes.io/managed-by": "driftwarden"},
        },
        "type": "Opaque",
        "stringData": {key or "url": credentials.url(url).render_as_string(hide_password=False)},
    }
    print(json.dumps(secret, indent=2))
    print(
        f"driftwarden db: role {credentials.role} for namespace {credentials.namespace}: "
        "apply the Secret above (any earlier password no longer works)",
        file=sys.stderr,
    )
    return 0


def _tenant_revoke(args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.database import create_engine, resolve_database_url
    from driftwarden.detectors.storage.tenancy import revoke_tenant, tenants

    engine = create_engine(resolve_database_url())
    try:
        dropped = revoke_tenant(engine, args.namespace)
        # Still exit 0 (revoking twice is no error), but a misspelt namespace is named.
        others = [] if dropped else sorted(tenants(engine))
    finally:
        engine.dispose()
    if dropped:
        print(f"namespace {args.namespace}: role dropped")
    else:
        found = hint(args.namespace, others, "namespaces with a role") if others else ""
        print(f"namespace {args.namespace}: had no role{found}")
    return 0


def _tenant_list(_args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.database import create_engine, resolve_database_url
    from driftwarden.detectors.storage.tenancy import tenants

    engine = create_engine(resolve_database_url())
    try:
        for namespace, role in sorted(tenants(engine).items()):
            print(f"{namespace}\t{role}")
    finally:
        engine.dispose()
    return 0

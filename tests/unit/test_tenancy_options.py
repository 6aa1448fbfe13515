"""`--manage-tenant-credentials`: refused without a PostgreSQL results database, off by
default, on through its flag or environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwarden.detectors.cli import build_parser
from driftwarden.detectors.storage import create_engine
from driftwarden.operator.handlers.tenancy import TENANT_SECRET, tenancy_problem


def test_off_needs_nothing() -> None:
    assert tenancy_problem(False, None) is None


def test_on_needs_a_database_url() -> None:
    problem = tenancy_problem(True, None)
    assert problem == (
        "--manage-tenant-credentials needs --database-url (the administrative connection)"
    )


def test_on_needs_postgresql(tmp_path: Path) -> None:
    sqlite = create_engine(f"sqlite:///{tmp_path / 'results.db'}")
    try:
        assert tenancy_problem(True, sqlite) == (
            "--manage-tenant-credentials needs PostgreSQL, not sqlite"
        )
    finally:
        sqlite.dispose()
    postgres = create_engine("postgresql://admin:secret@db.example:5432/results")
    try:
        assert tenancy_problem(True, postgres) is None  # no connection is made to decide
    finally:
        postgres.dispose()


def test_the_pods_read_the_tenant_secret() -> None:
    assert (TENANT_SECRET.name, TENANT_SECRET.key) == ("driftwarden-tenant-results", "url")


def test_the_flag_is_off_by_default_and_on_by_flag_or_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DRIFTWARDEN_MANAGE_TENANT_CREDENTIALS", raising=False)
    assert build_parser().parse_args(["operator"]).manage_tenant_credentials is False
    parsed = build_parser().parse_args(["operator", "--manage-tenant-credentials"])
    assert parsed.manage_tenant_credentials is True
    monkeypatch.setenv("DRIFTWARDEN_MANAGE_TENANT_CREDENTIALS", "true")
    assert build_parser().parse_args(["operator"]).manage_tenant_credentials is True

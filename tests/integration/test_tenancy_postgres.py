"""Per-namespace roles on a real PostgreSQL 15: row-level security keeps each namespace's
history to itself, through the same write and read functions the Job and the reports use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import (
    DatabaseAuthenticationError,
    DatabasePermissionError,
    DriftResultRow,
    PerformanceRow,
    RunOutcome,
    RunRecord,
    check_schema_compatible,
    create_engine,
    get_run,
    monitor_history,
    write_run,
)
from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.reads import run_rows
from driftwarden.detectors.storage.tenancy import (
    grant_tenant,
    revoke_tenant,
    role_name,
    scram_verifier,
    tenants,
)

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 11, 29, 12, tzinfo=UTC)


def _run(namespace: str, run_id: str) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        monitor_namespace=namespace,
        monitor_name="credit",
        started_at=T0,
        finished_at=T0 + timedelta(minutes=1),
        outcome=RunOutcome.SUCCEEDED,
        severity=Severity.WARNING,
        health_score=80.0,
    )


def _drift(n: int = 300) -> list[DriftResultRow]:
    return [
        DriftResultRow(
            feature=f"f{i}",
            method="ks",
            statistic=0.1,
            p_value=0.01,
            threshold=0.05,
            drift_detected=True,
            severity=Severity.WARNING,
            p_value_adjusted=0.02,
        )
        for i in range(n)
    ]


@pytest.fixture
def tenant_engines(history: Engine, history_url: str) -> Iterator[dict[str, Engine]]:
    engines = {
        ns: create_engine(grant_tenant(history, ns).url(make_url(history_url)))
        for ns in ("team-a", "team-b")
    }
    yield engines
    for engine in engines.values():
        engine.dispose()
    for ns in engines:
        revoke_tenant(history, ns)


def test_each_namespace_writes_and_reads_only_its_own_history(
    history: Engine, tenant_engines: dict[str, Engine]
) -> None:
    a, b = tenant_engines["team-a"], tenant_engines["team-b"]
    check_schema_compatible(a)  # what the Job checks first, as the namespace's role
    # The Job's write path (COPY) under row-level security: staged, then inserted.
    written = write_run(a, _run("team-a", "a-1"), _drift(), [PerformanceRow("auc", 0.8)])
    assert written == 301
    write_run(b, _run("team-b", "b-1"), _drift(5))

    assert get_run(a, "a-1") is not None
    assert get_run(a, "b-1") is None  # exists, but not for team-a
    assert monitor_history(a, "team-b", "credit") == []
    assert run_rows(a, "b-1").drift == []
    assert len(run_rows(b, "b-1").drift) == 5
    with a.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.drift_results)).scalar() == 300
        assert conn.execute(sa.select(m.tenant_roles.c.namespace)).scalars().all() == ["team-a"]

    # Writing another namespace's rows is refused by the policy, and nothing is half-written.
    with pytest.raises(DatabasePermissionError, match="row-level security"):
        write_run(a, _run("team-b", "a-forged"), _drift())
    with pytest.raises(DatabasePermissionError):
        write_run(a, _run("team-b", "b-1"), _drift(1))  # nor replace one of theirs
    with history.connect() as conn:  # the administrative connection sees everything
        runs = conn.execute(sa.select(m.monitor_runs.c.run_id)).scalars().all()
        assert sorted(runs) == ["a-1", "b-1"]
        count = sa.select(sa.func.count()).select_from(m.drift_results)
        assert conn.execute(count).scalar() == 305


def test_granting_again_rotates_the_password_and_revoking_drops_the_role(
    history: Engine, history_url: str
) -> None:
    first = grant_tenant(history, "team-c")
    second = grant_tenant(history, "team-c")
    assert first.role == second.role == role_name("team-c")
    assert first.password != second.password
    assert first.password not in repr(first)
    old = create_engine(first.url(make_url(history_url)))
    with pytest.raises(DatabaseAuthenticationError, match="authentication failed"):
        check_schema_compatible(old)
    old.dispose()
    new = create_engine(second.url(make_url(history_url)))
    check_schema_compatible(new)
    new.dispose()
    assert tenants(history) == {"team-c": role_name("team-c")}
    with history.connect() as conn:  # the server holds a SCRAM verifier, never the password
        stored = conn.execute(
            sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": second.role}
        ).scalar_one()
        assert stored.startswith("SCRAM-SHA-256$4096:")
        assert second.password not in stored
    assert revoke_tenant(history, "team-c") is True
    assert revoke_tenant(history, "team-c") is False
    assert tenants(history) == {}


def test_the_verifier_follows_rfc_7677() -> None:
    """RFC 7677's example: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==."""
    import base64

    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = scram_verifier("pencil", salt=salt)
    # StoredKey and ServerKey of the RFC's exchange (its ServerSignature is made from these).
    assert verifier == (
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
        "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
    )


@pytest.mark.parametrize("namespace", ["Team-A", "a" * 64, "ns; DROP TABLE alerts", ""])
def test_a_namespace_that_is_not_a_kubernetes_name_is_refused(
    history: Engine, namespace: str
) -> None:
    from driftwarden.detectors.storage import DatabaseConfigError

    with pytest.raises(DatabaseConfigError, match="not a Kubernetes namespace name"):
        grant_tenant(history, namespace)


def test_db_tenant_grant_prints_a_secret_whose_url_logs_in(
    history: Engine,
    history_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from driftwarden.detectors.cli import main

    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", history_url)
    assert main(["db", "tenant", "grant", "team-d"]) == 0
    out, err = capsys.readouterr()
    secret = json.loads(out)
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["namespace"] == "team-d"
    assert secret["metadata"]["name"] == "driftwarden-results"
    url = secret["stringData"]["url"]
    password = make_url(url).password
    assert password
    assert password not in err
    engine = create_engine(url)
    check_schema_compatible(engine)  # the printed credentials work
    engine.dispose()
    assert main(["db", "tenant", "list"]) == 0
    assert "team-d\t" in capsys.readouterr().out
    assert main(["db", "tenant", "revoke", "team-d"]) == 0
    code = main(["db", "tenant", "grant", "Team_D"])
    assert code == 2
    assert "not a Kubernetes namespace name" in capsys.readouterr().err

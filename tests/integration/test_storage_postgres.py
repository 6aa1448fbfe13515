"""The history store against a real PostgreSQL 15 server."""

from __future__ import annotations

import argparse
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
import sqlalchemy as sa
from pg import PostgresServer
from sqlalchemy.engine import Engine
from storage_samples import T0, alert, counts, drift_rows, performance_rows, run

from driftwarden.detectors.distributions import categorical_overlay
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import (
    DatabaseAuthenticationError,
    DistributionRow,
    DriftResultRow,
    RetentionPolicy,
    RetrainDecision,
    RetrainEventRow,
    SchemaMissingError,
    SchemaTooNewError,
    StorageError,
    acknowledge_alert,
    apply_retention,
    check_schema_compatible,
    create_engine,
    feature_trend,
    latest_status,
    monitor_history,
    open_alerts,
    record_retrain_event,
    resolve_alert,
    run_drifted_features,
    upgrade,
    write_run,
)
from driftwarden.detectors.storage.cli import add_db_subcommands

pytestmark = pytest.mark.postgres


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="driftwarden")
    add_db_subcommands(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_upgrade_is_idempotent_and_creates_tables_and_views(scratch_database: str) -> None:
    engine = create_engine(scratch_database)
    with pytest.raises(SchemaMissingError, match="driftwarden db upgrade"):
        check_schema_compatible(engine)
    first = upgrade(engine)
    again = upgrade(engine)
    assert first.current == again.current == first.head
    assert check_schema_compatible(engine).current == first.head
    inspector = sa.inspect(engine)
    assert {
        "monitor_runs",
        "drift_results",
        "performance_metrics",
        "alerts",
        "retrain_events",
    } <= set(inspector.get_table_names())
    assert {"latest_monitor_runs", "daily_feature_drift", "performance_over_time"} <= set(
        inspector.get_view_names()
    )
    # the key that keeps drift results unique also serves the feature-trend query
    key = inspector.get_pk_constraint("drift_results")["constrained_columns"]
    assert key[:4] == ["monitor_namespace", "monitor_name", "feature", "observed_at"]
    assert {"run_id", "method", "drift_type"} <= set(key)
    engine.dispose()


def test_models_match_the_migrations(history: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from driftwarden.detectors.storage.models import metadata

    with history.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_schema_newer_than_the_code_is_refused(scratch_database: str) -> None:
    engine = create_engine(scratch_database)
    upgrade(engine)
    with engine.begin() as conn:  # what a future driftwarden's migration would leave
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0042_future'"))
    with pytest.raises(SchemaTooNewError, match="0042_future") as refused:
        check_schema_compatible(engine)
    assert "newer driftwarden" in str(refused.value)
    with pytest.raises(SchemaTooNewError):
        upgrade(engine)
    engine.dispose()


def test_run_round_trip_queries_and_views(history: Engine) -> None:
    older = run("credit-1", at=T0 - timedelta(days=1))
    newer = run("credit-2", at=T0)
    write_run(history, older, drift_rows(), performance_rows())
    written = write_run(history, newer, drift_rows(), performance_rows(), [alert("credit-2")])
    assert written == 6 + 2

    history_runs = monitor_history(history, "risk", "credit")
    assert [r.run_id for r in history_runs] == ["credit-2", "credit-1"]
    assert history_runs[0] == newer  # every field survives the round trip, times in UTC

    assert [r.run_id for r in latest_status(history)] == ["credit-2"]
    trend = feature_trend(history, "risk", "credit", "f0", method="psi")
    assert [p.run_id for p in trend] == ["credit-1", "credit-2"]
    assert trend[-1].statistic == pytest.approx(0.3)
    assert trend[-1].severity is Severity.CRITICAL

    [open_alert] = open_alerts(history, "risk")
    assert open_alert == alert("credit-2")

    with history.connect() as conn:
        daily = conn.execute(
            sa.text(
                "SELECT day, runs, drifted_runs FROM daily_feature_drift "
                "WHERE feature = 'f0' AND method = 'psi' ORDER BY day"
            )
        ).all()
        perf = conn.execute(
            sa.text("SELECT run_id, change FROM performance_over_time WHERE metric = 'roc_auc'")
        ).all()
    assert [(str(d), r, x) for d, r, x in daily] == [("2026-10-31", 1, 1), ("2026-11-01", 1, 1)]
    assert sorted((r, round(c, 2)) for r, c in perf) == [("credit-1", -0.05), ("credit-2", -0.05)]


def test_writing_the_same_run_twice_does_not_duplicate(history: Engine) -> None:
    write_run(history, run(), drift_rows(features=3), performance_rows(), [alert()])
    assert acknowledge_alert(history, "risk/credit/data", by="alice", at=T0 + timedelta(hours=1))
    retried = replace(run(), health_score=65.0)
    write_run(history, retried, drift_rows(features=2), performance_rows(), [alert()])
    assert counts(history) == {
        "monitor_runs": 1,
        "drift_results": 4,
        "performance_metrics": 2,
        "alerts": 1,
        "retrain_events": 0,
    }
    assert monitor_history(history, "risk", "credit")[0].health_score == 65.0
    [kept] = open_alerts(history)
    assert kept.acknowledged_by == "alice"  # a retried Job does not undo an acknowledgement


def test_failure_in_the_middle_of_a_write_leaves_no_rows(history: Engine) -> None:
    def explode(table: str, written: int) -> None:
        if table == "drift_results" and written >= 100:
            raise RuntimeError("injected failure after the first batch")

    with pytest.raises(RuntimeError, match="injected"):
        write_run(
            history,
            run(),
            drift_rows(features=150),
            performance_rows(),
            [alert()],
            batch_rows=100,
            progress=explode,
        )
    assert set(counts(history).values()) == {0}


def test_failed_rewrite_keeps_the_previous_copy_of_the_run(history: Engine) -> None:
    write_run(history, run(), drift_rows(features=3), performance_rows())
    duplicate = drift_rows(features=1)  # the same feature x method twice: a constraint error
    with pytest.raises(StorageError, match="pk_drift_results"):
        write_run(history, run(), [*drift_rows(features=5), *duplicate])
    assert counts(history)["drift_results"] == 6
    assert counts(history)["performance_metrics"] == 2


def test_connection_killed_mid_write_leaves_no_rows(
    history: Engine, postgres_server: PostgresServer
) -> None:
    killed = threading.Event()

    def kill_backend(table: str, written: int) -> None:
        # Another session terminates the writer's backend, as a crashing node would.
        if killed.is_set():
            return
        killed.set()
        admin = psycopg2.connect(postgres_server.dsn("history"))
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'history' AND pid <> pg_backend_pid() "
                "AND state = 'idle in transaction'"
            )
        admin.close()

    with pytest.raises(StorageError) as failed:
        write_run(history, run(), drift_rows(features=100), batch_rows=50, progress=kill_backend)
    assert postgres_server.password not in str(failed.value)
    history.dispose()
    assert set(counts(history).values()) == {0}


def test_copy_round_trips_awkward_text(history: Engine) -> None:
    names = ["tab\there", "new\nline", "back\\slash", 'quote"s', "ünïcödé", "\\N", ""]
    rows = [
        DriftResultRow(
            feature=name,
            method="psi",
            statistic=float("nan") if i == 0 else float("inf") if i == 1 else 0.5,
            p_value=None,
            threshold=0.2,
            drift_detected=False,
            severity=Severity.NONE,
        )
        for i, name in enumerate(names)
    ]
    write_run(history, run(), rows)
    with history.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT feature, statistic FROM drift_results")).all())
    assert set(stored) == set(names)
    assert stored["tab\there"] is None  # NaN is stored as NULL
    assert stored["new\nline"] == float("inf")


def test_alert_lifecycle_and_retrain_events(history: Engine) -> None:
    write_run(history, run(), alerts=[alert(alert_id="a1"), alert(alert_id="a2")])
    assert acknowledge_alert(history, "a1", by="bob", at=T0 + timedelta(hours=1))
    assert not acknowledge_alert(history, "a1", by="bob", at=T0 + timedelta(hours=2))
    assert resolve_alert(history, "a2", at=T0 + timedelta(hours=3))
    assert [a.alert_id for a in open_alerts(history, "risk", "credit")] == ["a1"]

    event = RetrainEventRow(
        event_id="credit-retrain-1",
        namespace="risk",
        policy_name="credit",
        monitor_name="credit",
        run_id=run().run_id,
        decision=RetrainDecision.TRIGGERED,
        reason="critical drift",
        job_name="credit-retrain-1",
        outcome="running",
        created_at=T0,
    )
    record_retrain_event(history, event)
    record_retrain_event(
        history, replace(event, outcome="succeeded", finished_at=T0 + timedelta(hours=2))
    )
    with history.connect() as conn:
        assert conn.execute(sa.text("SELECT outcome FROM retrain_events")).all() == [("succeeded",)]


def test_retention_deletes_only_what_the_policy_expires(history: Engine) -> None:
    now = datetime(2027, 6, 1, tzinfo=UTC)
    shares = categorical_overlay({"a": 1.0}, {"a": 1.0, "b": 1.0})
    shapes = [DistributionRow("income", shares.kind, shares.to_dict())]
    for run_id, days in (("ancient", 400), ("old", 100), ("recent", 1)):
        at = now - timedelta(days=days)
        write_run(
            history, run(run_id, at=at), drift_rows(), performance_rows(), distributions=shapes
        )
    policy = RetentionPolicy.from_durations(feature_rows="90d", runs="365d")

    dry = apply_retention(history, policy, now, dry_run=True)
    assert dry.deleted["drift_results"] == 12
    assert counts(history)["drift_results"] == 18

    result = apply_retention(history, policy, now, batch_rows=5)
    assert result.deleted["drift_results"] == 12
    assert result.deleted["feature_distributions"] == 2  # kept as long as the feature rows
    assert result.deleted["monitor_runs"] == 1
    assert [r.run_id for r in monitor_history(history, "risk", "credit")] == ["recent", "old"]
    assert counts(history)["drift_results"] == 6
    assert apply_retention(history, policy, now).deleted["drift_results"] == 0


def test_cli_masks_the_password_everywhere(
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = postgres_server.password
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", postgres_server.url("history"))
    assert _cli(["db", "upgrade"]) == 0
    assert _cli(["db", "retention", "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "***" in out.out
    assert secret not in out.out + out.err

    wrong = "not-the-" + secret
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", postgres_server.url("history", password=wrong))
    assert _cli(["db", "check"]) == 2  # refused credentials: exit 2 (a retry will not help)
    err = capsys.readouterr().err
    assert "password authentication failed" in err
    assert wrong not in err

    # libpq variables instead of a URL; the server is not listening on this port
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL")
    for key, value in {
        "PGHOST": "127.0.0.1",
        "PGPORT": "1",
        "PGUSER": "postgres",
        "PGPASSWORD": secret,
        "PGDATABASE": "history",
    }.items():
        monkeypatch.setenv(key, value)
    assert _cli(["db", "upgrade"]) == 3
    err = capsys.readouterr().err
    assert "cannot connect" in err
    assert secret not in err


def test_unreachable_database_error_hides_credentials(postgres_server: PostgresServer) -> None:
    wrong = "Sup3r-Secret-" + postgres_server.password
    engine = create_engine(postgres_server.url("history", password=wrong))
    with pytest.raises(DatabaseAuthenticationError) as failed:
        check_schema_compatible(engine)
    assert wrong not in str(failed.value)
    assert "***" in str(failed.value)
    assert wrong not in repr(engine)


def test_a_runs_drifted_features_read_back_worst_first(history: Engine) -> None:
    """What the operator reads when a run's termination message was lost."""
    rows = drift_rows(features=3)
    warning = replace(rows[2], drift_detected=True, severity=Severity.WARNING, statistic=0.9)
    write_run(history, run("credit-3"), [*rows[:2], warning, *rows[3:]], [])
    found = run_drifted_features(history, "credit-3")
    assert [(r.feature, r.method, r.severity) for r in found] == [
        ("f0", "psi", Severity.CRITICAL),
        ("f0", "ks", Severity.CRITICAL),
        ("f1", "psi", Severity.WARNING),
    ]
    assert run_drifted_features(history, "no-such-run") == []

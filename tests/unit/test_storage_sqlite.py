"""The embedded default: SQLite with the same migrations, and URL resolution from the env."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from storage_samples import alert, counts, drift_rows, performance_rows, run

from driftwarden.detectors.storage import (
    DatabaseConfigError,
    check_schema_compatible,
    create_engine,
    feature_trend,
    latest_status,
    mask_url,
    monitor_history,
    open_alerts,
    redact,
    resolve_database_url,
    write_run,
)
from driftwarden.detectors.storage.cli import add_db_subcommands


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="driftwarden")
    add_db_subcommands(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_no_url_configured_means_a_sqlite_file(tmp_path: Path) -> None:
    url = resolve_database_url({"XDG_DATA_HOME": str(tmp_path)})
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "driftwarden" / "driftwarden.db")
    with pytest.raises(DatabaseConfigError, match="DRIFTWARDEN_DATABASE_URL"):
        resolve_database_url({}, sqlite_default=False)


def test_url_from_the_environment() -> None:
    url = resolve_database_url({"DRIFTWARDEN_DATABASE_URL": "postgres://u:p@db/x"})
    assert url.drivername == "postgresql+psycopg2"
    pg = resolve_database_url(
        {"PGHOST": "db", "PGPORT": "5433", "PGUSER": "u", "PGPASSWORD": "s3cr3t", "PGDATABASE": "h"}
    )
    assert (pg.host, pg.port, pg.username, pg.password, pg.database) == (
        "db",
        5433,
        "u",
        "s3cr3t",
        "h",
    )
    assert "s3cr3t" not in mask_url(pg)
    with pytest.raises(DatabaseConfigError) as bad:
        resolve_database_url({"DRIFTWARDEN_DATABASE_URL": "::not a url s3cr3t@"})
    assert "s3cr3t" not in str(bad.value)


def test_redact_removes_passwords_in_any_form() -> None:
    text = (
        "postgresql://alice:hunter2@db:5432/x failed; dsn host=db password=hunter2 "
        "PASSWORD = 'hunter2 with spaces'"
    )
    cleaned = redact(text, ("hunter2",))
    assert "hunter2" not in cleaned
    assert "alice:***@db" in cleaned


def test_cli_upgrade_then_write_and_query_on_the_default_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DRIFTWARDEN_DATABASE_URL", "PGHOST", "PGDATABASE", "DRIFTWARDEN_SQLITE_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert _cli(["db", "check"]) == 2  # no schema yet: invalid until `db upgrade`
    assert "driftwarden db upgrade" in capsys.readouterr().err
    assert _cli(["db", "upgrade"]) == 0
    assert _cli(["db", "upgrade"]) == 0  # idempotent
    assert _cli(["db", "check"]) == 0
    database = tmp_path / "driftwarden" / "driftwarden.db"
    assert database.exists()

    engine = create_engine(make_url(f"sqlite:///{database}"))
    check_schema_compatible(engine)
    write_run(engine, run(), drift_rows(), performance_rows(), [alert()], batch_rows=4)
    write_run(
        engine, replace(run(), health_score=50.0), drift_rows(), performance_rows(), [alert()]
    )
    assert counts(engine) == {
        "monitor_runs": 1,
        "drift_results": 6,
        "performance_metrics": 2,
        "alerts": 1,
        "retrain_events": 0,
    }
    [latest] = latest_status(engine)
    assert latest == replace(run(), health_score=50.0)
    assert monitor_history(engine, "risk", "credit") == [latest]
    assert [p.method for p in feature_trend(engine, "risk", "credit", "f0")] == ["ks", "psi"]
    assert open_alerts(engine) == [alert()]

    def explode(table: str, written: int) -> None:
        raise RuntimeError("injected")

    with pytest.raises(RuntimeError):
        write_run(engine, run("other"), drift_rows(), progress=explode)
    assert counts(engine)["monitor_runs"] == 1
    engine.dispose()

    assert _cli(["db", "retention", "--keep-feature-rows", "1d", "--keep-runs", "2d"]) == 0
    assert "deleted drift_results 6" in capsys.readouterr().out
    assert _cli(["db", "retention", "--keep-feature-rows", "9d", "--keep-runs", "2d"]) == 2
    assert "cannot be kept longer" in capsys.readouterr().err


def test_models_match_the_migrations(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from driftwarden.detectors.storage import upgrade
    from driftwarden.detectors.storage.models import metadata

    engine = create_engine(make_url(f"sqlite:///{tmp_path / 'h.db'}"))
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_a_real_report_round_trips_through_the_history(tmp_path: Path) -> None:
    """The report of a real comparison, adapted and written to the embedded SQLite store."""
    from datetime import UTC, datetime

    import numpy as np
    import pandas as pd

    from driftwarden.detectors.config import DetectionSpec
    from driftwarden.detectors.engine import detect_frames
    from driftwarden.detectors.history import drift_rows, performance_rows, run_record
    from driftwarden.detectors.storage import create_engine, feature_trend, upgrade, write_run

    rng = np.random.default_rng(0)
    frame = lambda shift: pd.DataFrame(  # noqa: E731
        {"x": rng.normal(shift, 1, 500), "c": rng.choice(["a", "b"], 500),
         "p": rng.random(500), "y": rng.integers(0, 2, 500)}
    )  # fmt: skip
    spec = DetectionSpec.model_validate(
        {"prediction": {"column": "p"}, "labels": {"column": "y", "task": "binary"}}
    )
    report = detect_frames(frame(0.0), frame(1.0), spec)
    engine = create_engine(f"sqlite:///{tmp_path}/history.db")
    upgrade(engine)
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    record = run_record(report, run_id="r1", monitor_namespace="ns", monitor_name="m",
                        started_at=now, finished_at=now)  # fmt: skip
    write_run(engine, record, drift_rows(report), performance_rows(report), [])
    trend = feature_trend(engine, "ns", "m", "x", method="ks")
    assert len(trend) == 1
    assert trend[0].drift_detected is True

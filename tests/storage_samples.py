"""Sample runs for the storage tests (SQLite unit tests and Postgres integration tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import (
    AlertRow,
    DriftResultRow,
    DriftType,
    PerformanceRow,
    RunOutcome,
    RunRecord,
)

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def run(run_id: str = "credit-29012345", *, at: datetime = T0, name: str = "credit") -> RunRecord:
    return RunRecord(
        run_id=run_id,
        monitor_namespace="risk",
        monitor_name=name,
        monitor_uid="0b9f6c2e-1111-2222-3333-444455556666",
        model_name="credit-scoring",
        model_version="3.2.0",
        scheduled_at=at,
        started_at=at + timedelta(seconds=3),
        finished_at=at + timedelta(seconds=40),
        outcome=RunOutcome.SUCCEEDED,
        baseline_rows=812_331,
        current_rows=40_512,
        severity=Severity.CRITICAL,
        health_score=71.0,
        detector_version="0.1.0",
    )


def drift_rows(features: int = 3, methods: tuple[str, ...] = ("psi", "ks")) -> list[DriftResultRow]:
    rows = []
    for i in range(features):
        for method in methods:
            drifted = i == 0
            rows.append(
                DriftResultRow(
                    feature=f"f{i}",
                    method=method,
                    statistic=0.3 if drifted else 0.01 * (i + 1),
                    p_value=1e-7
                    if method == "ks" and drifted
                    else (0.5 if method == "ks" else None),
                    threshold=0.2 if method == "psi" else 0.05,
                    drift_detected=drifted,
                    severity=Severity.CRITICAL if drifted else Severity.NONE,
                    feature_kind="numeric",
                    drift_type=DriftType.DATA,
                )
            )
    return rows


def performance_rows() -> list[PerformanceRow]:
    return [
        PerformanceRow(metric="roc_auc", value=0.79, baseline_value=0.84),
        PerformanceRow(metric="accuracy", value=0.9, baseline_value=0.91),
    ]


def alert(run_id: str = "credit-29012345", alert_id: str = "risk/credit/data") -> AlertRow:
    return AlertRow(
        alert_id=alert_id,
        run_id=run_id,
        monitor_namespace="risk",
        monitor_name="credit",
        severity=Severity.CRITICAL,
        drift_type=DriftType.DATA,
        message="1/3 features drifted: f0 (PSI 0.30)",
        recommended_action="retrain on the last 30 days",
        affected_features=("f0",),
        fired_at=T0 + timedelta(seconds=40),
    )


def counts(engine: Engine) -> dict[str, int]:
    """Row count of every history table."""
    tables = ("monitor_runs", "drift_results", "performance_metrics", "alerts", "retrain_events")
    with engine.connect() as conn:
        return {
            t: int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one())
            for t in tables
        }

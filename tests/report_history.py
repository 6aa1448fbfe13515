"""A monitor's history for the report and history tests: real comparisons (the engine on
generated frames, drift growing run by run), written with the repository functions the
detector Job uses, plus an alert and a retraining decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.engine import detect_frames
from driftwarden.detectors.history import drift_rows, performance_rows, quality_rows, run_record
from driftwarden.detectors.report import Report
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import write_run
from driftwarden.detectors.storage.repository import record_retrain_event
from driftwarden.detectors.storage.types import (
    AlertRow,
    DriftType,
    RetrainDecision,
    RetrainEventRow,
)

NAMESPACE = "risk"
MONITOR = "credit"
HOSTILE = "<script>alert(1)</script>"


def _frame(rng: np.random.Generator, shift: float, rows: int = 600) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": rng.normal(shift, 1, rows),
            HOSTILE: rng.normal(0, 1, rows),
            "region": rng.choice(["a", "b", "c"] if shift < 0.5 else ["a", "b", "new"], rows),
            "p": rng.random(rows),
            "y": rng.integers(0, 2, rows),
        }
    )


def seed(engine: Engine, runs: int = 4, *, now: datetime | None = None) -> list[Report]:
    """Write `runs` runs of risk/credit, six hours apart ending an hour before `now`."""
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(3)
    spec = DetectionSpec.model_validate(
        {"prediction": {"column": "p"}, "labels": {"column": "y", "task": "binary"}}
    )
    reports = []
    for i in range(runs):
        report = detect_frames(_frame(rng, 0.0), _frame(rng, 0.3 * i), spec)
        started = now - timedelta(hours=1 + 6 * (runs - 1 - i))
        record = run_record(
            report,
            run_id=f"credit-{i}",
            monitor_namespace=NAMESPACE,
            monitor_name=MONITOR,
            started_at=started,
            finished_at=started + timedelta(minutes=1),
            model_name="credit",
            model_version="3",
        )
        alerts = []
        if report.drift_detected:
            alerts.append(
                AlertRow(
                    alert_id=f"alert-{i}",
                    monitor_namespace=NAMESPACE,
                    monitor_name=MONITOR,
                    severity=Severity.CRITICAL,
                    drift_type=DriftType.DATA,
                    message=f"drift in run {i} <b>",
                    fired_at=started + timedelta(minutes=2),
                    affected_features=tuple(f.name for f in report.drifted_features),
                    run_id=record.run_id,
                )
            )
        write_run(
            engine,
            record,
            drift_rows(report),
            performance_rows(report),
            alerts,
            quality=quality_rows(report),
        )
        reports.append(report)
    record_retrain_event(
        engine,
        RetrainEventRow(
            event_id="retrain-1",
            namespace=NAMESPACE,
            policy_name="credit",
            monitor_name=MONITOR,
            decision=RetrainDecision.TRIGGERED,
            reason="severity critical",
            created_at=now - timedelta(minutes=30),
            run_id=f"credit-{runs - 1}",
            job_name="credit-retrain-1",
        ),
    )
    return reports

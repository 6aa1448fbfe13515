"""Read side for reports and `driftwarden history`: one run's rows, a monitor's matrix of
feature severities, its metrics over time (the `performance_over_time` view), its alerts
and retrain decisions. Every value a user typed is a bound parameter, never SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.database import connection
from driftwarden.detectors.storage.types import (
    AlertRow,
    AlertState,
    DistributionRow,
    DriftResultRow,
    DriftType,
    PerformanceRow,
    QualityRow,
    RetrainDecision,
    RetrainEventRow,
)

#: The most drift rows one monitor report reads (features x methods x runs); beyond it the
#: oldest runs are left out and the page says so.
MAX_MATRIX_ROWS = 2_000_000


@dataclass(frozen=True, slots=True)
class RunRows:
    """Everything one run wrote beside its summary row."""

    drift: list[DriftResultRow]
    performance: list[PerformanceRow]
    quality: list[QualityRow]
    distributions: list[DistributionRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MatrixCell:
    run_id: str
    observed_at: datetime
    feature: str
    severity: Severity
    statistic: float | None
    method: str


@dataclass(frozen=True, slots=True)
class MetricPoint:
    run_id: str
    observed_at: datetime
    metric: str
    value: float | None
    baseline_value: float | None


def run_rows(engine: Engine, run_id: str) -> RunRows:
    """The drift results, metrics, quality findings and feature distributions of one run
    (empty when none)."""
    d, p, q = m.drift_results, m.performance_metrics, m.quality_findings
    f = m.feature_distributions
    with connection(engine) as conn:
        drift = [
            DriftResultRow.from_row(r)
            for r in conn.execute(
                sa.select(d).where(d.c.run_id == run_id).order_by(d.c.feature, d.c.method)
            ).mappings()
        ]
        performance = [
            PerformanceRow(
                metric=r.metric, value=r.value, baseline_value=r.baseline_value, split=r.split
            )
            for r in conn.execute(
                sa.select(p).where(p.c.run_id == run_id).order_by(p.c.metric, p.c.split)
            )
        ]
        quality = [
            QualityRow(
                column=r.column_name,
                severity=Severity(r.severity),
                kind=r.kind,
                details=dict(r.details or {}),
            )
            for r in conn.execute(
                sa.select(q).where(q.c.run_id == run_id).order_by(q.c.column_name)
            )
        ]
        distributions = [
            DistributionRow(feature=r.feature, kind=r.kind, distribution=r.distribution)
            for r in conn.execute(
                sa.select(f.c.feature, f.c.kind, f.c.distribution)
                .where(f.c.run_id == run_id)
                .order_by(f.c.feature)
            )
        ]
    return RunRows(
        drift=drift, performance=performance, quality=quality, distributions=distributions
    )


def drift_matrix(
    engine: Engine,
    namespace: str,
    name: str,
    *,
    since: datetime | None = None,
    drift_type: DriftType = DriftType.DATA,
    limit: int = MAX_MATRIX_ROWS,
) -> list[MatrixCell]:
    """Every feature x method result of a monitor's runs since `since`, newest first."""
    d = m.drift_results
    query = sa.select(
        d.c.run_id, d.c.observed_at, d.c.feature, d.c.severity, d.c.statistic, d.c.method
    ).where(
        d.c.monitor_namespace == namespace,
        d.c.monitor_name == name,
        d.c.drift_type == drift_type.value,
    )
    if since is not None:
        query = query.where(d.c.observed_at >= since)
    query = query.order_by(d.c.observed_at.desc(), d.c.feature, d.c.method).limit(limit)
    with connection(engine) as conn:
        return [
            MatrixCell(
                run_id=r.run_id,
                observed_at=r.observed_at,
                feature=r.feature,
                severity=Severity(r.severity),
                statistic=r.statistic,
                method=r.method,
            )
            for r in conn.execute(query)
        ]


def metric_series(
    engine: Engine, namespace: str, name: str, *, since: datetime | None = None
) -> list[MetricPoint]:
    """Performance metrics of a monitor's runs, oldest first (the `performance_over_time`
    view)."""
    v = m.performance_over_time
    query = sa.select(v).where(
        v.c.monitor_namespace == namespace, v.c.monitor_name == name, v.c.split == "current"
    )
    if since is not None:
        query = query.where(v.c.observed_at >= since)
    query = query.order_by(v.c.observed_at, v.c.metric)
    with connection(engine) as conn:
        return [
            MetricPoint(
                run_id=r.run_id,
                observed_at=r.observed_at,
                metric=r.metric,
                value=r.value,
                baseline_value=r.baseline_value,
            )
            for r in conn.execute(query)
        ]


def monitor_alerts(
    engine: Engine, namespace: str, name: str, *, since: datetime | None = None
) -> list[AlertRow]:
    """A monitor's alerts in every state, newest first."""
    a = m.alerts
    query = sa.select(a).where(a.c.monitor_namespace == namespace, a.c.monitor_name == name)
    if since is not None:
        query = query.where(a.c.fired_at >= since)
    query = query.order_by(a.c.fired_at.desc(), a.c.alert_id)
    with connection(engine) as conn:
        return [_alert(r) for r in conn.execute(query).mappings()]


def _alert(r: sa.RowMapping) -> AlertRow:
    return AlertRow(
        alert_id=r["alert_id"],
        run_id=r["run_id"],
        monitor_namespace=r["monitor_namespace"],
        monitor_name=r["monitor_name"],
        severity=Severity(r["severity"]),
        drift_type=DriftType(r["drift_type"]) if r["drift_type"] else None,
        affected_features=tuple(r["affected_features"] or ()),
        message=r["message"],
        recommended_action=r["recommended_action"],
        state=AlertState(r["state"]),
        fired_at=r["fired_at"],
        resolved_at=r["resolved_at"],
        acknowledged_at=r["acknowledged_at"],
        acknowledged_by=r["acknowledged_by"],
    )


def monitor_retrain_events(
    engine: Engine, namespace: str, name: str, *, since: datetime | None = None
) -> list[RetrainEventRow]:
    """Retraining decisions (triggered or skipped) about a monitor, newest first."""
    e = m.retrain_events
    query = sa.select(e).where(e.c.namespace == namespace, e.c.monitor_name == name)
    if since is not None:
        query = query.where(e.c.created_at >= since)
    query = query.order_by(e.c.created_at.desc(), e.c.event_id)
    with connection(engine) as conn:
        return [_event(r) for r in conn.execute(query).mappings()]


def _event(r: sa.RowMapping) -> RetrainEventRow:
    values: dict[str, Any] = dict(r)
    values["decision"] = RetrainDecision(values["decision"])
    return RetrainEventRow(**values)

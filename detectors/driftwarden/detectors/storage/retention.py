"""Retention: how long each kind of history is kept, applied in small batches.

The default keeps per-feature rows (drift results, performance metrics) 90 days, run
summaries, resolved alerts and retrain events one year. Deleting a run deletes its remaining
per-feature rows with it (cascade). Each batch is its own short transaction, so a large
clean-up never holds long locks; running the command again continues where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from driftwarden.detectors.config import parse_duration
from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.database import transaction
from driftwarden.detectors.storage.types import AlertState


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    feature_rows: timedelta = timedelta(days=90)
    runs: timedelta = timedelta(days=365)
    resolved_alerts: timedelta = timedelta(days=365)
    retrain_events: timedelta = timedelta(days=365)

    def __post_init__(self) -> None:
        for name in ("feature_rows", "runs", "resolved_alerts", "retrain_events"):
            if getattr(self, name) <= timedelta():
                raise ValueError(f"retention {name} must be positive")
        if self.feature_rows > self.runs:
            raise ValueError("per-feature rows cannot be kept longer than the runs they belong to")

    @classmethod
    def from_durations(
        cls,
        *,
        feature_rows: str = "90d",
        runs: str = "365d",
        resolved_alerts: str = "365d",
        retrain_events: str = "365d",
    ) -> RetentionPolicy:
        return cls(
            feature_rows=parse_duration(feature_rows),
            runs=parse_duration(runs),
            resolved_alerts=parse_duration(resolved_alerts),
            retrain_events=parse_duration(retrain_events),
        )


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """Rows deleted (or, in a dry run, that would be deleted) per table."""

    deleted: dict[str, int]
    dry_run: bool


def _targets(
    policy: RetentionPolicy, now: datetime
) -> list[tuple[sa.Table, sa.ColumnElement[bool]]]:
    alerts = m.alerts
    return [
        (
            m.drift_results,
            m.drift_results.c.observed_at < now - policy.feature_rows,
        ),
        (
            m.performance_metrics,
            m.performance_metrics.c.observed_at < now - policy.feature_rows,
        ),
        (
            m.quality_findings,
            m.quality_findings.c.observed_at < now - policy.feature_rows,
        ),
        (
            m.feature_distributions,
            m.feature_distributions.c.observed_at < now - policy.feature_rows,
        ),
        (
            alerts,
            sa.and_(
                alerts.c.state == AlertState.RESOLVED.value,
                alerts.c.resolved_at < now - policy.resolved_alerts,
            ),
        ),
        (
            m.retrain_events,
            m.retrain_events.c.created_at < now - policy.retrain_events,
        ),
        (m.monitor_runs, m.monitor_runs.c.started_at < now - policy.runs),
    ]


def apply_retention(
    engine: Engine,
    policy: RetentionPolicy,
    now: datetime,
    *,
    dry_run: bool = False,
    batch_rows: int = 10_000,
) -> RetentionResult:
    """Delete what the policy no longer keeps (as of `now`, timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    deleted: dict[str, int] = {}
    for table, expired in _targets(policy, now):
        key = sa.tuple_(*table.primary_key.columns)
        if dry_run:
            with transaction(engine) as conn:
                count = conn.execute(sa.select(sa.func.count()).select_from(table).where(expired))
                deleted[table.name] = int(count.scalar_one())
            continue
        total = 0
        while True:
            batch = sa.select(*table.primary_key.columns).where(expired).limit(batch_rows)
            with transaction(engine) as conn:
                removed = conn.execute(sa.delete(table).where(key.in_(batch))).rowcount
            total += removed
            if removed < batch_rows:
                break
        deleted[table.name] = total
    return RetentionResult(deleted=deleted, dry_run=dry_run)

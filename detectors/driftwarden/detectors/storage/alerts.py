"""Alert history: what Alertmanager notified, acknowledgements, and the read side.

The operator's webhook receiver hands every alert of a notification to
`record_notifications`. One alert of Alertmanager is one row, keyed by its fingerprint and
the time it started firing (`alert_id` is derived from both, and the pair is unique): a
notification sent again, or a firing alert repeated every `repeat_interval`, updates that
row (`notifications` counts them) and never adds one. A resolved notification resolves it;
a late firing notification never reopens a resolved alert or undoes an acknowledgement.

Every value comes from the network, so every value is a bound parameter, never SQL text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.database import (
    DatabaseConfigError,
    connection,
    transaction,
)
from driftwarden.detectors.storage.types import AlertState, DriftType

__all__ = [
    "AlertRecord",
    "ReceivedAlert",
    "RecordResult",
    "acknowledge_monitor_alerts",
    "alert_id_for",
    "list_alerts",
    "record_notifications",
    "release_monitor_alerts",
]

#: Most rows `list_alerts` returns.
MAX_LIST = 100_000


def alert_id_for(fingerprint: str, starts_at: datetime) -> str:
    """The row key of one firing of an Alertmanager alert (stable across re-sends)."""
    stamp = starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"am-{fingerprint}-{stamp}"


@dataclass(frozen=True, slots=True)
class ReceivedAlert:
    """One alert of an Alertmanager notification, validated and mapped by the receiver."""

    fingerprint: str
    state: AlertState  # FIRING or RESOLVED, as Alertmanager said
    alertname: str
    namespace: str  # "" for an alert about no monitor (the operator itself)
    monitor: str
    severity: Severity
    message: str
    starts_at: datetime
    ends_at: datetime | None = None
    drift_type: DriftType | None = None
    features: tuple[str, ...] = ()
    recommended_action: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state == AlertState.ACKNOWLEDGED:
            raise ValueError("Alertmanager notifies firing or resolved alerts only")
        for name in ("starts_at", "ends_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")

    @property
    def alert_id(self) -> str:
        return alert_id_for(self.fingerprint, self.starts_at)


@dataclass(frozen=True, slots=True)
class RecordResult:
    new: int
    updated: int


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One row of `alerts` as the CLI shows it."""

    alert_id: str
    monitor_namespace: str
    monitor_name: str
    alertname: str | None
    severity: Severity
    state: AlertState
    fired_at: datetime
    message: str
    affected_features: tuple[str, ...]
    recommended_action: str | None
    drift_type: DriftType | None
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    fingerprint: str | None
    ends_at: datetime | None
    last_notified_at: datetime | None
    notifications: int | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


def _insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert
    if conn.dialect.name == "sqlite":
        return sqlite.insert
    raise DatabaseConfigError(
        f"writing to a {conn.dialect.name} database is not supported (PostgreSQL, SQLite)"
    )


def _values(alert: ReceivedAlert, at: datetime) -> dict[str, Any]:
    resolved = alert.state == AlertState.RESOLVED
    return {
        "alert_id": alert.alert_id,
        "run_id": None,
        "monitor_namespace": alert.namespace,
        "monitor_name": alert.monitor,
        "severity": str(alert.severity),
        "drift_type": None if alert.drift_type is None else str(alert.drift_type),
        "affected_features": list(alert.features),
        "message": alert.message,
        "recommended_action": alert.recommended_action,
        "state": str(alert.state),
        "fired_at": alert.starts_at,
        "resolved_at": (alert.ends_at or at) if resolved else None,
        "fingerprint": alert.fingerprint,
        "alertname": alert.alertname,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "ends_at": alert.ends_at,
        "last_notified_at": at,
        "notifications": 1,
    }


def _record(conn: Connection, alerts: list[ReceivedAlert], at: datetime) -> None:
    """One upsert statement for every alert (executemany: batched VALUES on PostgreSQL)."""
    a = m.alerts
    statement = _insert(conn)(a)
    new = statement.excluded
    resolving = new.state == AlertState.RESOLVED.value
    # A resolved notification resolves (its end time is when); a firing one keeps the
    # state it finds, so a late or repeated firing never reopens or un-acknowledges.
    update = {
        "state": sa.case((resolving, new.state), else_=a.c.state),
        "resolved_at": sa.case((resolving, new.resolved_at), else_=a.c.resolved_at),
        "ends_at": new.ends_at,
        "severity": new.severity,
        "drift_type": new.drift_type,
        "affected_features": new.affected_features,
        "message": new.message,
        "recommended_action": new.recommended_action,
        "alertname": new.alertname,
        "labels": new.labels,
        "annotations": new.annotations,
        "last_notified_at": new.last_notified_at,
        "notifications": sa.func.coalesce(a.c.notifications, 0) + 1,
    }
    conn.execute(
        statement.on_conflict_do_update(index_elements=[a.c.alert_id], set_=update),
        [_values(alert, at) for alert in alerts],
    )


def record_notifications(
    engine: Engine, alerts: Sequence[ReceivedAlert], at: datetime
) -> RecordResult:
    """Record the alerts of one notification in one transaction (all or none)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    unique = {alert.alert_id: alert for alert in alerts}
    if not unique:
        return RecordResult(new=0, updated=0)
    a = m.alerts
    with transaction(engine) as conn:
        known = set(
            conn.execute(sa.select(a.c.alert_id).where(a.c.alert_id.in_(list(unique)))).scalars()
        )
        # In key order: two replicas writing the same alerts lock their rows in the same
        # order, so concurrent notifications never deadlock.
        _record(conn, [unique[alert_id] for alert_id in sorted(unique)], at)
    return RecordResult(new=len(unique) - len(known), updated=len(known))


def acknowledge_monitor_alerts(
    engine: Engine, namespace: str, monitor: str, by: str, at: datetime
) -> int:
    """Mark a monitor's firing alerts acknowledged (by whom, when); the rows changed."""
    a = m.alerts
    with transaction(engine) as conn:
        result = conn.execute(
            sa.update(a)
            .where(
                a.c.monitor_namespace == namespace,
                a.c.monitor_name == monitor,
                a.c.state == AlertState.FIRING.value,
            )
            .values(state=AlertState.ACKNOWLEDGED.value, acknowledged_at=at, acknowledged_by=by)
        )
        return int(result.rowcount)


def release_monitor_alerts(engine: Engine, namespace: str, monitor: str) -> int:
    """The acknowledgement was withdrawn or expired: the monitor's acknowledged alerts are
    firing again (who acknowledged them, and when, stays on the row); the rows changed."""
    a = m.alerts
    with transaction(engine) as conn:
        result = conn.execute(
            sa.update(a)
            .where(
                a.c.monitor_namespace == namespace,
                a.c.monitor_name == monitor,
                a.c.state == AlertState.ACKNOWLEDGED.value,
            )
            .values(state=AlertState.FIRING.value)
        )
        return int(result.rowcount)


def list_alerts(
    engine: Engine,
    *,
    namespace: str | None = None,
    monitor: str | None = None,
    states: Iterable[AlertState] = (),
    since: datetime | None = None,
    limit: int = 1000,
) -> list[AlertRecord]:
    """Alerts, newest first, filtered by namespace, monitor, state and start time."""
    if not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be 1 to {MAX_LIST}, got {limit}")
    a = m.alerts
    query = sa.select(a)
    if namespace is not None:
        query = query.where(a.c.monitor_namespace == namespace)
    if monitor is not None:
        query = query.where(a.c.monitor_name == monitor)
    wanted = sorted({state.value for state in states})
    if wanted:
        query = query.where(a.c.state.in_(wanted))
    if since is not None:
        query = query.where(a.c.fired_at >= since)
    query = query.order_by(a.c.fired_at.desc(), a.c.alert_id).limit(limit)
    with connection(engine) as conn:
        return [_from_row(r) for r in conn.execute(query).mappings()]


def _from_row(r: sa.RowMapping) -> AlertRecord:
    return AlertRecord(
        alert_id=r["alert_id"],
        monitor_namespace=r["monitor_namespace"],
        monitor_name=r["monitor_name"],
        alertname=r["alertname"],
        severity=Severity(r["severity"]),
        state=AlertState(r["state"]),
        fired_at=r["fired_at"],
        message=r["message"],
        affected_features=tuple(r["affected_features"] or ()),
        recommended_action=r["recommended_action"],
        drift_type=DriftType(r["drift_type"]) if r["drift_type"] else None,
        resolved_at=r["resolved_at"],
        acknowledged_at=r["acknowledged_at"],
        acknowledged_by=r["acknowledged_by"],
        fingerprint=r["fingerprint"],
        ends_at=r["ends_at"],
        last_notified_at=r["last_notified_at"],
        notifications=r["notifications"],
        labels=dict(r["labels"] or {}),
        annotations=dict(r["annotations"] or {}),
    )

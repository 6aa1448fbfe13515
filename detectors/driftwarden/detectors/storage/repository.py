"""Writing runs, alerts and retrain events, and the queries the rest of the product uses.

A run is written in one transaction: its summary, every drift result, every performance
metric and the alerts it raised — all or nothing. Writing a run id again replaces that run
(a retried Job leaves one copy, with the retry's results). On PostgreSQL the child rows go
through COPY on the same connection and transaction; elsewhere through batched executemany.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.database import (
    StorageError,
    connection,
    describe_error,
    mask_url,
    transaction,
)
from driftwarden.detectors.storage.types import (
    AlertRow,
    AlertState,
    DriftResultRow,
    DriftType,
    FeaturePoint,
    PerformanceRow,
    RetrainEventRow,
    RunOutcome,
    RunRecord,
    Severity,
)

DEFAULT_BATCH_ROWS = 10_000

# Called after each batch of child rows: (table name, rows written so far in that table).
# Used to report progress, and by the tests to inject a failure in the middle of a write.
ProgressHook = Callable[[str, int], None]


def _finite(value: float | None) -> float | None:
    """NaN is stored as NULL (SQLite cannot store NaN; one policy for both backends)."""
    if value is None or math.isnan(value):
        return None
    return float(value)


def _run_values(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "monitor_namespace": run.monitor_namespace,
        "monitor_name": run.monitor_name,
        "monitor_uid": run.monitor_uid,
        "model_name": run.model_name,
        "model_version": run.model_version,
        "scheduled_at": run.scheduled_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "outcome": str(run.outcome),
        "error_reason": run.error_reason,
        "baseline_rows": run.baseline_rows,
        "current_rows": run.current_rows,
        "severity": str(run.severity),
        "health_score": _finite(run.health_score),
        "detector_version": run.detector_version,
    }


_DRIFT_COLUMNS = (
    "run_id",
    "monitor_namespace",
    "monitor_name",
    "observed_at",
    "feature",
    "method",
    "drift_type",
    "feature_kind",
    "statistic",
    "p_value",
    "threshold",
    "drift_detected",
    "severity",
)
_PERFORMANCE_COLUMNS = (
    "run_id",
    "monitor_namespace",
    "monitor_name",
    "observed_at",
    "metric",
    "value",
    "baseline_value",
    "split",
)


def _drift_tuples(run: RunRecord, rows: Iterable[DriftResultRow]) -> Iterator[tuple[Any, ...]]:
    head = (run.run_id, run.monitor_namespace, run.monitor_name, run.started_at)
    for r in rows:
        yield (
            *head,
            r.feature,
            r.method,
            str(r.drift_type),
            r.feature_kind,
            _finite(r.statistic),
            _finite(r.p_value),
            _finite(r.threshold),
            bool(r.drift_detected),
            str(r.severity),
        )


def _performance_tuples(
    run: RunRecord, rows: Iterable[PerformanceRow]
) -> Iterator[tuple[Any, ...]]:
    head = (run.run_id, run.monitor_namespace, run.monitor_name, run.started_at)
    for r in rows:
        yield (*head, r.metric, _finite(r.value), _finite(r.baseline_value), r.split)


def _batches(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# --- COPY (PostgreSQL) -------------------------------------------------------------------

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    """One value in COPY's text format (NULL is \\N; specials escaped)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, float):
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_rows(
    conn: Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    buffer = io.StringIO()
    buffer.writelines("\t".join(map(_copy_field, row)) + "\n" for row in rows)
    buffer.seek(0)
    preparer = conn.dialect.identifier_preparer
    target = preparer.format_table(table)
    names = ", ".join(preparer.quote(c) for c in columns)
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is None:  # pragma: no cover - an open Connection always has one
        raise StorageError("the database connection was closed during a write")
    cursor = dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {target} ({names}) FROM STDIN", buffer)
    except conn.dialect.loaded_dbapi.Error as error:
        # The raw cursor's errors do not pass through SQLAlchemy: translate them here.
        raise StorageError(
            f"writing {table.name} to {mask_url(conn.engine.url)} failed: "
            f"{describe_error(error, conn.engine.url)}"
        ) from None
    finally:
        if not cursor.closed:
            cursor.close()


def _insert_rows(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    *,
    batch_rows: int,
    progress: ProgressHook | None,
) -> int:
    use_copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg2"
    written = 0
    for batch in _batches(rows, batch_rows):
        if use_copy:
            _copy_rows(conn, table, columns, batch)
        else:
            conn.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in batch])
        written += len(batch)
        if progress is not None:
            progress(table.name, written)
    return written


def _upsert(
    conn: Connection, table: sa.Table, key: str, values: dict[str, Any], update: Sequence[str]
) -> None:
    name = conn.dialect.name
    if name == "postgresql":
        pg = postgresql.insert(table).values(values)
        conn.execute(
            pg.on_conflict_do_update(index_elements=[key], set_={c: pg.excluded[c] for c in update})
        )
    elif name == "sqlite":
        lite = sqlite.insert(table).values(values)
        conn.execute(
            lite.on_conflict_do_update(
                index_elements=[key], set_={c: lite.excluded[c] for c in update}
            )
        )
    else:
        raise StorageError(f"writing to a {name} database is not supported (PostgreSQL, SQLite)")


# --- writes ------------------------------------------------------------------------------


def write_run(
    engine: Engine,
    run: RunRecord,
    drift_results: Iterable[DriftResultRow] = (),
    performance: Iterable[PerformanceRow] = (),
    alerts: Iterable[AlertRow] = (),
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: ProgressHook | None = None,
) -> int:
    """Write one run and everything it produced in one transaction; return the child rows
    written. An existing run with the same id is replaced (its children deleted with it);
    alerts are upserted by id, keeping their acknowledgement and resolution."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    with transaction(engine) as conn:
        conn.execute(sa.delete(m.monitor_runs).where(m.monitor_runs.c.run_id == run.run_id))
        conn.execute(sa.insert(m.monitor_runs).values(_run_values(run)))
        written = _insert_rows(
            conn,
            m.drift_results,
            _DRIFT_COLUMNS,
            _drift_tuples(run, drift_results),
            batch_rows=batch_rows,
            progress=progress,
        )
        written += _insert_rows(
            conn,
            m.performance_metrics,
            _PERFORMANCE_COLUMNS,
            _performance_tuples(run, performance),
            batch_rows=batch_rows,
            progress=progress,
        )
        for alert in alerts:
            _write_alert(conn, alert)
    return written


_ALERT_REFRESHED = (
    "run_id",
    "monitor_namespace",
    "monitor_name",
    "severity",
    "drift_type",
    "affected_features",
    "message",
    "recommended_action",
)


def _write_alert(conn: Connection, alert: AlertRow) -> None:
    values = {
        "alert_id": alert.alert_id,
        "run_id": alert.run_id,
        "monitor_namespace": alert.monitor_namespace,
        "monitor_name": alert.monitor_name,
        "severity": str(alert.severity),
        "drift_type": str(alert.drift_type),
        "affected_features": list(alert.affected_features),
        "message": alert.message,
        "recommended_action": alert.recommended_action,
        "state": str(alert.state),
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
    }
    _upsert(conn, m.alerts, "alert_id", values, _ALERT_REFRESHED)


def upsert_alert(engine: Engine, alert: AlertRow) -> None:
    """Insert an alert, or refresh its content (state and acknowledgement are kept)."""
    with transaction(engine) as conn:
        _write_alert(conn, alert)


def acknowledge_alert(engine: Engine, alert_id: str, by: str, at: datetime) -> bool:
    """Mark a firing alert acknowledged; False when there is no such firing alert."""
    with transaction(engine) as conn:
        result = conn.execute(
            sa.update(m.alerts)
            .where(m.alerts.c.alert_id == alert_id, m.alerts.c.state == AlertState.FIRING.value)
            .values(state=AlertState.ACKNOWLEDGED.value, acknowledged_at=at, acknowledged_by=by)
        )
        return result.rowcount == 1


def resolve_alert(engine: Engine, alert_id: str, at: datetime) -> bool:
    """Resolve an open alert; False when there is no such open alert."""
    with transaction(engine) as conn:
        result = conn.execute(
            sa.update(m.alerts)
            .where(m.alerts.c.alert_id == alert_id, m.alerts.c.state != AlertState.RESOLVED.value)
            .values(state=AlertState.RESOLVED.value, resolved_at=at)
        )
        return result.rowcount == 1


def record_retrain_event(engine: Engine, event: RetrainEventRow) -> None:
    """Insert a retrain decision, or update it (job name, outcome, finish) by event id."""
    values = {
        "event_id": event.event_id,
        "namespace": event.namespace,
        "policy_name": event.policy_name,
        "monitor_name": event.monitor_name,
        "run_id": event.run_id,
        "decision": str(event.decision),
        "reason": event.reason,
        "job_name": event.job_name,
        "outcome": event.outcome,
        "created_at": event.created_at,
        "finished_at": event.finished_at,
    }
    with transaction(engine) as conn:
        _upsert(conn, m.retrain_events, "event_id", values, [k for k in values if k != "event_id"])


# --- queries -----------------------------------------------------------------------------


def _run_from_row(row: sa.RowMapping) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        monitor_namespace=row["monitor_namespace"],
        monitor_name=row["monitor_name"],
        monitor_uid=row["monitor_uid"],
        model_name=row["model_name"],
        model_version=row["model_version"],
        scheduled_at=row["scheduled_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        outcome=RunOutcome(row["outcome"]),
        error_reason=row["error_reason"],
        baseline_rows=row["baseline_rows"],
        current_rows=row["current_rows"],
        severity=Severity(row["severity"]),
        health_score=row["health_score"],
        detector_version=row["detector_version"],
    )


def monitor_history(
    engine: Engine,
    namespace: str,
    name: str,
    *,
    since: datetime | None = None,
    limit: int = 100,
) -> list[RunRecord]:
    """A monitor's runs, newest first."""
    runs = m.monitor_runs
    query = (
        sa.select(runs)
        .where(runs.c.monitor_namespace == namespace, runs.c.monitor_name == name)
        .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(runs.c.started_at >= since)
    with connection(engine) as conn:
        return [_run_from_row(r) for r in conn.execute(query).mappings()]


def latest_status(engine: Engine, namespace: str | None = None) -> list[RunRecord]:
    """The latest run of every monitor (of one namespace when given), by namespace/name."""
    view = m.latest_monitor_runs
    query = sa.select(view).order_by(view.c.monitor_namespace, view.c.monitor_name)
    if namespace is not None:
        query = query.where(view.c.monitor_namespace == namespace)
    with connection(engine) as conn:
        return [_run_from_row(r) for r in conn.execute(query).mappings()]


def feature_trend(
    engine: Engine,
    namespace: str,
    name: str,
    feature: str,
    *,
    method: str | None = None,
    drift_type: DriftType | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[FeaturePoint]:
    """A feature's drift statistics over time, oldest first (the newest `limit` points)."""
    d = m.drift_results
    query = sa.select(
        d.c.run_id,
        d.c.observed_at,
        d.c.method,
        d.c.statistic,
        d.c.p_value,
        d.c.drift_detected,
        d.c.severity,
    ).where(d.c.monitor_namespace == namespace, d.c.monitor_name == name, d.c.feature == feature)
    if method is not None:
        query = query.where(d.c.method == method)
    if drift_type is not None:
        query = query.where(d.c.drift_type == drift_type.value)
    if since is not None:
        query = query.where(d.c.observed_at >= since)
    query = query.order_by(d.c.observed_at.desc(), d.c.method.desc()).limit(limit)
    with connection(engine) as conn:
        rows = conn.execute(query).all()
    points = [
        FeaturePoint(
            run_id=r.run_id,
            observed_at=r.observed_at,
            method=r.method,
            statistic=r.statistic,
            p_value=r.p_value,
            drift_detected=bool(r.drift_detected),
            severity=Severity(r.severity),
        )
        for r in rows
    ]
    points.reverse()
    return points


def open_alerts(
    engine: Engine, namespace: str | None = None, name: str | None = None
) -> list[AlertRow]:
    """Alerts that are firing or acknowledged (not resolved), newest first."""
    a = m.alerts
    query = sa.select(a).where(a.c.state != AlertState.RESOLVED.value)
    if namespace is not None:
        query = query.where(a.c.monitor_namespace == namespace)
    if name is not None:
        query = query.where(a.c.monitor_name == name)
    query = query.order_by(a.c.fired_at.desc(), a.c.alert_id)
    with connection(engine) as conn:
        return [
            AlertRow(
                alert_id=r["alert_id"],
                run_id=r["run_id"],
                monitor_namespace=r["monitor_namespace"],
                monitor_name=r["monitor_name"],
                severity=Severity(r["severity"]),
                drift_type=DriftType(r["drift_type"]),
                affected_features=tuple(r["affected_features"]),
                message=r["message"],
                recommended_action=r["recommended_action"],
                state=AlertState(r["state"]),
                fired_at=r["fired_at"],
                resolved_at=r["resolved_at"],
                acknowledged_at=r["acknowledged_at"],
                acknowledged_by=r["acknowledged_by"],
            )
            for r in conn.execute(query).mappings()
        ]

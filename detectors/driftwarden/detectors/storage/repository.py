"""Writing runs, alerts and retrain events, and the queries the rest of the product uses.

A run is written in one transaction: its summary, every drift result, every performance
metric, its quality findings and the alerts it raised — all or nothing. Writing a run id
again replaces that run (a retried Job leaves one copy, with the retry's results). On
PostgreSQL the child rows go through COPY on the same connection and transaction; elsewhere
through batched executemany.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from typing import Any, AnyStr, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.database import (
    INSUFFICIENT_PRIVILEGE,
    DatabaseConfigError,
    DatabaseOperationError,
    DatabasePermissionError,
    connection,
    describe_error,
    mask_url,
    transaction,
)
from driftwarden.detectors.storage.types import (
    AlertRow,
    AlertState,
    DistributionRow,
    DriftResultRow,
    DriftType,
    FeaturePoint,
    PerformanceRow,
    QualityRow,
    ReferenceProfile,
    RetrainEventRow,
    RunOutcome,
    RunRecord,
    Severity,
)

DEFAULT_BATCH_ROWS = 10_000
T = TypeVar("T")

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
        "failure_reason": run.failure_reason,
        "spec_hash": run.spec_hash,
        "settings": None if run.settings is None else dict(run.settings),
        "settings_hash": run.settings_hash,
        "baseline_profile_hash": run.baseline_profile_hash,
        "baseline_profile_name": run.baseline_profile_name,
        "baseline_start": run.baseline_start,
        "baseline_end": run.baseline_end,
        "current_start": run.current_start,
        "current_end": run.current_end,
        "baseline_labelled_rows": run.baseline_labelled_rows,
        "current_labelled_rows": run.current_labelled_rows,
    }


# Column order of the COPY lines and of the executemany tuples below.
_DRIFT_COLUMNS = (
    "monitor_namespace",
    "monitor_name",
    "feature",
    "observed_at",
    "run_id",
    "method",
    "drift_type",
    "feature_kind",
    "statistic",
    "p_value",
    "threshold",
    "drift_detected",
    "severity",
    "p_value_adjusted",
)
_PERFORMANCE_COLUMNS = (
    "monitor_namespace",
    "monitor_name",
    "metric",
    "observed_at",
    "run_id",
    "split",
    "value",
    "baseline_value",
)


def _drift_tuple(run: RunRecord) -> Callable[[DriftResultRow], tuple[Any, ...]]:
    def row(r: DriftResultRow) -> tuple[Any, ...]:
        return (
            run.monitor_namespace,
            run.monitor_name,
            r.feature,
            run.started_at,
            run.run_id,
            r.method,
            str(r.drift_type),
            r.feature_kind,
            _finite(r.statistic),
            _finite(r.p_value),
            _finite(r.threshold),
            bool(r.drift_detected),
            str(r.severity),
            _finite(r.p_value_adjusted),
        )

    return row


def _performance_tuple(run: RunRecord) -> Callable[[PerformanceRow], tuple[Any, ...]]:
    def row(r: PerformanceRow) -> tuple[Any, ...]:
        return (
            run.monitor_namespace,
            run.monitor_name,
            r.metric,
            run.started_at,
            run.run_id,
            r.split,
            _finite(r.value),
            _finite(r.baseline_value),
        )

    return row


# --- COPY (PostgreSQL) -------------------------------------------------------------------
# COPY's text format: tab-separated, NULL is \N, backslash, tab, newline and carriage
# return escaped. Lines are formatted with one f-string per row: at 100k+ rows/s the
# per-value function calls of a generic formatter would dominate.

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def _number(value: float | None) -> str:
    if value is None or value != value:  # NaN is stored as NULL, like everywhere else
        return "\\N"
    return repr(float(value))  # 'inf' / '-inf' are valid float8 input


def _drift_line(run: RunRecord) -> Callable[[DriftResultRow], str]:
    """The COPY line of a drift result. The repeating parts (a feature's key prefix, the
    method/type/kind and verdict columns) are formatted once and reused from small caches;
    only the three numbers are formatted per row."""
    monitor = _text(run.monitor_namespace) + "\t" + _text(run.monitor_name)
    tail = run.started_at.astimezone(UTC).isoformat() + "\t" + _text(run.run_id)
    null = "\\N"
    heads: dict[str, str] = {}
    middles: dict[tuple[str, str, str | None], str] = {}
    ends: dict[tuple[bool, str], str] = {}

    def line(r: DriftResultRow) -> str:
        head = heads.get(r.feature)
        if head is None:
            head = heads[r.feature] = f"{monitor}\t{_text(r.feature)}\t{tail}\t"
        kind = (r.method, r.drift_type, r.feature_kind)
        middle = middles.get(kind)
        if middle is None:
            middle = middles[kind] = (
                f"{_text(r.method)}\t{_text(str(r.drift_type))}\t{_text(r.feature_kind)}\t"
            )
        verdict = (r.drift_detected, r.severity)
        end = ends.get(verdict)
        if end is None:
            flag = "t" if r.drift_detected else "f"
            end = ends[verdict] = f"\t{flag}\t{_text(str(r.severity))}\t"
        st, pv, th, pa = r.statistic, r.p_value, r.threshold, r.p_value_adjusted
        return (
            f"{head}{middle}{null if st is None or st != st else repr(float(st))}"
            f"\t{null if pv is None or pv != pv else repr(float(pv))}"
            f"\t{null if th is None or th != th else repr(float(th))}{end}"
            f"{null if pa is None or pa != pa else repr(float(pa))}\n"
        )

    return line


def _performance_line(run: RunRecord) -> Callable[[PerformanceRow], str]:
    monitor = _text(run.monitor_namespace) + "\t" + _text(run.monitor_name)
    tail = run.started_at.astimezone(UTC).isoformat() + "\t" + _text(run.run_id)

    def line(r: PerformanceRow) -> str:
        return (
            f"{monitor}\t{_text(r.metric)}\t{tail}\t{_text(r.split)}"
            f"\t{_number(r.value)}\t{_number(r.baseline_value)}\n"
        )

    return line


# Binary COPY (PostgreSQL's own format) for drift results, the high-volume rows: floats and
# times are packed, not printed and parsed. A row is the field count, then per field a
# 4-byte length (-1 for NULL) and the value: text as UTF-8, float8 big-endian IEEE 754,
# timestamptz as microseconds since 2000-01-01 UTC, bool as one byte.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BINARY_TRAILER = struct.pack(">h", -1)
_BINARY_NULL = struct.pack(">i", -1)
_FLOAT8 = struct.Struct(">id")
_FLOAT8_X3 = struct.Struct(">ididid")
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _binary_text(value: str | None) -> bytes:
    if value is None:
        return _BINARY_NULL
    data = value.encode()
    return struct.pack(">i", len(data)) + data


def _binary_time(value: datetime) -> bytes:
    micros = (value - _PG_EPOCH) // timedelta(microseconds=1)
    return struct.pack(">iq", 8, micros)


def _server_is_utf8(conn: Connection) -> bool:
    encoding = conn.exec_driver_sql("SHOW server_encoding").scalar_one()
    return str(encoding).upper() in ("UTF8", "UTF-8")


def _drift_binary(run: RunRecord) -> Callable[[DriftResultRow], bytes]:
    """The binary COPY row of a drift result. The parts that repeat across rows (a
    feature's key prefix, method/type/kind, the verdict) are encoded once and cached."""
    monitor = struct.pack(">h", len(_DRIFT_COLUMNS)) + (
        _binary_text(run.monitor_namespace) + _binary_text(run.monitor_name)
    )
    tail = _binary_time(run.started_at) + _binary_text(run.run_id)
    null, pack = _BINARY_NULL, _FLOAT8.pack
    pack3 = _FLOAT8_X3.pack
    heads: dict[str, bytes] = {}
    middles: dict[tuple[str, str, str | None], bytes] = {}
    ends: dict[tuple[bool, str], bytes] = {}

    def row(r: DriftResultRow) -> bytes:
        head = heads.get(r.feature)
        if head is None:  # a feature repeats once per method
            head = heads[r.feature] = monitor + _binary_text(r.feature) + tail
        kind = (r.method, r.drift_type, r.feature_kind)
        middle = middles.get(kind)
        if middle is None:  # a handful of combinations per run
            middle = middles[kind] = (
                _binary_text(r.method)
                + _binary_text(str(r.drift_type))
                + _binary_text(r.feature_kind)
            )
        prefix = head + middle
        verdict = (r.drift_detected, r.severity)
        end = ends.get(verdict)
        if end is None:
            flag = b"\x00\x00\x00\x01" + (b"\x01" if r.drift_detected else b"\x00")
            end = ends[verdict] = flag + _binary_text(str(r.severity))
        st, pv, th, pa = r.statistic, r.p_value, r.threshold, r.p_value_adjusted
        adjusted = null if pa is None or pa != pa else pack(8, pa)
        if (
            st is not None and pv is not None and th is not None and st == st and pv == pv
        ) and th == th:  # no NULL and no NaN (x != x): the common case, packed at once
            return prefix + pack3(8, st, 8, pv, 8, th) + end + adjusted
        return b"".join(
            (
                prefix,
                null if st is None or st != st else pack(8, st),
                null if pv is None or pv != pv else pack(8, pv),
                null if th is None or th != th else pack(8, th),
                end,
                adjusted,
            )
        )

    return row


class _LineReader(Generic[AnyStr]):
    """A file-like object COPY reads from, formatting rows only as the driver asks for
    them: the server parses one block while the next is being formatted."""

    def __init__(self, lines: Iterator[AnyStr], empty: AnyStr) -> None:
        self._lines: Iterator[AnyStr] = lines
        self._empty: AnyStr = empty
        self._pending: AnyStr = empty

    def read(self, size: int = -1) -> AnyStr:
        parts: list[AnyStr] = [self._pending]
        filled = len(self._pending)
        for line in self._lines:
            parts.append(line)
            filled += len(line)
            if 0 <= size <= filled:
                break
        data: AnyStr = self._empty.join(parts)
        if size < 0:
            self._pending = self._empty
            return data
        self._pending = data[size:]
        return data[:size]

    def readline(self, size: int = -1) -> AnyStr:  # pragma: no cover - COPY FROM uses read()
        return self.read(size)


def _row_security_active(conn: Connection, table: sa.Table) -> bool:
    """Whether row-level security applies to this connection's role on `table` (a namespace's
    role, revision 0006; never the schema's owner)."""
    return bool(conn.execute(sa.select(sa.func.row_security_active(table.name))).scalar_one())


def _copy(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[str],
    source: _LineReader[Any],
    *,
    row_security: bool = False,
) -> None:
    """COPY the rows into `table`. Under row-level security PostgreSQL refuses COPY FROM,
    so the rows go into a temporary table of the same shape first and then through one
    INSERT ... SELECT, which the policies check like any insert."""
    preparer = conn.dialect.identifier_preparer
    target = preparer.format_table(table)
    names = ", ".join(preparer.quote(c) for c in columns)
    final = target
    if row_security:
        target = preparer.quote(f"driftwarden_staging_{table.name}")
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} (LIKE {final}) ON COMMIT DROP"
        )
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is None:  # pragma: no cover - an open Connection always has one
        raise DatabaseOperationError("the database connection was closed during a write")
    cursor = dbapi_connection.cursor()
    try:
        binary = " (FORMAT binary)" if isinstance(source._empty, bytes) else ""
        cursor.copy_expert(f"COPY {target} ({names}) FROM STDIN{binary}", source, 1 << 16)
        if row_security:
            cursor.execute(f"INSERT INTO {final} ({names}) SELECT {names} FROM {target}")
            cursor.execute(f"TRUNCATE {target}")
    except conn.dialect.loaded_dbapi.Error as error:
        # The raw cursor's errors do not pass through SQLAlchemy: translate them here.
        if getattr(error, "pgcode", None) == INSUFFICIENT_PRIVILEGE:
            raise DatabasePermissionError(
                f"writing {table.name} to {mask_url(conn.engine.url)} is not permitted: "
                f"{describe_error(error, conn.engine.url)}"
            ) from None
        raise DatabaseOperationError(
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
    items: Iterable[T],
    *,
    as_tuple: Callable[[T], tuple[Any, ...]],
    as_line: Callable[[T], str],
    as_binary: Callable[[T], bytes] | None = None,
    batch_rows: int,
    progress: ProgressHook | None,
) -> int:
    """Insert in batches: COPY on PostgreSQL/psycopg2, executemany elsewhere."""
    use_copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg2"
    if use_copy and as_binary is not None and not _server_is_utf8(conn):
        as_binary = None  # binary COPY sends text as UTF-8 bytes: only for UTF8 databases
    secured = use_copy and _row_security_active(conn, table)
    written = 0
    iterator = iter(items)
    while batch := list(islice(iterator, batch_rows)):
        if use_copy:
            if as_binary is not None:
                rows = chain((_BINARY_HEADER,), map(as_binary, batch), (_BINARY_TRAILER,))
                _copy(conn, table, columns, _LineReader(rows, b""), row_security=secured)
            else:
                lines = _LineReader(map(as_line, batch), "")
                _copy(conn, table, columns, lines, row_security=secured)
        else:
            conn.execute(
                sa.insert(table),
                [dict(zip(columns, as_tuple(item), strict=True)) for item in batch],
            )
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
        raise DatabaseConfigError(
            f"writing to a {name} database is not supported (PostgreSQL, SQLite)"
        )


# --- writes ------------------------------------------------------------------------------


def write_run(
    engine: Engine,
    run: RunRecord,
    drift_results: Iterable[DriftResultRow] = (),
    performance: Iterable[PerformanceRow] = (),
    alerts: Iterable[AlertRow] = (),
    *,
    quality: Iterable[QualityRow] = (),
    distributions: Iterable[DistributionRow] = (),
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: ProgressHook | None = None,
) -> int:
    """Write one run and everything it produced in one transaction; return the child rows
    written. An existing run with the same id is replaced (its children deleted with it);
    alerts are upserted by id, keeping their acknowledgement and resolution."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    with transaction(engine) as conn:
        _delete_run(conn, run.run_id)
        conn.execute(sa.insert(m.monitor_runs).values(_run_values(run)))
        written = _insert_rows(
            conn,
            m.drift_results,
            _DRIFT_COLUMNS,
            drift_results,
            as_tuple=_drift_tuple(run),
            as_line=_drift_line(run),
            as_binary=_drift_binary(run),
            batch_rows=batch_rows,
            progress=progress,
        )
        written += _insert_rows(
            conn,
            m.performance_metrics,
            _PERFORMANCE_COLUMNS,
            performance,
            as_tuple=_performance_tuple(run),
            as_line=_performance_line(run),
            batch_rows=batch_rows,
            progress=progress,
        )
        findings = [_quality_values(run, q) for q in quality]
        if findings:
            conn.execute(sa.insert(m.quality_findings), findings)
            written += len(findings)
            if progress is not None:
                progress(m.quality_findings.name, len(findings))
        shapes = [_distribution_values(run, d) for d in distributions]
        if shapes:
            conn.execute(sa.insert(m.feature_distributions), shapes)
            written += len(shapes)
            if progress is not None:
                progress(m.feature_distributions.name, len(shapes))
        for alert in alerts:
            _write_alert(conn, alert)
    return written


def _quality_values(run: RunRecord, row: QualityRow) -> dict[str, Any]:
    return {
        "monitor_namespace": run.monitor_namespace,
        "monitor_name": run.monitor_name,
        "column_name": row.column,
        "observed_at": run.started_at,
        "run_id": run.run_id,
        "kind": row.kind,
        "severity": str(row.severity),
        "details": dict(row.details),
    }


def _distribution_values(run: RunRecord, row: DistributionRow) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "feature": row.feature,
        "monitor_namespace": run.monitor_namespace,
        "monitor_name": run.monitor_name,
        "observed_at": run.started_at,
        "kind": row.kind,
        "distribution": dict(row.distribution),
    }


def _delete_run(conn: Connection, run_id: str) -> None:
    """Remove a run and its per-feature rows (found through the run's monitor, the leading
    columns of their primary keys). Alerts and retrain events keep their rows."""
    runs = m.monitor_runs
    previous = conn.execute(
        sa.select(runs.c.monitor_namespace, runs.c.monitor_name)
        .where(runs.c.run_id == run_id)
        .with_for_update()
    ).first()
    if previous is None:
        return
    for table in (m.drift_results, m.performance_metrics, m.quality_findings):
        conn.execute(
            sa.delete(table).where(
                table.c.monitor_namespace == previous.monitor_namespace,
                table.c.monitor_name == previous.monitor_name,
                table.c.run_id == run_id,
            )
        )
    # Its own delete: SQLite enforces the cascade only with PRAGMA foreign_keys on.
    distributions = m.feature_distributions
    conn.execute(sa.delete(distributions).where(distributions.c.run_id == run_id))
    conn.execute(sa.delete(runs).where(runs.c.run_id == run_id))


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
        "drift_type": None if alert.drift_type is None else str(alert.drift_type),
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
        failure_reason=row["failure_reason"],
        spec_hash=row["spec_hash"],
        settings=row["settings"],
        settings_hash=row["settings_hash"],
        baseline_profile_hash=row["baseline_profile_hash"],
        baseline_profile_name=row["baseline_profile_name"],
        baseline_start=row["baseline_start"],
        baseline_end=row["baseline_end"],
        current_start=row["current_start"],
        current_end=row["current_end"],
        baseline_labelled_rows=row["baseline_labelled_rows"],
        current_labelled_rows=row["current_labelled_rows"],
    )


def get_run(engine: Engine, run_id: str) -> RunRecord | None:
    """One run by id (None when there is none)."""
    runs = m.monitor_runs
    with connection(engine) as conn:
        row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
    return None if row is None else _run_from_row(row)


def store_reference_profile(engine: Engine, profile: ReferenceProfile) -> None:
    """Store (or replace) a baseline profile under its namespace and name."""
    values = {
        "namespace": profile.namespace,
        "name": profile.name,
        "created_at": profile.created_at,
        "settings_hash": profile.settings_hash,
        "profile_hash": profile.profile_hash,
        "rows": profile.rows,
        "detector_version": profile.detector_version,
        "source_run_id": profile.source_run_id,
        "profile": profile.profile,
    }
    table = m.reference_profiles
    with transaction(engine) as conn:
        conn.execute(
            sa.delete(table).where(
                table.c.namespace == profile.namespace, table.c.name == profile.name
            )
        )
        conn.execute(sa.insert(table).values(values))


def load_reference_profile(engine: Engine, namespace: str, name: str) -> ReferenceProfile | None:
    """A stored baseline by namespace and name (None when there is none)."""
    table = m.reference_profiles
    query = sa.select(table).where(table.c.namespace == namespace, table.c.name == name)
    with connection(engine) as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return ReferenceProfile(
        namespace=row["namespace"],
        name=row["name"],
        created_at=row["created_at"],
        profile=bytes(row["profile"]),
        profile_hash=row["profile_hash"],
        rows=int(row["rows"]),
        settings_hash=row["settings_hash"],
        detector_version=row["detector_version"],
        source_run_id=row["source_run_id"],
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
    open_states = (AlertState.FIRING.value, AlertState.ACKNOWLEDGED.value)
    query = sa.select(a).where(a.c.state.in_(open_states))
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
                drift_type=DriftType(r["drift_type"]) if r["drift_type"] else None,
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


def run_drifted_features(engine: Engine, run_id: str, limit: int = 10) -> list[DriftResultRow]:
    """The drifted feature rows of one run, worst severity then largest statistic first
    (what a run's summary lists, read back when its termination message was lost)."""
    rows = m.drift_results
    rank = sa.case((rows.c.severity == "critical", 2), (rows.c.severity == "warning", 1), else_=0)
    query = (
        sa.select(rows)
        .where(rows.c.run_id == run_id, rows.c.drift_detected.is_(True))
        .order_by(rank.desc(), rows.c.statistic.desc().nulls_last(), rows.c.feature)
        .limit(limit)
    )
    with connection(engine) as conn:
        found = conn.execute(query).mappings().all()
    return [DriftResultRow.from_row(row) for row in found]

"""The history schema as SQLAlchemy Core tables (the migrations create the same thing).

`monitor_runs` is keyed by the run id. A run's `drift_results` and `performance_metrics`
repeat the monitor and the run's start time (`observed_at`), so trend queries and retention
use one index without joining. Alerts and retrain events outlive the run that raised them
(their `run_id` is set to NULL when the run is deleted).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

# Stable constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

SEVERITIES = ("none", "warning", "critical")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware in, timezone-aware (UTC) out, on every backend (SQLite stores text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; times must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _key(length: int) -> sa.types.TypeEngine[str]:
    """Text key column; on PostgreSQL with byte-order ("C") collation: these are names and
    ids, never sorted for humans, and C comparisons make the index much cheaper to keep."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _severity_check(column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ('none', 'warning', 'critical')", name="severity")


monitor_runs = sa.Table(
    "monitor_runs",
    metadata,
    sa.Column("run_id", sa.String(253), primary_key=True),
    sa.Column("monitor_namespace", sa.String(253), nullable=False),
    sa.Column("monitor_name", sa.String(253), nullable=False),
    sa.Column("monitor_uid", sa.String(64)),
    sa.Column("model_name", sa.String(253)),
    sa.Column("model_version", sa.String(128)),
    sa.Column("scheduled_at", UTCDateTime()),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("error_reason", sa.Text()),
    sa.Column("baseline_rows", sa.BigInteger()),
    sa.Column("current_rows", sa.BigInteger()),
    sa.Column("severity", sa.String(16), nullable=False, server_default="none"),
    sa.Column("health_score", sa.Float()),
    sa.Column("detector_version", sa.String(64)),
    sa.Column("written_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    # Revision 0002: the reproducible record of the run.
    sa.Column("failure_reason", sa.String(64)),
    sa.Column("spec_hash", sa.String(64)),
    sa.Column("settings", sa.JSON()),
    sa.Column("settings_hash", sa.String(64)),
    sa.Column("baseline_profile_hash", sa.String(64)),
    sa.Column("baseline_profile_name", sa.String(253)),
    sa.Column("baseline_start", UTCDateTime()),
    sa.Column("baseline_end", UTCDateTime()),
    sa.Column("current_start", UTCDateTime()),
    sa.Column("current_end", UTCDateTime()),
    sa.Column("baseline_labelled_rows", sa.BigInteger()),
    sa.Column("current_labelled_rows", sa.BigInteger()),
    _severity_check("severity"),
    sa.CheckConstraint(
        "health_score IS NULL OR (health_score >= 0 AND health_score <= 100)",
        name="health_score",
    ),
    sa.Index("ix_monitor_runs_monitor_started", "monitor_namespace", "monitor_name", "started_at"),
    sa.Index("ix_monitor_runs_started_at", "started_at"),
)

# The per-feature tables are the high-volume ones (written at 100k+ rows/s). Their primary
# key leads with the monitor, the feature/metric and the time, so the one B-tree that keeps
# rows unique also serves the trend queries; (run_id, feature, method, drift_type) is unique
# because the leading columns are copied from the run. They carry no foreign key (a per-row
# trigger would halve the write speed): `write_run` inserts them in the run's transaction
# and deletes them with it, and retention expires them before the run itself.
drift_results = sa.Table(
    "drift_results",
    metadata,
    sa.Column("monitor_namespace", _key(253), primary_key=True),
    sa.Column("monitor_name", _key(253), primary_key=True),
    sa.Column("feature", _key(253), primary_key=True),
    sa.Column("observed_at", UTCDateTime(), primary_key=True),
    sa.Column("run_id", _key(253), primary_key=True),
    sa.Column("method", _key(32), primary_key=True),
    sa.Column("drift_type", _key(16), primary_key=True),
    sa.Column("feature_kind", sa.String(16)),
    sa.Column("statistic", sa.Float()),
    sa.Column("p_value", sa.Float()),
    sa.Column("threshold", sa.Float()),
    sa.Column("drift_detected", sa.Boolean(), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("p_value_adjusted", sa.Float()),  # revision 0005; NULL in rows written before
    _severity_check("severity"),
    # BRIN on PostgreSQL: rows arrive in time order, and it costs next to nothing to keep.
    sa.Index("ix_drift_results_observed_at", "observed_at", postgresql_using="brin"),
)

# Revision 0005: per feature of a run, the baseline's and the current window's shares over the
# same bins or categories (`driftwarden.detectors.distributions`), so that a stored run's page
# draws the overlays without the windows.
feature_distributions = sa.Table(
    "feature_distributions",
    metadata,
    sa.Column(
        "run_id",
        _key(253),
        sa.ForeignKey("monitor_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("feature", _key(253), primary_key=True),
    sa.Column("monitor_namespace", _key(253), nullable=False),
    sa.Column("monitor_name", _key(253), nullable=False),
    sa.Column("observed_at", UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("distribution", sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('numeric', 'categorical')", name="kind"),
)

performance_metrics = sa.Table(
    "performance_metrics",
    metadata,
    sa.Column("monitor_namespace", _key(253), primary_key=True),
    sa.Column("monitor_name", _key(253), primary_key=True),
    sa.Column("metric", _key(64), primary_key=True),
    sa.Column("observed_at", UTCDateTime(), primary_key=True),
    sa.Column("run_id", _key(253), primary_key=True),
    sa.Column("split", _key(32), primary_key=True, server_default="current"),
    sa.Column("value", sa.Float()),
    sa.Column("baseline_value", sa.Float()),
    sa.Index("ix_performance_metrics_observed_at", "observed_at", postgresql_using="brin"),
)

# Revision 0002: one row per column with data-quality findings in a run (same key shape
# as the other per-run tables; no foreign key, deleted with the run by `write_run`).
quality_findings = sa.Table(
    "quality_findings",
    metadata,
    sa.Column("monitor_namespace", _key(253), primary_key=True),
    sa.Column("monitor_name", _key(253), primary_key=True),
    sa.Column("column_name", _key(253), primary_key=True),
    sa.Column("observed_at", UTCDateTime(), primary_key=True),
    sa.Column("run_id", _key(253), primary_key=True),
    sa.Column("kind", sa.String(16)),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("details", sa.JSON(), nullable=False),
    _severity_check("severity"),
    sa.Index("ix_quality_findings_observed_at", "observed_at", postgresql_using="brin"),
)

# Revision 0002: stored baselines, by namespace and name (a profile is never re-read from
# the source once stored).
reference_profiles = sa.Table(
    "reference_profiles",
    metadata,
    sa.Column("namespace", sa.String(253), primary_key=True),
    sa.Column("name", sa.String(253), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("settings_hash", sa.String(64)),
    sa.Column("profile_hash", sa.String(64), nullable=False),
    sa.Column("rows", sa.BigInteger(), nullable=False),
    sa.Column("detector_version", sa.String(64)),
    sa.Column("source_run_id", sa.String(253)),
    sa.Column("profile", sa.LargeBinary(), nullable=False),
)

# Revision 0006: the PostgreSQL login role of each namespace (`storage.tenancy`); on
# PostgreSQL every table holding a namespace has row-level security keyed on it.
tenant_roles = sa.Table(
    "tenant_roles",
    metadata,
    sa.Column("role_name", sa.String(63), primary_key=True),
    sa.Column("namespace", sa.String(253), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("rotated_at", UTCDateTime()),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.String(253), primary_key=True),
    sa.Column("run_id", sa.String(253), sa.ForeignKey("monitor_runs.run_id", ondelete="SET NULL")),
    sa.Column("monitor_namespace", sa.String(253), nullable=False),
    sa.Column("monitor_name", sa.String(253), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("drift_type", sa.String(16)),  # NULL (revision 0004): not about drift
    sa.Column("affected_features", sa.JSON(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("recommended_action", sa.Text()),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("fired_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("acknowledged_at", UTCDateTime()),
    sa.Column("acknowledged_by", sa.String(253)),
    # Revision 0004: alerts received from Alertmanager (storage/alerts.py).
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("alertname", sa.String(253)),
    sa.Column("labels", sa.JSON()),
    sa.Column("annotations", sa.JSON()),
    sa.Column("ends_at", UTCDateTime()),
    sa.Column("last_notified_at", UTCDateTime()),
    sa.Column("notifications", sa.Integer()),
    sa.UniqueConstraint("fingerprint", "fired_at"),
    _severity_check("severity"),
    sa.CheckConstraint("state IN ('firing', 'acknowledged', 'resolved')", name="state"),
    sa.Index("ix_alerts_state_monitor", "state", "monitor_namespace", "monitor_name"),
    sa.Index("ix_alerts_fired_at", "fired_at"),
)

retrain_events = sa.Table(
    "retrain_events",
    metadata,
    sa.Column("event_id", sa.String(253), primary_key=True),
    sa.Column("namespace", sa.String(253), nullable=False),
    sa.Column("policy_name", sa.String(253), nullable=False),
    sa.Column("monitor_name", sa.String(253), nullable=False),
    sa.Column("run_id", sa.String(253), sa.ForeignKey("monitor_runs.run_id", ondelete="SET NULL")),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("job_name", sa.String(253)),
    sa.Column("outcome", sa.String(32)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.CheckConstraint("decision IN ('triggered', 'skipped')", name="decision"),
    sa.Index("ix_retrain_events_policy_created", "namespace", "policy_name", "created_at"),
    sa.Index("ix_retrain_events_created_at", "created_at"),
)

# Read-only views created by the migrations (see migrations/versions/0001_initial.py).
latest_monitor_runs = sa.Table(
    "latest_monitor_runs",
    sa.MetaData(),
    *(sa.Column(c.name, c.type) for c in monitor_runs.columns),
)

daily_feature_drift = sa.Table(
    "daily_feature_drift",
    sa.MetaData(),
    sa.Column("monitor_namespace", sa.String()),
    sa.Column("monitor_name", sa.String()),
    sa.Column("feature", sa.String()),
    sa.Column("method", sa.String()),
    sa.Column("drift_type", sa.String()),
    sa.Column("day", sa.String()),
    sa.Column("runs", sa.Integer()),
    sa.Column("drifted_runs", sa.Integer()),
    sa.Column("mean_statistic", sa.Float()),
    sa.Column("max_statistic", sa.Float()),
    sa.Column("min_p_value", sa.Float()),
)

performance_over_time = sa.Table(
    "performance_over_time",
    sa.MetaData(),
    sa.Column("monitor_namespace", sa.String()),
    sa.Column("monitor_name", sa.String()),
    sa.Column("model_name", sa.String()),
    sa.Column("model_version", sa.String()),
    sa.Column("run_id", sa.String()),
    sa.Column("observed_at", UTCDateTime()),
    sa.Column("metric", sa.String()),
    sa.Column("split", sa.String()),
    sa.Column("value", sa.Float()),
    sa.Column("baseline_value", sa.Float()),
    sa.Column("change", sa.Float()),
)

TABLES = (
    monitor_runs,
    drift_results,
    performance_metrics,
    quality_findings,
    feature_distributions,
    reference_profiles,
    alerts,
    retrain_events,
    tenant_roles,
)
VIEWS = ("latest_monitor_runs", "daily_feature_drift", "performance_over_time")

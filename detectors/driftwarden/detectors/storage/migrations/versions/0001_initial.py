"""Initial history schema: runs, drift results, performance, alerts, retrain events, views.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Self-contained on purpose: a migration describes the schema as it was at its revision, so
it does not import the current models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_SEVERITY = "severity IN ('none', 'warning', 'critical')"


def _key(length: int) -> sa.types.TypeEngine[str]:
    # byte-order collation on PostgreSQL for the key columns of the high-volume tables
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _run_fk(ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey("monitor_runs.run_id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "monitor_runs",
        sa.Column("run_id", sa.String(253), nullable=False),
        sa.Column("monitor_namespace", sa.String(253), nullable=False),
        sa.Column("monitor_name", sa.String(253), nullable=False),
        sa.Column("monitor_uid", sa.String(64)),
        sa.Column("model_name", sa.String(253)),
        sa.Column("model_version", sa.String(128)),
        sa.Column("scheduled_at", _TS),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("error_reason", sa.Text()),
        sa.Column("baseline_rows", sa.BigInteger()),
        sa.Column("current_rows", sa.BigInteger()),
        sa.Column("severity", sa.String(16), nullable=False, server_default="none"),
        sa.Column("health_score", sa.Float()),
        sa.Column("detector_version", sa.String(64)),
        sa.Column("written_at", _TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("run_id", name="pk_monitor_runs"),
        sa.CheckConstraint(_SEVERITY, name="ck_monitor_runs_severity"),
        sa.CheckConstraint(
            "health_score IS NULL OR (health_score >= 0 AND health_score <= 100)",
            name="ck_monitor_runs_health_score",
        ),
    )
    op.create_index(
        "ix_monitor_runs_monitor_started",
        "monitor_runs",
        ["monitor_namespace", "monitor_name", "started_at"],
    )
    op.create_index("ix_monitor_runs_started_at", "monitor_runs", ["started_at"])

    # High-volume tables: one B-tree (the primary key, which also serves the trend queries)
    # plus BRIN on time, and no foreign key (see models.py for why that is safe).
    op.create_table(
        "drift_results",
        sa.Column("monitor_namespace", _key(253), nullable=False),
        sa.Column("monitor_name", _key(253), nullable=False),
        sa.Column("feature", _key(253), nullable=False),
        sa.Column("observed_at", _TS, nullable=False),
        sa.Column("run_id", _key(253), nullable=False),
        sa.Column("method", _key(32), nullable=False),
        sa.Column("drift_type", _key(16), nullable=False),
        sa.Column("feature_kind", sa.String(16)),
        sa.Column("statistic", sa.Float()),
        sa.Column("p_value", sa.Float()),
        sa.Column("threshold", sa.Float()),
        sa.Column("drift_detected", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint(
            "monitor_namespace",
            "monitor_name",
            "feature",
            "observed_at",
            "run_id",
            "method",
            "drift_type",
            name="pk_drift_results",
        ),
        sa.CheckConstraint(_SEVERITY, name="ck_drift_results_severity"),
    )
    op.create_index(
        "ix_drift_results_observed_at", "drift_results", ["observed_at"], postgresql_using="brin"
    )

    op.create_table(
        "performance_metrics",
        sa.Column("monitor_namespace", _key(253), nullable=False),
        sa.Column("monitor_name", _key(253), nullable=False),
        sa.Column("metric", _key(64), nullable=False),
        sa.Column("observed_at", _TS, nullable=False),
        sa.Column("run_id", _key(253), nullable=False),
        sa.Column("split", _key(32), nullable=False, server_default="current"),
        sa.Column("value", sa.Float()),
        sa.Column("baseline_value", sa.Float()),
        sa.PrimaryKeyConstraint(
            "monitor_namespace",
            "monitor_name",
            "metric",
            "observed_at",
            "run_id",
            "split",
            name="pk_performance_metrics",
        ),
    )
    op.create_index(
        "ix_performance_metrics_observed_at",
        "performance_metrics",
        ["observed_at"],
        postgresql_using="brin",
    )

    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(253), nullable=False),
        sa.Column("run_id", sa.String(253), _run_fk("SET NULL")),
        sa.Column("monitor_namespace", sa.String(253), nullable=False),
        sa.Column("monitor_name", sa.String(253), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("drift_type", sa.String(16), nullable=False),
        sa.Column("affected_features", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("recommended_action", sa.Text()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fired_at", _TS, nullable=False),
        sa.Column("resolved_at", _TS),
        sa.Column("acknowledged_at", _TS),
        sa.Column("acknowledged_by", sa.String(253)),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
        sa.CheckConstraint(_SEVERITY, name="ck_alerts_severity"),
        sa.CheckConstraint(
            "state IN ('firing', 'acknowledged', 'resolved')", name="ck_alerts_state"
        ),
    )
    op.create_index(
        "ix_alerts_state_monitor", "alerts", ["state", "monitor_namespace", "monitor_name"]
    )
    op.create_index("ix_alerts_fired_at", "alerts", ["fired_at"])

    op.create_table(
        "retrain_events",
        sa.Column("event_id", sa.String(253), nullable=False),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("policy_name", sa.String(253), nullable=False),
        sa.Column("monitor_name", sa.String(253), nullable=False),
        sa.Column("run_id", sa.String(253), _run_fk("SET NULL")),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("job_name", sa.String(253)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.PrimaryKeyConstraint("event_id", name="pk_retrain_events"),
        sa.CheckConstraint(
            "decision IN ('triggered', 'skipped')", name="ck_retrain_events_decision"
        ),
    )
    op.create_index(
        "ix_retrain_events_policy_created",
        "retrain_events",
        ["namespace", "policy_name", "created_at"],
    )
    op.create_index("ix_retrain_events_created_at", "retrain_events", ["created_at"])

    _create_views()


def _create_views() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Calendar day in UTC. SQLite stores UTC text, so date() is already the UTC day.
    day = "date(d.observed_at)" if sqlite else "CAST((d.observed_at AT TIME ZONE 'UTC') AS date)"
    drifted = "d.drift_detected" if sqlite else "CAST(d.drift_detected AS integer)"
    run_columns = (
        "run_id, monitor_namespace, monitor_name, monitor_uid, model_name, model_version, "
        "scheduled_at, started_at, finished_at, outcome, error_reason, baseline_rows, "
        "current_rows, severity, health_score, detector_version, written_at"
    )
    op.execute(
        f"CREATE VIEW latest_monitor_runs AS SELECT {run_columns} FROM ("
        f"SELECT {run_columns}, ROW_NUMBER() OVER ("
        "PARTITION BY monitor_namespace, monitor_name ORDER BY started_at DESC, run_id DESC"
        ") AS position FROM monitor_runs) ranked WHERE position = 1"
    )
    op.execute(
        "CREATE VIEW daily_feature_drift AS SELECT d.monitor_namespace, d.monitor_name, "
        f"d.feature, d.method, d.drift_type, {day} AS day, COUNT(*) AS runs, "
        f"SUM({drifted}) AS drifted_runs, AVG(d.statistic) AS mean_statistic, "
        "MAX(d.statistic) AS max_statistic, MIN(d.p_value) AS min_p_value "
        f"FROM drift_results d GROUP BY d.monitor_namespace, d.monitor_name, d.feature, "
        f"d.method, d.drift_type, {day}"
    )
    op.execute(
        "CREATE VIEW performance_over_time AS SELECT p.monitor_namespace, p.monitor_name, "
        "r.model_name, r.model_version, p.run_id, p.observed_at, p.metric, p.split, p.value, "
        "p.baseline_value, p.value - p.baseline_value AS change "
        "FROM performance_metrics p JOIN monitor_runs r ON r.run_id = p.run_id"
    )


def downgrade() -> None:
    for view in ("performance_over_time", "daily_feature_drift", "latest_monitor_runs"):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    for table in ("retrain_events", "alerts", "performance_metrics", "drift_results"):
        op.drop_table(table)
    op.drop_table("monitor_runs")

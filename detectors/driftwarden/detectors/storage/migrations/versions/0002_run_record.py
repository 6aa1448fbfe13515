"""The reproducible run record, quality findings, stored baselines, one outcome spelling.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Additive: new nullable columns on `monitor_runs`, two new tables, the `latest_monitor_runs`
view recreated with the new columns, and the outcomes written before it renamed to the
spelling the Job contract and the operator share (`succeeded` -> `Succeeded`, ...).
Self-contained like 0001: it does not import the current models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_OUTCOMES = {"succeeded": "Succeeded", "insufficient_data": "InsufficientData", "failed": "Failed"}
_RUN_COLUMNS = (
    ("failure_reason", sa.String(64)),
    ("spec_hash", sa.String(64)),
    ("settings", sa.JSON()),
    ("settings_hash", sa.String(64)),
    ("baseline_profile_hash", sa.String(64)),
    ("baseline_profile_name", sa.String(253)),
    ("baseline_start", _TS),
    ("baseline_end", _TS),
    ("current_start", _TS),
    ("current_end", _TS),
    ("baseline_labelled_rows", sa.BigInteger()),
    ("current_labelled_rows", sa.BigInteger()),
)
_OLD_RUN_COLUMNS = (
    "run_id, monitor_namespace, monitor_name, monitor_uid, model_name, model_version, "
    "scheduled_at, started_at, finished_at, outcome, error_reason, baseline_rows, "
    "current_rows, severity, health_score, detector_version, written_at"
)


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _latest_view(columns: str) -> str:
    return (
        f"CREATE VIEW latest_monitor_runs AS SELECT {columns} FROM ("
        f"SELECT {columns}, ROW_NUMBER() OVER ("
        "PARTITION BY monitor_namespace, monitor_name ORDER BY started_at DESC, run_id DESC"
        ") AS position FROM monitor_runs) ranked WHERE position = 1"
    )


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS latest_monitor_runs")
    with op.batch_alter_table("monitor_runs") as batch:
        for name, kind in _RUN_COLUMNS:
            batch.add_column(sa.Column(name, kind))
    runs = sa.table("monitor_runs", sa.column("outcome", sa.String()))
    for old, new in _OUTCOMES.items():
        op.execute(runs.update().where(runs.c.outcome == old).values(outcome=new))
    columns = _OLD_RUN_COLUMNS + ", " + ", ".join(name for name, _ in _RUN_COLUMNS)
    op.execute(_latest_view(columns))

    op.create_table(
        "quality_findings",
        sa.Column("monitor_namespace", _key(253), nullable=False),
        sa.Column("monitor_name", _key(253), nullable=False),
        sa.Column("column_name", _key(253), nullable=False),
        sa.Column("observed_at", _TS, nullable=False),
        sa.Column("run_id", _key(253), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint(
            "monitor_namespace",
            "monitor_name",
            "column_name",
            "observed_at",
            "run_id",
            name="pk_quality_findings",
        ),
        sa.CheckConstraint(
            "severity IN ('none', 'warning', 'critical')", name="ck_quality_findings_severity"
        ),
    )
    op.create_index(
        "ix_quality_findings_observed_at",
        "quality_findings",
        ["observed_at"],
        postgresql_using="brin",
    )
    op.create_table(
        "reference_profiles",
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("settings_hash", sa.String(64)),
        sa.Column("profile_hash", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("detector_version", sa.String(64)),
        sa.Column("source_run_id", sa.String(253)),
        sa.Column("profile", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "name", name="pk_reference_profiles"),
    )


def downgrade() -> None:
    op.drop_table("reference_profiles")
    op.drop_index("ix_quality_findings_observed_at", "quality_findings")
    op.drop_table("quality_findings")
    op.execute("DROP VIEW IF EXISTS latest_monitor_runs")
    runs = sa.table("monitor_runs", sa.column("outcome", sa.String()))
    for old, new in _OUTCOMES.items():
        op.execute(runs.update().where(runs.c.outcome == new).values(outcome=old))
    with op.batch_alter_table("monitor_runs") as batch:
        for name, _ in reversed(_RUN_COLUMNS):
            batch.drop_column(name)
    op.execute(_latest_view(_OLD_RUN_COLUMNS))

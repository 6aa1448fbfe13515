"""What a stored run's report needs to be drawn again: adjusted p-values and distributions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Additive: `drift_results.p_value_adjusted` (the multiple-testing adjusted p-value the verdict
used, NULL for rows written before) and `feature_distributions`, one row per feature of a run
holding the baseline's and the current window's shares over the same bins or categories (the
overlay `driftwarden report --run` draws; a few hundred bytes a feature, never raw values).
Self-contained like 0001: it does not import the current models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _key(length: int) -> sa.String:
    # Same collation as 0001's keys: byte order, so "a" < "B" means what it says everywhere.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("drift_results") as batch:
        batch.add_column(sa.Column("p_value_adjusted", sa.Float()))
    op.create_table(
        "feature_distributions",
        sa.Column(
            "run_id",
            _key(253),
            sa.ForeignKey("monitor_runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("feature", _key(253), nullable=False),
        sa.Column("monitor_namespace", _key(253), nullable=False),
        sa.Column("monitor_name", _key(253), nullable=False),
        sa.Column("observed_at", _TS, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("distribution", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "feature", name="pk_feature_distributions"),
        sa.CheckConstraint(
            "kind IN ('numeric', 'categorical')", name="ck_feature_distributions_kind"
        ),
    )


def downgrade() -> None:
    op.drop_table("feature_distributions")
    with op.batch_alter_table("drift_results") as batch:
        batch.drop_column("p_value_adjusted")

"""Retrain decisions recorded exactly once: a decision key with a unique constraint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Additive: two nullable columns on `retrain_events`. `decision_key` names a triggered
decision (`<namespace>/<RetrainRun name>`, the RetrainRun's deterministic name per policy,
monitor and trigger window); its unique constraint lets a restarted operator, a second
replica or a repeated ingest record that decision once, whatever happens. Skipped
decisions leave it NULL (a unique constraint admits many NULLs). `message` keeps the
decision in words, so `reason` holds the reason alone (Triggered, Cooldown, ...).
Self-contained like 0001: it does not import the current models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retrain_events") as batch:
        batch.add_column(sa.Column("decision_key", sa.String(253)))
        batch.add_column(sa.Column("message", sa.Text()))
        batch.create_unique_constraint("uq_retrain_events_decision_key", ["decision_key"])
    op.create_index(
        "ix_retrain_events_policy_monitor_created",
        "retrain_events",
        ["namespace", "policy_name", "monitor_name", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_retrain_events_policy_monitor_created", "retrain_events")
    with op.batch_alter_table("retrain_events") as batch:
        batch.drop_constraint("uq_retrain_events_decision_key", type_="unique")
        batch.drop_column("message")
        batch.drop_column("decision_key")

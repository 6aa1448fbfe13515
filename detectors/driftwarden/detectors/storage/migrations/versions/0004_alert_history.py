"""Alert history from Alertmanager: fingerprint, labels, notification bookkeeping.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29

Additive: new nullable columns on `alerts` (the alert's Alertmanager fingerprint and name,
its labels and annotations, when it ends, when it was last notified and how often), a
unique constraint on (fingerprint, fired_at) — Alertmanager's identity of one firing — and
`drift_type` made nullable (an alert about a failing run or a stale monitor is about no
kind of drift). Self-contained like 0001: it does not import the current models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_COLUMNS = (
    ("fingerprint", sa.String(64)),
    ("alertname", sa.String(253)),
    ("labels", sa.JSON()),
    ("annotations", sa.JSON()),
    ("ends_at", _TS),
    ("last_notified_at", _TS),
    ("notifications", sa.Integer()),
)
_UNIQUE = "uq_alerts_fingerprint_fired_at"


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind))
        batch.alter_column("drift_type", existing_type=sa.String(16), nullable=True)
        batch.create_unique_constraint(_UNIQUE, ["fingerprint", "fired_at"])


def downgrade() -> None:
    alerts = sa.table("alerts", sa.column("drift_type", sa.String()))
    op.execute(alerts.update().where(alerts.c.drift_type.is_(None)).values(drift_type="data"))
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(_UNIQUE, type_="unique")
        batch.alter_column("drift_type", existing_type=sa.String(16), nullable=False)
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)

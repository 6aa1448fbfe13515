"""Tenancy: one PostgreSQL role per namespace, row-level security on every history table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

`tenant_roles` maps a login role to the one namespace it may read and write. On PostgreSQL
every table holding a namespace gets row-level security with one policy: a row is visible
and writable when its namespace is the current role's. The schema's owner (the operator's
administrative connection) is not subject to the policies (no FORCE), so nothing changes
for it; a role that is in no row of `tenant_roles` sees no rows at all. SQLite has no roles:
the table is created, the policies are not.
Self-contained like 0001: it does not import the current models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

#: Each table holding a namespace, and its namespace column.
TENANT_TABLES = {
    "monitor_runs": "monitor_namespace",
    "drift_results": "monitor_namespace",
    "performance_metrics": "monitor_namespace",
    "quality_findings": "monitor_namespace",
    "feature_distributions": "monitor_namespace",
    "alerts": "monitor_namespace",
    "retrain_events": "namespace",
    "reference_profiles": "namespace",
}
_MINE = "(SELECT t.namespace FROM tenant_roles t WHERE t.role_name = current_user)"


def upgrade() -> None:
    op.create_table(
        "tenant_roles",
        sa.Column("role_name", sa.String(63), nullable=False),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("rotated_at", _TS),
        sa.PrimaryKeyConstraint("role_name", name="pk_tenant_roles"),
        sa.UniqueConstraint("namespace", name="uq_tenant_roles_namespace"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE tenant_roles ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_own_row ON tenant_roles FOR SELECT USING (role_name = current_user)"
    )
    for table, column in TENANT_TABLES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_namespace ON {table} "
            f"USING ({column} = {_MINE}) WITH CHECK ({column} = {_MINE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS tenant_namespace ON {table}")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.drop_table("tenant_roles")

"""Quota scopes and reconcile-scan records.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "quota_scopes",
        sa.Column("host", sa.String(64), primary_key=True),
        sa.Column("scope_id", sa.String(64), primary_key=True),
        sa.Column("limit_bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "scan_runs",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("folder_id", sa.Uuid, nullable=False),
        sa.Column("files", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("corrected_files", sa.BigInteger, nullable=False),
        sa.Column("corrected_bytes", sa.BigInteger, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("finished_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scan_runs")
    op.drop_table("quota_scopes")

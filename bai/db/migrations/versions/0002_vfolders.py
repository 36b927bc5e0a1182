"""Virtual folders, tus upload sessions and background tasks.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vfolders",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("quota_scope_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("usage_mode", sa.String(16), nullable=False),
        sa.Column("permission", sa.String(4), nullable=False),
        sa.Column("ownership_type", sa.String(8), nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("project_id", sa.Uuid, sa.ForeignKey("projects.id"), nullable=True),
        sa.Column("creator", sa.String(128), nullable=False),
        sa.Column("cloneable", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_history", sa.JSON, nullable=False),
        sa.Column("status_changed", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used", TS, nullable=True),
        sa.Column("num_files", sa.BigInteger, nullable=False),
        sa.Column("cur_size", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_vfolders_user_id", "vfolders", ["user_id"])
    op.create_index("ix_vfolders_project_id", "vfolders", ["project_id"])
    op.create_index("ix_vfolders_status", "vfolders", ["status"])
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "folder_id", sa.Uuid, sa.ForeignKey("vfolders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_table(
        "bgtasks",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("folder_id", sa.Uuid, nullable=False),
        sa.Column("target_id", sa.Uuid, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("current", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("message", sa.String(1024), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("heartbeat_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_index("ix_bgtasks_status", "bgtasks", ["status"])


def downgrade() -> None:
    op.drop_table("bgtasks")
    op.drop_table("uploads")
    op.drop_table("vfolders")

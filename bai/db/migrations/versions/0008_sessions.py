"""Compute sessions, their folder mounts, and dotfiles.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column(
            "access_key",
            sa.String(32),
            sa.ForeignKey("keypairs.access_key", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("image", sa.String(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_info", sa.String(256), nullable=True),
        sa.Column("environ", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("terminated_at", TS, nullable=True),
    )
    op.create_index("ix_sessions_access_key", "sessions", ["access_key"])
    op.create_index("ix_sessions_state", "sessions", ["state"])
    op.create_table(
        "session_mounts",
        sa.Column(
            "session_id",
            sa.Uuid,
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("target", sa.String(1024), primary_key=True),
        sa.Column(
            "folder_id",
            sa.Uuid,
            sa.ForeignKey("vfolders.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("read_only", sa.Boolean, nullable=False),
    )
    op.create_index("ix_session_mounts_folder_id", "session_mounts", ["folder_id"])
    op.create_table(
        "dotfiles",
        sa.Column("scope", sa.String(8), primary_key=True),
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("path", sa.String(256), primary_key=True),
        sa.Column("permission", sa.String(4), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dotfiles")
    op.drop_index("ix_session_mounts_folder_id", "session_mounts")
    op.drop_table("session_mounts")
    op.drop_index("ix_sessions_state", "sessions")
    op.drop_index("ix_sessions_access_key", "sessions")
    op.drop_table("sessions")

"""SSH keypairs per access key and SFTP sessions.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ssh_keypairs",
        sa.Column(
            "access_key",
            sa.String(32),
            sa.ForeignKey("keypairs.access_key", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("public_key", sa.String(16384), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("private_key_enc", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("fingerprint", name="uq_ssh_keypairs_fingerprint"),
    )
    op.create_table(
        "sftp_sessions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "access_key",
            sa.String(32),
            sa.ForeignKey("keypairs.access_key", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_activity", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
    )
    op.create_index("ix_sftp_sessions_access_key", "sftp_sessions", ["access_key"])
    op.create_table(
        "sftp_session_folders",
        sa.Column(
            "session_id",
            sa.Uuid,
            sa.ForeignKey("sftp_sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "folder_id",
            sa.Uuid,
            sa.ForeignKey("vfolders.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


def downgrade() -> None:
    op.drop_table("sftp_session_folders")
    op.drop_index("ix_sftp_sessions_access_key", "sftp_sessions")
    op.drop_table("sftp_sessions")
    op.drop_table("ssh_keypairs")

"""Folder invitations and the share table (invitees, per-user overrides).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vfolder_invitations",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "folder_id",
            sa.Uuid,
            sa.ForeignKey("vfolders.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "inviter_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "invitee_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("permission", sa.String(4), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("modified_at", TS, nullable=False),
    )
    op.create_index("ix_vfolder_invitations_invitee_id", "vfolder_invitations", ["invitee_id"])
    op.create_table(
        "vfolder_permissions",
        sa.Column(
            "folder_id",
            sa.Uuid,
            sa.ForeignKey("vfolders.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("permission", sa.String(4), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_vfolder_permissions_user_id", "vfolder_permissions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_vfolder_permissions_user_id", "vfolder_permissions")
    op.drop_table("vfolder_permissions")
    op.drop_index("ix_vfolder_invitations_invitee_id", "vfolder_invitations")
    op.drop_table("vfolder_invitations")

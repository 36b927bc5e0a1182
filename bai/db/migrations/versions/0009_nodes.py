"""Nodes sharing one database: the node registry, shared or node-local volumes, cluster
settings (the node secret's fingerprint), and the node that runs each compute session.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("url", sa.String(512), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("volumes", sa.JSON, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
    )
    op.create_table(
        "cluster_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(512), nullable=False),
    )
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("owner_node", sa.String(64), nullable=True))
    op.create_index("ix_bgtasks_claimed_by", "bgtasks", ["claimed_by"])
    # One pending invitation per folder and invitee, decided by the database (two nodes may
    # handle two invites at once). Older duplicates, if any, are canceled first.
    conn = op.get_bind()
    dups = conn.execute(
        sa.text(
            "SELECT folder_id, invitee_id FROM vfolder_invitations WHERE state = 'pending' "
            "GROUP BY folder_id, invitee_id HAVING count(*) > 1"
        )
    ).all()
    for folder_id, invitee_id in dups:
        ids = (
            conn.execute(
                sa.text(
                    "SELECT id FROM vfolder_invitations WHERE state = 'pending' AND folder_id = :f "
                    "AND invitee_id = :i ORDER BY created_at"
                ),
                {"f": folder_id, "i": invitee_id},
            )
            .scalars()
            .all()
        )
        for extra in ids[1:]:
            conn.execute(
                sa.text("UPDATE vfolder_invitations SET state = 'canceled' WHERE id = :id"),
                {"id": extra},
            )
    pending = sa.text("state = 'pending'")
    op.create_index(
        "uq_vfolder_invitations_pending",
        "vfolder_invitations",
        ["folder_id", "invitee_id"],
        unique=True,
        sqlite_where=pending,
        postgresql_where=pending,
    )


def downgrade() -> None:
    op.drop_index("uq_vfolder_invitations_pending", "vfolder_invitations")
    op.drop_index("ix_bgtasks_claimed_by", "bgtasks")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("owner_node")
        batch.drop_column("shared")
    op.drop_table("cluster_settings")
    op.drop_table("nodes")

"""Folder locations, quota reservations, and folder-name uniqueness in the database.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# Folders that still hold their name (everything but what is being or has been removed).
NAME_HOLDING = (
    "ownership_type = '{kind}' AND status NOT IN "
    "('delete-ongoing', 'delete-complete', 'delete-error')"
)


def upgrade() -> None:
    with op.batch_alter_table("vfolders") as batch:
        batch.add_column(sa.Column("location", sa.String(512), nullable=False, server_default=""))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, quota_scope_id FROM vfolders")).all()
    for fid, scope in rows:
        # Until now every folder lived at the vfs layout scope/aa/bb/rest-of-id.
        h = fid.replace("-", "") if isinstance(fid, str) else fid.hex
        scope_hex = scope.split(":", 1)[1].replace("-", "")
        conn.execute(
            sa.text("UPDATE vfolders SET location = :loc WHERE id = :id"),
            {"loc": f"{scope_hex}/{h[0:2]}/{h[2:4]}/{h[4:]}", "id": fid},
        )
    for kind, owner in (("user", "user_id"), ("group", "project_id")):
        where = sa.text(NAME_HOLDING.format(kind=kind))
        op.create_index(
            f"uq_vfolders_{kind}_name",
            "vfolders",
            [owner, "name"],
            unique=True,
            sqlite_where=where,
            postgresql_where=where,
        )
    op.create_table(
        "quota_reservations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("scope_id", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_quota_reservations_scope", "quota_reservations", ["host", "scope_id"])


def downgrade() -> None:
    op.drop_table("quota_reservations")
    op.drop_index("uq_vfolders_group_name", "vfolders")
    op.drop_index("uq_vfolders_user_name", "vfolders")
    with op.batch_alter_table("vfolders") as batch:
        batch.drop_column("location")

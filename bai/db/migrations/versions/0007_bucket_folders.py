"""Bucket folders: a read-only flag and the storage metadata of imported buckets/prefixes;
parameters of background tasks (a directory move on a bucket runs as one).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vfolders") as batch:
        batch.add_column(
            sa.Column("read_only", sa.Boolean, nullable=False, server_default=sa.false())
        )
        # The seed's metadata column: endpoint, bucket, prefix and (encrypted) credentials of
        # a folder that maps onto a bucket it does not own; NULL for folders the node made.
        batch.add_column(sa.Column("storage_meta", sa.JSON, nullable=True))
    with op.batch_alter_table("bgtasks") as batch:
        batch.add_column(sa.Column("params", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bgtasks") as batch:
        batch.drop_column("params")
    with op.batch_alter_table("vfolders") as batch:
        batch.drop_column("storage_meta")
        batch.drop_column("read_only")

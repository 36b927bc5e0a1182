"""Accounts: domains, users, projects, keypairs, resource policies, known volumes.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "domains",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    for table in ("user_resource_policies", "project_resource_policies"):
        op.create_table(
            table,
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("max_vfolder_count", sa.Integer, nullable=False),
            sa.Column("max_quota_scope_size", sa.BigInteger, nullable=False),
        )
    op.create_table(
        "keypair_resource_policies",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("allowed_vfolder_hosts", sa.JSON, nullable=False),
        sa.Column("max_concurrent_sftp_sessions", sa.Integer, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("email", sa.String(128), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("full_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("domain_name", sa.String(64), sa.ForeignKey("domains.name"), nullable=False),
        sa.Column(
            "resource_policy",
            sa.String(64),
            sa.ForeignKey("user_resource_policies.name"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("modified_at", TS, nullable=False),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.String(512), nullable=False),
        sa.Column("domain_name", sa.String(64), sa.ForeignKey("domains.name"), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column(
            "resource_policy",
            sa.String(64),
            sa.ForeignKey("project_resource_policies.name"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("domain_name", "name", name="uq_projects_domain_name"),
    )
    op.create_table(
        "project_members",
        sa.Column(
            "project_id",
            sa.Uuid,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_table(
        "keypairs",
        sa.Column("access_key", sa.String(32), primary_key=True),
        sa.Column("secret_key_enc", sa.String(256), nullable=False),
        sa.Column(
            "user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column(
            "resource_policy",
            sa.String(64),
            sa.ForeignKey("keypair_resource_policies.name"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used", TS, nullable=True),
    )
    op.create_table(
        "volumes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("first_seen", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "volumes",
        "keypairs",
        "project_members",
        "projects",
        "users",
        "keypair_resource_policies",
        "project_resource_policies",
        "user_resource_policies",
        "domains",
    ):
        op.drop_table(table)

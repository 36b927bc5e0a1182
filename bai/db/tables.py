"""Provides the SQLAlchemy Core tables. Portable SQL only: the same schema runs on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.DateTime(timezone=True)

domains = sa.Table(
    "domains",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", TS, nullable=False),
)

user_resource_policies = sa.Table(
    "user_resource_policies",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("max_vfolder_count", sa.Integer, nullable=False, default=0),
    sa.Column("max_quota_scope_size", sa.BigInteger, nullable=False, default=0),
)

project_resource_policies = sa.Table(
    "project_resource_policies",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("max_vfolder_count", sa.Integer, nullable=False, default=0),
    sa.Column("max_quota_scope_size", sa.BigInteger, nullable=False, default=0),
)

keypair_resource_policies = sa.Table(
    "keypair_resource_policies",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    # {host: [permission, ...]}
    sa.Column("allowed_vfolder_hosts", sa.JSON, nullable=False),
    sa.Column("max_concurrent_sftp_sessions", sa.Integer, nullable=False, default=1),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("email", sa.String(128), nullable=False, unique=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("full_name", sa.String(128), nullable=False, default=""),
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
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(512), nullable=False, default=""),
    sa.Column("domain_name", sa.String(64), sa.ForeignKey("domains.name"), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column(
        "resource_policy",
        sa.String(64),
        sa.ForeignKey("project_resource_policies.name"),
        nullable=False,
    ),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("domain_name", "name", name="uq_projects_domain_name"),
)

project_members = sa.Table(
    "project_members",
    metadata,
    sa.Column(
        "project_id", sa.Uuid, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

keypairs = sa.Table(
    "keypairs",
    metadata,
    sa.Column("access_key", sa.String(32), primary_key=True),
    # Encrypted with a key derived from the node secret: HMAC verification needs the plain
    # secret, so it cannot be hashed, but a copied database alone must not reveal it.
    sa.Column("secret_key_enc", sa.String(256), nullable=False),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column(
        "resource_policy",
        sa.String(64),
        sa.ForeignKey("keypair_resource_policies.name"),
        nullable=False,
    ),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_used", TS, nullable=True),
)

volumes = sa.Table(
    "volumes",
    metadata,
    # Volumes the node has seen in its configuration; a new one is granted in the default
    # keypair policy once, so zero-config hosts work without an admin step.
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("backend", sa.String(16), nullable=False),
    sa.Column("first_seen", TS, nullable=False),
    # Every node declaring a shared volume sees the same bytes; a volume that is not shared
    # belongs to `owner_node`, and no other node may declare one of the same name.
    sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("owner_node", sa.String(64), nullable=True),
)

vfolders = sa.Table(
    "vfolders",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("host", sa.String(64), nullable=False),
    sa.Column("quota_scope_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("usage_mode", sa.String(16), nullable=False),
    # For project folders: what members get. For user folders: the owner's (always wd).
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
    # Usage the node keeps exact for every write it makes (reading it never walks the tree).
    sa.Column("num_files", sa.BigInteger, nullable=False, default=0),
    sa.Column("cur_size", sa.BigInteger, nullable=False, default=0),
    # Where the data lives in its volume (a directory path; a bucket and prefix).
    sa.Column("location", sa.String(512), nullable=False, server_default=""),
    # Every write is refused (an imported bucket the node must not change).
    sa.Column("read_only", sa.Boolean, nullable=False, server_default=sa.false()),
    # Imported buckets/prefixes: endpoint, bucket, prefix, access key and the secret key
    # encrypted with the node secret. NULL for folders whose data the node created.
    sa.Column("storage_meta", sa.JSON, nullable=True),
)
# Two live folders of one owner (or one project) never share a name; the database says so,
# so no in-process lock is needed and concurrent nodes agree.
for _kind, _owner in (("user", vfolders.c.user_id), ("group", vfolders.c.project_id)):
    _live = sa.and_(
        vfolders.c.ownership_type == _kind,
        vfolders.c.status.not_in(("delete-ongoing", "delete-complete", "delete-error")),
    )
    sa.Index(
        f"uq_vfolders_{_kind}_name",
        _owner,
        vfolders.c.name,
        unique=True,
        sqlite_where=_live,
        postgresql_where=_live,
    )

uploads = sa.Table(
    "uploads",
    metadata,
    # A tus upload session; kept in the database so an upload resumes after a node restart.
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

bgtasks = sa.Table(
    "bgtasks",
    metadata,
    # Background work (deletion, clone) claimed through the database, so a restarted node or
    # another node sharing the database picks up what a dead one left.
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("folder_id", sa.Uuid, nullable=False),
    sa.Column("target_id", sa.Uuid, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("current", sa.BigInteger, nullable=False, default=0),
    sa.Column("total", sa.BigInteger, nullable=False, default=0),
    sa.Column("message", sa.String(1024), nullable=False, default=""),
    sa.Column("claimed_by", sa.String(64), nullable=True, index=True),
    sa.Column("heartbeat_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finished_at", TS, nullable=True),
    # What the task works on beyond its folder (a directory move: source and target paths).
    sa.Column("params", sa.JSON, nullable=True),
)

quota_scopes = sa.Table(
    "quota_scopes",
    metadata,
    # One per (host, scope): created on first use with the owner's policy size (0 = no limit).
    sa.Column("host", sa.String(64), primary_key=True),
    sa.Column("scope_id", sa.String(64), primary_key=True),
    sa.Column("limit_bytes", sa.BigInteger, nullable=False, default=0),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

scan_runs = sa.Table(
    "scan_runs",
    metadata,
    # Reconcile scans: what they found and corrected, for `bai admin` and the benchmark.
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("folder_id", sa.Uuid, nullable=False),
    sa.Column("files", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("corrected_files", sa.BigInteger, nullable=False),
    sa.Column("corrected_bytes", sa.BigInteger, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("finished_at", TS, nullable=False),
)

quota_reservations = sa.Table(
    "quota_reservations",
    metadata,
    # Bytes a write in flight has claimed from a quota scope and not yet settled: a scope's
    # admission counts its usage plus these, so concurrent writers cannot overshoot.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(64), nullable=False),
    sa.Column("scope_id", sa.String(64), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("node_id", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_quota_reservations_scope", "host", "scope_id"),
)

ssh_keypairs = sa.Table(
    "ssh_keypairs",
    metadata,
    # The SSH key of one access key, for the SFTP service (Backend.AI keeps it on the keypair).
    sa.Column(
        "access_key",
        sa.String(32),
        sa.ForeignKey("keypairs.access_key", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("public_key", sa.String(16384), nullable=False),
    # SHA256 of the key's wire form: what a login presents, so it is unique and indexed.
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("origin", sa.String(16), nullable=False),  # generated or uploaded
    # A generated private key waits here, encrypted, for its one download; then it is gone.
    sa.Column("private_key_enc", sa.Text, nullable=True),
    sa.Column("created_at", TS, nullable=False),
)

sftp_sessions = sa.Table(
    "sftp_sessions",
    metadata,
    # "Run SFTP server": a grant to one access key's SSH key to reach some folders over SFTP
    # until it is stopped or idle for too long.
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column(
        "access_key",
        sa.String(32),
        sa.ForeignKey("keypairs.access_key", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_activity", TS, nullable=False),
    sa.Column("ended_at", TS, nullable=True),
    sa.Column("end_reason", sa.String(16), nullable=True),  # stopped or idle
)

sftp_session_folders = sa.Table(
    "sftp_session_folders",
    metadata,
    sa.Column(
        "session_id",
        sa.Uuid,
        sa.ForeignKey("sftp_sessions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "folder_id", sa.Uuid, sa.ForeignKey("vfolders.id", ondelete="CASCADE"), primary_key=True
    ),
)

# ---- sharing (migration 0006) ------------------------------------------------------------------

vfolder_invitations = sa.Table(
    "vfolder_invitations",
    metadata,
    # An owner's offer of a user folder to another user; accepting it adds a share row.
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column(
        "folder_id", sa.Uuid, sa.ForeignKey("vfolders.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("inviter_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "invitee_id",
        sa.Uuid,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("permission", sa.String(4), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending accepted rejected canceled
    sa.Column("created_at", TS, nullable=False),
    sa.Column("modified_at", TS, nullable=False),
)

sa.Index(
    "uq_vfolder_invitations_pending",
    vfolder_invitations.c.folder_id,
    vfolder_invitations.c.invitee_id,
    unique=True,
    sqlite_where=vfolder_invitations.c.state == "pending",
    postgresql_where=vfolder_invitations.c.state == "pending",
)

vfolder_permissions = sa.Table(
    "vfolder_permissions",
    metadata,
    # The share table: one row per (folder, user) — an invitee's permission on a user folder,
    # or an administrator's override of a member's permission on a project folder.
    sa.Column(
        "folder_id", sa.Uuid, sa.ForeignKey("vfolders.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "user_id",
        sa.Uuid,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("permission", sa.String(4), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

# ---- compute sessions and dotfiles (migration 0008) ---------------------------------------------

sessions = sa.Table(
    "sessions",
    metadata,
    # A compute session: a sandbox's scratch home, its folder mounts and its runs.
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column(
        "access_key",
        sa.String(32),
        sa.ForeignKey("keypairs.access_key", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("image", sa.String(256), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # running terminated error
    sa.Column("status_info", sa.String(256), nullable=True),
    sa.Column("environ", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("terminated_at", TS, nullable=True),
)

session_mounts = sa.Table(
    "session_mounts",
    metadata,
    # What a live session holds: while a row of a running session names a folder, the folder
    # is `mounted` and cannot go to the trash.
    sa.Column(
        "session_id", sa.Uuid, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("target", sa.String(1024), primary_key=True),
    sa.Column(
        "folder_id",
        sa.Uuid,
        sa.ForeignKey("vfolders.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("read_only", sa.Boolean, nullable=False),
)

dotfiles = sa.Table(
    "dotfiles",
    metadata,
    # Backend.AI's dotfiles: files written into every session's home at start, per access key
    # (`user`), project (`group`) or domain (`domain`).
    sa.Column("scope", sa.String(8), primary_key=True),
    sa.Column("owner", sa.String(64), primary_key=True),  # access key, project id or domain
    sa.Column("path", sa.String(256), primary_key=True),
    sa.Column("permission", sa.String(4), nullable=False),  # octal, as "755"
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

# ---- nodes sharing one database (migration 0009) ------------------------------------------------

nodes = sa.Table(
    "nodes",
    metadata,
    # Every node that ever used this database; `state` is up, down (stopped heartbeating: its
    # tasks went to other nodes) or stopped (shut down cleanly).
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("url", sa.String(512), nullable=False),  # where clients reach it (transfers)
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("volumes", sa.JSON, nullable=False),  # [{name, backend, shared}]
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("heartbeat_at", TS, nullable=False),
)

cluster_settings = sa.Table(
    "cluster_settings",
    metadata,
    # Facts every node must agree on (the fingerprint of the shared node secret).
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(512), nullable=False),
)

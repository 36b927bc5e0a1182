"""Provides the folder record and Backend.AI's status sets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bai.access import FolderView, Relation
from bai.enums import FolderStatus, Ownership, Permission, UsageMode, choices

USAGE_MODES = tuple(choices(UsageMode))
PERMISSIONS = tuple(choices(Permission))
OWNERSHIP_TYPES = tuple(choices(Ownership))

READY = FolderStatus.READY
CLONING = FolderStatus.CLONING
ERROR = FolderStatus.ERROR
DELETE_PENDING = FolderStatus.DELETE_PENDING
DELETE_ONGOING = FolderStatus.DELETE_ONGOING
DELETE_COMPLETE = FolderStatus.DELETE_COMPLETE
DELETE_ERROR = FolderStatus.DELETE_ERROR

DELETE_STATES = frozenset(s for s in FolderStatus if s.is_deleted)
# Folders that still hold their name: everything but what is being or has been removed
# (the partial unique indexes on vfolders say the same).
NAME_HOLDING = frozenset(FolderStatus) - {DELETE_ONGOING, DELETE_COMPLETE, DELETE_ERROR}


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


@dataclass(frozen=True)
class VFolder:
    id: uuid.UUID
    host: str
    quota_scope_id: str
    name: str
    usage_mode: str
    permission: str
    ownership_type: str
    user_id: uuid.UUID | None
    project_id: uuid.UUID | None
    creator: str
    cloneable: bool
    status: FolderStatus
    status_history: dict[str, str]
    created_at: datetime
    last_used: datetime | None
    num_files: int
    cur_size: int
    location: str = ""
    # A read-only folder refuses every write (a bucket imported read-only).
    read_only: bool = False
    # An imported bucket or prefix: endpoint, bucket, prefix, access key, sealed secret.
    storage_meta: dict[str, Any] | None = None
    # Filled per caller: how they stand to it, the permission they hold, whether they own it.
    relation: Relation = Relation.OUTSIDER
    caller_permission: Permission | None = None
    is_owner: bool = False
    owner_email: str | None = None
    project_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_automount(self) -> bool:
        return self.name.startswith(".")

    @property
    def scope_hex(self) -> str:
        return self.quota_scope_id.split(":", 1)[1].replace("-", "")

    def view(self) -> FolderView:
        """What the permission decision needs to know of this folder."""
        return FolderView(
            self.name,
            self.host,
            self.status,
            self.relation,
            self.caller_permission,
            self.read_only,
        )

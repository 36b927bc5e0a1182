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
        return FolderView(self.name, self.host, self.status, self.relation, self.caller_permission)

    def to_dict(self) -> dict[str, Any]:
        """Backend.AI's field names, plus the camelCase ones the official CLI reads."""
        return {
            "id": str(self.id),
            "name": self.name,
            "host": self.host,
            "quota_scope_id": self.quota_scope_id,
            "usage_mode": self.usage_mode,
            "permission": self.caller_permission or self.permission,
            "folder_permission": self.permission,
            "ownership_type": self.ownership_type,
            "type": self.ownership_type,
            "user": str(self.user_id) if self.user_id else None,
            "group": str(self.project_id) if self.project_id else None,
            "group_name": self.project_name,
            "owner": self.owner_email if self.ownership_type == "user" else self.project_name,
            "creator": self.creator,
            "is_owner": self.is_owner,
            "cloneable": self.cloneable,
            "status": self.status,
            "status_history": self.status_history,
            "created_at": _iso(self.created_at),
            "last_used": _iso(self.last_used),
            "num_files": self.num_files,
            "numFiles": self.num_files,
            "cur_size": self.cur_size,
            "max_size": 0,
            "max_files": 0,
            "automount": self.is_automount,
        }

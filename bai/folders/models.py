"""Provides the folder record and Backend.AI's status sets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

USAGE_MODES = ("general", "data", "model")
PERMISSIONS = ("ro", "rw", "wd")
OWNERSHIP_TYPES = ("user", "group")

READY = "ready"
PERFORMING = "performing"
CLONING = "cloning"
MOUNTED = "mounted"
ERROR = "error"
DELETE_PENDING = "delete-pending"
DELETE_ONGOING = "delete-ongoing"
DELETE_COMPLETE = "delete-complete"
DELETE_ERROR = "delete-error"

READABLE = frozenset({READY, PERFORMING, CLONING, MOUNTED, ERROR, DELETE_PENDING})
MOUNTABLE = frozenset({READY, PERFORMING, CLONING, MOUNTED})
UPDATABLE = frozenset({READY, MOUNTED})
DELETABLE = frozenset({READY})
PURGABLE = frozenset({DELETE_PENDING, DELETE_COMPLETE})
RECOVERABLE = frozenset({DELETE_PENDING})
DELETE_STATES = frozenset({DELETE_PENDING, DELETE_ONGOING, DELETE_COMPLETE, DELETE_ERROR})
# Folders that still hold their name: everything but what is being or has been removed.
NAME_HOLDING = frozenset({READY, PERFORMING, CLONING, MOUNTED, ERROR, DELETE_PENDING})


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
    status: str
    status_history: dict[str, str]
    created_at: datetime
    last_used: datetime | None
    num_files: int
    cur_size: int
    # Filled per caller: the permission they hold, and whether they own it.
    caller_permission: str | None = None
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

"""Provides the `/folders` bodies: create, info, rename, options, trash bin, clone.

`FolderInfo` carries Backend.AI's keys, plus `numFiles` (the official CLI's `vfolder info`
reads the camelCase one) and bai's `folder_permission` (the folder's own permission, where
`permission` is what the caller holds).
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from bai.api.base import WireRequest, WireResponse, choice
from bai.enums import FolderStatus, Ownership, Permission, UsageMode


class FolderCreate(WireRequest):
    name: str
    host: str | None = None
    group: str | None = None  # a project name or id: a project folder (admins)
    usage_mode: Annotated[str, choice(UsageMode)] = UsageMode.GENERAL.value
    permission: Annotated[str, choice(Permission, "members' permission")] = Permission.RW.value
    cloneable: bool = False
    # Sent by the official client; accepted for compatibility.
    quota: str | int | None = None
    unmanaged_path: str | None = None


class FolderRename(WireRequest):
    new_name: str


class FolderOptions(WireRequest):
    permission: Annotated[str, choice(Permission)] | None = None
    cloneable: bool | None = None


class FolderClone(WireRequest):
    target_name: str
    target_host: str | None = None
    usage_mode: Annotated[str, choice(UsageMode)] | None = None
    permission: Annotated[str, choice(Permission)] = Permission.RW.value


class FolderRef(WireRequest):
    """A folder named by id or name in a body (the trash-bin routes and purge)."""

    vfolder_id: str | None = None
    id: str | None = None
    name: str | None = None

    @property
    def ident(self) -> str | None:
        return self.vfolder_id or self.id or self.name


class FolderInfo(WireResponse):
    id: uuid.UUID
    name: str
    host: str
    quota_scope_id: str
    usage_mode: UsageMode
    permission: Permission  # what the caller holds
    folder_permission: Permission  # the folder's own (members' permission on project folders)
    ownership_type: Ownership
    type: Ownership
    user: uuid.UUID | None
    group: uuid.UUID | None
    group_name: str | None
    owner: str | None  # the owner's e-mail, or the project's name
    creator: str
    is_owner: bool
    cloneable: bool
    status: FolderStatus
    status_history: dict[str, str]
    created_at: str | None
    last_used: str | None
    num_files: int
    num_files_camel: int = msgspec.field(name="numFiles")
    cur_size: int
    max_size: int = 0
    max_files: int = 0
    automount: bool = False
    read_only: bool = False  # every write is refused (an imported bucket)
    bucket: str | None = None  # "BUCKET/PREFIX" an imported folder maps (no credentials)


class ClonedFolder(FolderInfo, kw_only=True):
    """The new folder, still `cloning`, and the background task that fills it."""

    bgtask_id: uuid.UUID


class TaskStarted(WireResponse):
    """A background task started (deleting a folder forever)."""

    bgtask_id: uuid.UUID


class Purged(WireResponse):
    purged: str

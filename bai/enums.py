"""Provides the words the node and its clients share: roles, permissions, statuses, modes.

Plain `StrEnum`s, so a value compares equal to its wire string ("rw", "delete-pending") and
JSON carries it unchanged; both the domain and the clients import this module, and it
imports nothing of bai.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUPERADMIN = "superadmin"
    ADMIN = "admin"
    USER = "user"


class Permission(StrEnum):
    """A folder permission, weakest first: ro reads; rw also writes files; wd also deletes."""

    RO = "ro"
    RW = "rw"
    WD = "wd"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def covers(self, needed: Permission) -> bool:
        return self.rank >= needed.rank


_RANK = {Permission.RO: 0, Permission.RW: 1, Permission.WD: 2}


class HostPermission(StrEnum):
    """What a keypair resource policy may grant on a storage host."""

    CREATE_VFOLDER = "create-vfolder"
    MODIFY_VFOLDER = "modify-vfolder"
    DELETE_VFOLDER = "delete-vfolder"
    MOUNT_IN_SESSION = "mount-in-session"
    UPLOAD_FILE = "upload-file"
    DOWNLOAD_FILE = "download-file"
    INVITE_OTHERS = "invite-others"
    SET_USER_SPECIFIC_PERMISSION = "set-user-specific-permission"


class Ownership(StrEnum):
    USER = "user"
    GROUP = "group"  # Backend.AI's name for a project folder


class UsageMode(StrEnum):
    GENERAL = "general"
    DATA = "data"
    MODEL = "model"


class FolderStatus(StrEnum):
    """Backend.AI's folder status machine."""

    READY = "ready"
    PERFORMING = "performing"
    CLONING = "cloning"
    MOUNTED = "mounted"
    ERROR = "error"
    DELETE_PENDING = "delete-pending"  # in the trash, restorable
    DELETE_ONGOING = "delete-ongoing"  # data being removed in the background
    DELETE_COMPLETE = "delete-complete"
    DELETE_ERROR = "delete-error"

    @property
    def is_deleted(self) -> bool:
        return self.value.startswith("delete-")


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def choices(enum: type[StrEnum]) -> list[str]:
    return [m.value for m in enum]

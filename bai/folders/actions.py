"""Provides the table of folder operations and what each one needs (used by `bai.access`)."""

from __future__ import annotations

from bai.access import FolderAction
from bai.folders.models import (
    DELETABLE,
    DELETE_PENDING,
    PURGABLE,
    READABLE,
    RECOVERABLE,
    UPDATABLE,
)

# Backend.AI lets files of a trashed folder be read; we refuse all file access in every
# delete-* state, as the user guide promises.
FILE_READABLE = READABLE - {DELETE_PENDING}

INFO = FolderAction("read", "ro", READABLE)
LIST_FILES = FolderAction("listed", "ro", FILE_READABLE)
DOWNLOAD = FolderAction("downloaded", "ro", FILE_READABLE, "download-file")
UPLOAD = FolderAction("uploaded", "rw", UPDATABLE, "upload-file")
MKDIR = FolderAction("created", "rw", UPDATABLE, "upload-file")
MOVE = FolderAction("moved", "rw", UPDATABLE, "upload-file")
DELETE_FILES = FolderAction("deleted", "wd", UPDATABLE, "upload-file")
RENAME = FolderAction("renamed", "wd", UPDATABLE, "modify-vfolder", owner_only=True)
UPDATE_OPTIONS = FolderAction("changed", "wd", UPDATABLE, "modify-vfolder", owner_only=True)
TRASH = FolderAction("moved to the trash", "wd", DELETABLE, "delete-vfolder", owner_only=True)
RESTORE = FolderAction("restored", "wd", RECOVERABLE, "delete-vfolder", owner_only=True)
DELETE_FOREVER = FolderAction("deleted forever", "wd", PURGABLE, "delete-vfolder", owner_only=True)
CLONE = FolderAction("cloned", "ro", UPDATABLE, "create-vfolder")

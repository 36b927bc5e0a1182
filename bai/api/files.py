"""Provides the file-route bodies of a folder: ls, mkdir, move, rename, delete.

`ls` has two shapes: Backend.AI's (`OfficialListing`, whose `files` is a JSON array encoded
*as a string* of `OfficialFileEntry`), and bai's `format=ndjson` stream of `FileEntry` lines.
"""

from __future__ import annotations

import uuid

from bai.api.base import WireRequest, WireResponse

# Entry types, in Backend.AI's spelling; a listing may also show FIFO, SOCKET or DEVICE.
FILE = "FILE"
DIRECTORY = "DIRECTORY"
SYMLINK = "SYMLINK"


class FileEntry(WireResponse):
    """One line of `GET /folders/{name}/files?format=ndjson`."""

    name: str
    type: str  # FILE, DIRECTORY, SYMLINK, FIFO, SOCKET or DEVICE
    size: int
    mode: str  # as `ls -l` shows it: "-rw-r--r--"
    created: str  # ISO 8601
    modified: str  # ISO 8601
    symlink_target: str | None = None


class OfficialFileEntry(WireResponse):
    """One item of Backend.AI's listing; the official CLI reads exactly these four keys."""

    filename: str
    size: int
    mtime: float  # seconds since the epoch
    mode: str


class OfficialListing(WireResponse):
    """`GET /folders/{name}/files` without a format: Backend.AI's shape."""

    files: str  # a JSON array of OfficialFileEntry, as a string
    folder_path: str


class ListFilesRequest(WireRequest):
    """The official client sends `path` in the body of its GET; bai sends `?path=`."""

    path: str = "."


class MkdirRequest(WireRequest):
    path: str | list[str]
    parents: bool = False
    exist_ok: bool = False


class MkdirResult(WireResponse):
    results: list[str]  # the directories, as cleaned paths


class MoveFileRequest(WireRequest):
    src: str
    dst: str  # into it when it is a directory


class MoveFileResult(WireResponse):
    src: str
    dst: str
    # A directory move on a bucket that outlasted the request (HTTP 202): follow the task.
    task_id: uuid.UUID | None = None


class RenameFileRequest(WireRequest):
    target_path: str
    new_name: str


class RenameFileResult(WireResponse):
    target_path: str
    new_name: str


class DeleteFilesRequest(WireRequest):
    files: list[str]
    recursive: bool = False


class DeleteFilesResult(WireResponse):
    deleted: int

"""Provides the caller's virtual SFTP tree: a read-only root whose directories are the folders
of their live sessions, and the split of every path into (folder name, path inside it).

Paths are resolved as in a chroot: `..` stops at the root and a relative path starts there,
so no spelling of a path reaches anything but a folder of the session; inside a folder the
volume confines the rest (symlinks included).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from bai.errors import PermissionDenied
from bai.folders.models import VFolder
from bai.storage.base import Entry

ROOT_MODE = stat.S_IFDIR | 0o555


@dataclass(frozen=True)
class Place:
    """Where a path points: the root (`name` None), a folder's top (`rel` "."), or inside."""

    name: str | None
    rel: str

    @property
    def is_root(self) -> bool:
        return self.name is None

    @property
    def is_top(self) -> bool:
        return self.name is not None and self.rel == "."

    @property
    def path(self) -> str:
        if self.name is None:
            return "/"
        return f"/{self.name}" if self.rel == "." else f"/{self.name}/{self.rel}"


def place(path: str) -> Place:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    if not parts:
        return Place(None, ".")
    return Place(parts[0], "/".join(parts[1:]) or ".")


def expand(path: str) -> Place:
    """OpenSSH's expand-path: `~` and `~/…` name the root (the caller's home)."""
    if path == "~" or path.startswith("~/"):
        path = "/" + path[1:]
    return place(path)


def read_only_root(what: str) -> PermissionDenied:
    return PermissionDenied(
        f"{what}: the SFTP root is read-only; it holds the folders of your session, so work "
        "inside one of them (/NAME/…)"
    )


def root_entry(f: VFolder) -> Entry:
    """A folder as a directory of the root: writable-looking only if the caller may write."""
    writable = f.caller_permission not in (None, "ro")
    created = f.created_at.timestamp()
    return Entry(f.name, "DIRECTORY", 0, 0o755 if writable else 0o555, created, created)

"""Provides the interface every volume backend implements, and the records it returns."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import ClassVar

from bai.config import VolumeConfig


@dataclass(frozen=True)
class Capacity:
    used: int
    total: int

    @property
    def percentage(self) -> float:
        return round(100.0 * self.used / self.total, 2) if self.total else 0.0


@dataclass(frozen=True)
class FolderRef:
    """Where a folder's data lives in a volume: its quota scope and its id."""

    scope_hex: str
    id: uuid.UUID


@dataclass(frozen=True)
class Entry:
    name: str
    type: str  # FILE, DIRECTORY or SYMLINK (Backend.AI's names)
    size: int
    mode: int
    created: float
    modified: float
    symlink_target: str | None = None


@dataclass(frozen=True)
class UsageDelta:
    """How a write changed a folder's usage (files and bytes, either sign)."""

    files: int = 0
    bytes: int = 0

    def __add__(self, other: UsageDelta) -> UsageDelta:
        return UsageDelta(self.files + other.files, self.bytes + other.bytes)


Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScanResult:
    files: int
    bytes: int
    complete: bool  # False when the deadline cut the walk short


class Volume(ABC):
    backend: ClassVar[str]
    # Backend.AI's capability names: vfolder, quota, metric, fast-size, fast-scan …
    capabilities: ClassVar[frozenset[str]]

    def __init__(self, config: VolumeConfig) -> None:
        self.config = config
        self.name = config.name

    @abstractmethod
    async def init(self) -> None:
        """Prepare the volume at node start (create its root, check it is usable)."""

    @abstractmethod
    async def capacity(self) -> Capacity:
        """Bytes used and total of the storage under the volume."""

    # ---- folders
    @abstractmethod
    async def create_folder(self, ref: FolderRef) -> None: ...

    @abstractmethod
    async def remove_folder(self, ref: FolderRef) -> None:
        """Remove a folder's data; safe to call again after an interruption."""

    @abstractmethod
    async def clone_folder(self, src: FolderRef, dst: FolderRef, progress: Progress) -> None: ...

    @abstractmethod
    async def folder_exists(self, ref: FolderRef) -> bool: ...

    # ---- files (paths come from `bai.paths.clean_relpath`)
    @abstractmethod
    def list_dir(self, ref: FolderRef, rel: PurePosixPath) -> AsyncIterator[list[Entry]]:
        """Entries in batches, so a huge directory never sits in memory whole."""

    @abstractmethod
    async def confine(self, ref: FolderRef, rel: PurePosixPath) -> None:
        """Raise `InvalidPath` if `rel` would lead out of the folder (it need not exist)."""

    @abstractmethod
    async def stat(self, ref: FolderRef, rel: PurePosixPath, follow: bool = False) -> Entry:
        """`follow` resolves a final symlink, but only to a target inside the folder."""

    @abstractmethod
    async def mkdir(
        self, ref: FolderRef, rel: PurePosixPath, parents: bool, exist_ok: bool
    ) -> None: ...

    @abstractmethod
    async def move(self, ref: FolderRef, src: PurePosixPath, dst: PurePosixPath) -> None: ...

    @abstractmethod
    async def rename(self, ref: FolderRef, src: PurePosixPath, new_name: str) -> None: ...

    @abstractmethod
    async def delete(
        self, ref: FolderRef, rels: Sequence[PurePosixPath], recursive: bool
    ) -> UsageDelta: ...

    @abstractmethod
    def read(
        self, ref: FolderRef, rel: PurePosixPath, start: int, end: int
    ) -> AsyncIterator[bytes]:
        """Bytes [start, end) of a file."""

    @abstractmethod
    def walk(self, ref: FolderRef, rel: PurePosixPath) -> AsyncIterator[tuple[str, Entry]]:
        """Every entry below `rel` (paths relative to it), for archives."""

    # ---- staged writes: data lands outside every folder tree (but inside the folder's
    # quota scope, where the backend has one) and appears by atomic commit
    @abstractmethod
    async def staged_size(self, ref: FolderRef, upload_id: str) -> int: ...

    @abstractmethod
    async def write_staged(
        self,
        ref: FolderRef,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        limit: int,
    ) -> int:
        """Append at `offset` (which must be the staged size); return the new size."""

    @abstractmethod
    async def commit_staged(
        self, ref: FolderRef, upload_id: str, rel: PurePosixPath
    ) -> UsageDelta: ...

    @abstractmethod
    async def discard_staged(self, ref: FolderRef, upload_id: str) -> None: ...

    # ---- quota scopes and usage
    @property
    def quota_supported(self) -> bool:
        return "quota" in self.capabilities

    async def ensure_scope(self, scope_hex: str, limit: int) -> None:  # noqa: B027
        """Prepare a quota scope (backends with kernel quotas create and limit it here);
        a plain directory tree needs nothing."""

    async def set_scope_limit(self, scope_hex: str, limit: int) -> None:  # noqa: B027
        """Apply a scope's limit (0 = none) where the backend enforces quotas; elsewhere
        the node enforces it at admission."""

    async def scope_usage(self, scope_hex: str, fresh: bool = False) -> int | None:
        """Bytes used by a scope, if the backend knows it instantly; None otherwise.
        `fresh` settles pending frees first (slower; used before refusing a write)."""
        return None

    @abstractmethod
    async def scan_usage(self, ref: FolderRef, deadline: float | None = None) -> ScanResult:
        """Count a folder's files and bytes by walking it (the reconcile scan)."""

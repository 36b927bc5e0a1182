"""Provides the interface every volume backend implements, and the records it returns.

The interface is written so that an object store implements it as naturally as a POSIX
directory: a folder is a *location* inside its volume (a directory path, or a bucket and
prefix), stored on the folder's row; files are written through an `UploadHandle` (write at
any offset, commit = atomic appearance, abort) and read through a `ReadHandle`; sessions
borrow a folder through reference-counted mounts; changes made behind the node's back arrive
as change events. Backends declare `Capability` flags and the rest of the code reads those,
never the backend's class.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar, Protocol

from bai.config import VolumeConfig
from bai.errors import BaiError, NotSupported


class Capability(enum.Flag):
    """What a backend can do; code outside `bai.storage` branches on these only."""

    NONE = 0
    ATOMIC_RENAME = enum.auto()  # move/rename is one atomic step (object stores copy+delete)
    REAL_DIRECTORIES = enum.auto()  # empty directories exist on their own
    SYMLINKS = enum.auto()  # symlinks exist, are listed as links and can be made
    RANDOM_WRITES = enum.auto()  # an upload writes in place at any offset (no part buffer)
    BIND_MOUNT = enum.auto()  # a folder is a host directory a sandbox can bind-mount
    FUSE_MOUNT = enum.auto()  # a folder is mounted through FUSE (s3fs) for sessions
    CHANGE_EVENTS = enum.auto()  # watch() reports changes made behind the node's back
    KERNEL_QUOTA = enum.auto()  # the storage enforces a quota scope's limit for every writer
    FAST_SIZE = enum.auto()  # a quota scope's usage is known instantly


@dataclass(frozen=True)
class Capacity:
    used: int
    total: int

    @property
    def percentage(self) -> float:
        return round(100.0 * self.used / self.total, 2) if self.total else 0.0


@dataclass(frozen=True)
class BucketSource:
    """An existing bucket, or a prefix of one, imported as a folder (the seed's metadata
    column): the node did not create its data, so it never deletes it. The secret key stays
    sealed with the node secret until the backend needs it (`Volume.use_cipher`)."""

    bucket: str
    prefix: str = ""  # "" (the whole bucket) or "some/dir/"
    endpoint: str | None = None  # None: the volume's endpoint
    access_key: str | None = None  # None: the volume's credentials
    secret_sealed: str | None = field(default=None, repr=False)
    read_only: bool = False

    @property
    def location(self) -> str:
        return f"{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class FolderRef:
    """Where a folder's data lives: its quota scope, its id and its location in the volume
    (from `Volume.locate`, stored on the folder's row); `source` for an imported bucket."""

    scope_hex: str
    id: uuid.UUID
    location: str
    source: BucketSource | None = None


@dataclass(frozen=True)
class Entry:
    name: str
    type: str  # FILE, DIRECTORY, SYMLINK (Backend.AI's names), or FIFO, SOCKET, DEVICE
    size: int
    mode: int
    created: float
    modified: float
    symlink_target: str | None = None

    @property
    def is_file(self) -> bool:
        return self.type == "FILE"

    @property
    def is_dir(self) -> bool:
        return self.type == "DIRECTORY"


@dataclass(frozen=True)
class UsageDelta:
    """How a write changed a folder's usage (files and bytes, either sign)."""

    files: int = 0
    bytes: int = 0

    def __add__(self, other: UsageDelta) -> UsageDelta:
        return UsageDelta(self.files + other.files, self.bytes + other.bytes)


@dataclass(frozen=True)
class ScanResult:
    files: int
    bytes: int
    complete: bool  # False when the deadline cut the walk short


# (done, total) of a long operation, called as it goes (from any thread).
Progress = Callable[[int, int], None]


class ReadHandle(ABC):
    """An open file of a folder. Opening checked that it is a regular file inside the
    folder; reads never block on anything but the storage. `ref` and `rel` say where it
    lives, so a backend can copy it without reading it (S3's server-side copy)."""

    entry: Entry
    ref: FolderRef
    rel: PurePosixPath

    @abstractmethod
    def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) of the file (fewer if it shrank meanwhile)."""

    @abstractmethod
    async def close(self) -> None: ...

    def fileno(self) -> int | None:
        """The open file's descriptor, for zero-copy sending (sendfile); None where the bytes
        only come as a stream (an object store)."""
        return None

    async def __aenter__(self) -> ReadHandle:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class UploadHandle(ABC):
    """Data being written to one path of a folder, invisible until `commit` makes it appear
    at once. The path is fixed when the upload opens (an S3 multipart upload is bound to its
    key). Writes may come at any offset and in any order (parallel SFTP writes; a backend
    without RANDOM_WRITES buffers them into parts); reopening the same upload id continues it
    after a restart."""

    rel: PurePosixPath

    @abstractmethod
    async def write(self, offset: int, parts: Sequence[bytes | memoryview]) -> int:
        """Write `parts` back to back from `offset`; return the bytes written."""

    @abstractmethod
    async def size(self) -> int:
        """The end of the furthest byte written so far (for a sequential writer, such as a
        tus upload, the offset to resume from)."""

    @abstractmethod
    async def commit(self) -> UsageDelta:
        """Make the data appear at its path (replacing a file there) in one step; durable."""

    @abstractmethod
    async def abort(self) -> None:
        """Drop the data written so far; safe to call again."""

    async def copy_from(self, src: ReadHandle) -> int:
        """Copy the whole of `src` into this upload (backends may do it without copies)."""
        pos = 0
        async for chunk in src.read(0, src.entry.size):
            pos += await self.write(pos, [chunk])
        return pos

    @abstractmethod
    async def close(self) -> None:
        """Release what the handle holds open; the upload itself stays (resumable)."""


class SecretCipher(Protocol):
    """Opens secrets sealed with the node secret (`bai.secrets.NodeSecret`)."""

    def encrypt(self, plain: str) -> str: ...

    def decrypt(self, token: str) -> str: ...


class Volume(ABC):
    backend: ClassVar[str]
    capabilities: ClassVar[Capability]

    def __init__(self, config: VolumeConfig) -> None:
        self.config = config
        self.name = config.name
        self.cipher: SecretCipher | None = None
        self._mounts: dict[uuid.UUID, tuple[int, Path]] = {}
        self._mount_lock = asyncio.Lock()

    def use_cipher(self, cipher: SecretCipher) -> None:
        """Give the backend the node's cipher for credentials sealed on folder rows."""
        self.cipher = cipher

    def has(self, cap: Capability) -> bool:
        return cap in self.capabilities

    def backend_ai_capabilities(self) -> list[str]:
        """Backend.AI's capability names for `list-hosts` (vfolder, quota, fast-size)."""
        names = ["vfolder"]
        if self.has(Capability.KERNEL_QUOTA):
            names.append("quota")
        if self.has(Capability.FAST_SIZE):
            names.append("fast-size")
        return sorted(names)

    @abstractmethod
    async def init(self) -> None:
        """Prepare the volume at node start (create its root, check it is usable)."""

    async def close(self) -> None:  # noqa: B027
        """Release what the volume holds at node shutdown (FUSE mounts); most hold nothing."""

    @abstractmethod
    async def capacity(self) -> Capacity:
        """Bytes used and total of the storage under the volume."""

    # ---- folders
    @abstractmethod
    def locate(self, scope_hex: str, folder_id: uuid.UUID) -> str:
        """The location a new folder gets (a directory path; a bucket and prefix)."""

    @abstractmethod
    async def create_folder(self, ref: FolderRef) -> None: ...

    @abstractmethod
    async def remove_folder(self, ref: FolderRef) -> None:
        """Remove a folder's data and what only it used; safe to call again after an
        interruption."""

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
    async def move(
        self,
        ref: FolderRef,
        src: PurePosixPath,
        dst: PurePosixPath,
        progress: Progress | None = None,
    ) -> UsageDelta:
        """Move like `mv` (into `dst` when it is a directory, replacing a file there);
        atomic where ATOMIC_RENAME. The delta counts a replaced file. A backend that copies
        (no ATOMIC_RENAME) reports (objects done, objects in all) through `progress`."""

    @abstractmethod
    async def rename(self, ref: FolderRef, src: PurePosixPath, new_name: str) -> None: ...

    @abstractmethod
    async def delete(
        self, ref: FolderRef, rels: Sequence[PurePosixPath], recursive: bool
    ) -> UsageDelta: ...

    async def symlink(self, ref: FolderRef, rel: PurePosixPath, target: str) -> None:
        """Make a symlink (backends with SYMLINKS only)."""
        raise NotSupported(f"storage host {self.name!r} has no symbolic links")

    async def set_attributes(
        self,
        ref: FolderRef,
        rel: PurePosixPath,
        *,
        mode: int | None = None,
        times: tuple[float, float] | None = None,
    ) -> None:
        """Set permission bits and (access, modification) times of an entry inside the
        folder (SFTP's SETSTAT, `scp -p`); backends without them refuse."""
        raise NotSupported(f"storage host {self.name!r} keeps no file modes or times")

    @abstractmethod
    def walk(self, ref: FolderRef, rel: PurePosixPath) -> AsyncIterator[tuple[str, Entry]]:
        """Every entry below `rel` (paths relative to it), parents before children."""

    @abstractmethod
    async def open_read(self, ref: FolderRef, rel: PurePosixPath) -> ReadHandle:
        """Open a regular file for reading (a symlink to a file inside the folder is
        followed); anything else — directory, FIFO, socket, device — is refused."""

    @abstractmethod
    async def open_upload(self, ref: FolderRef, upload_id: str, rel: PurePosixPath) -> UploadHandle:
        """Open (create, or reopen after a restart) the upload with this id, bound for `rel`.
        Its data lands outside every folder tree, inside the folder's quota scope where the
        backend has scopes."""

    @abstractmethod
    async def staged_size(self, ref: FolderRef, upload_id: str) -> int:
        """Bytes an upload holds so far (0 if it holds none); opens and creates nothing."""

    @abstractmethod
    async def sweep_staging(self, keep: set[str]) -> int:
        """Remove staged data of every upload whose id is not in `keep` (S3: abort the
        multipart uploads); the number removed."""

    async def put_files(
        self, ref: FolderRef, files: list[tuple[PurePosixPath, bytes]], keys: list[str]
    ) -> list[UsageDelta | BaiError]:
        """Write whole (small) files, each appearing at once and durable before this returns;
        a result per file: its usage change, or why it failed. `keys[i]` names file `i`'s
        staged data (for the staging sweep). Backends may do it together, much faster."""
        results: list[UsageDelta | BaiError] = []
        for (rel, data), key in zip(files, keys, strict=True):
            handle = await self.open_upload(ref, key, rel)
            try:
                await handle.write(0, [data])
                results.append(await handle.commit())
            except BaiError as e:
                await handle.abort()
                results.append(e)
        return results

    async def join_staged(self, ref: FolderRef, first: str, others: list[str]) -> int:
        """Append the staged data of the uploads `others` to that of `first`, in order (tus
        concatenation); the new size of `first`. `others` keep theirs until `drop_staged`."""
        raise NotSupported(f"storage host {self.name!r} cannot join uploads made in parts")

    async def drop_staged(self, ref: FolderRef, keys: list[str]) -> None:
        """Remove the staged data of these uploads (missing ones are fine)."""
        for key in keys:
            handle = await self.open_upload(ref, key, PurePosixPath("x"))
            await handle.abort()

    # ---- imported buckets
    async def check_source(self, source: BucketSource) -> None:
        """Check that an existing bucket (or prefix) can be imported: it exists and the
        credentials reach it. Backends without buckets refuse."""
        raise NotSupported(
            f"storage host {self.name!r} ({self.backend}) has no buckets to import; "
            "import into a minio host"
        )

    # ---- mounts for sessions: reference-counted, so two sessions share one mount
    async def acquire_mount(self, ref: FolderRef, read_only: bool = False) -> Path:
        """A host path that shows the folder (bind it into a sandbox); held until
        `release_mount` is called as many times. `read_only` asks for a mount that refuses
        writes where the backend mounts (s3fs); a bind mount is made read-only by the
        sandbox."""
        async with self._mount_lock:
            held = self._mounts.get(ref.id)
            count, path = held if held is not None else (0, await self._mount(ref))
            self._mounts[ref.id] = (count + 1, path)
            return path

    async def release_mount(self, ref: FolderRef, read_only: bool = False) -> None:
        async with self._mount_lock:
            count, path = self._mounts.get(ref.id, (0, Path()))
            if count <= 1:
                self._mounts.pop(ref.id, None)
                if count == 1:
                    await self._unmount(ref, path)
            else:
                self._mounts[ref.id] = (count - 1, path)

    def mount_count(self, ref: FolderRef) -> int:
        return self._mounts.get(ref.id, (0, Path()))[0]

    async def _mount(self, ref: FolderRef) -> Path:
        raise NotSupported(f"folders on storage host {self.name!r} cannot be mounted")

    async def _unmount(self, ref: FolderRef, path: Path) -> None:  # noqa: B027
        """Undo `_mount` (a bind source needs nothing; a FUSE mount is unmounted)."""

    # ---- change events
    async def watch(self, stop: asyncio.Event) -> AsyncIterator[set[str]]:
        """Batches of folder locations changed behind the node's back (CHANGE_EVENTS)."""
        raise NotSupported(f"storage host {self.name!r} reports no change events")
        yield set()  # pragma: no cover - makes this an async generator

    # ---- quota scopes and usage
    async def ensure_scope(self, scope_hex: str, limit: int) -> None:  # noqa: B027
        """Prepare a quota scope (backends with kernel quotas create and limit it here);
        a plain directory tree needs nothing."""

    async def set_scope_limit(self, scope_hex: str, limit: int) -> None:  # noqa: B027
        """Apply a scope's limit (0 = none) where the backend enforces quotas; elsewhere
        the node enforces it as bytes arrive."""

    async def scope_usage(self, scope_hex: str, fresh: bool = False) -> int | None:
        """Bytes used by a scope, if the backend knows it instantly (FAST_SIZE); None
        otherwise. `fresh` settles pending frees first (slower; used before refusing)."""
        return None

    @abstractmethod
    async def scan_usage(self, ref: FolderRef, deadline: float | None = None) -> ScanResult:
        """Count a folder's files and bytes by walking it (the reconcile scan)."""

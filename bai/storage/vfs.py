"""Provides `VfsVolume`: folders as plain directories under a local path.

Layout (Backend.AI's): a folder's location is `{quota scope hex}/{id[0:2]}/{id[2:4]}/{id[4:]}`
under the volume root. Uploads are staged in `{root}/.bai-staging/`, on the same filesystem,
and appear by `rename(2)`. Every path is confined: intermediate symlinks must resolve inside
the folder, a final symlink is never followed except by reads whose target also stays inside,
and every act happens on a descriptor proven to lie inside the folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import stat as st
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path, PurePosixPath

from watchfiles import awatch

from bai.errors import (
    ConfigError,
    Conflict,
    InvalidPath,
    InvalidRequest,
    NotADirectory,
    NotEmpty,
    NotFound,
    from_os_error,
)
from bai.paths import is_top
from bai.storage.base import (
    Capability,
    Capacity,
    Entry,
    FolderRef,
    ReadHandle,
    ScanResult,
    UploadHandle,
    UsageDelta,
    Volume,
)
from bai.storage.posix import FdReadHandle, FdUploadHandle, entry_of
from bai.storage.scan import scan_tree

log = logging.getLogger("bai.storage")

STAGING = ".bai-staging"
TRASH = ".bai-trash"
_BATCH = 1000
# scope/aa/bb/rest: how many path components name a folder below the root.
_LOCATION_DEPTH = 4


class VfsVolume(Volume):
    backend = "vfs"
    capabilities = (
        Capability.ATOMIC_RENAME
        | Capability.REAL_DIRECTORIES
        | Capability.SYMLINKS
        | Capability.RANDOM_WRITES
        | Capability.BIND_MOUNT
        | Capability.CHANGE_EVENTS
    )

    @property
    def root(self) -> Path:
        assert self.config.path is not None  # config validation requires a path for vfs
        return self.config.path

    async def init(self) -> None:
        root = self.root
        try:
            (root / STAGING).mkdir(parents=True, exist_ok=True)
            (root / TRASH).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"volume.{self.name}.path: cannot create {root}: {e.strerror}"
            ) from None
        if not os.access(root, os.W_OK | os.X_OK):
            raise ConfigError(f"volume.{self.name}.path: {root} is not writable by this user")

    async def scan_usage(self, ref: FolderRef, deadline: float | None = None) -> ScanResult:
        root = self.folder_path(ref)
        if not root.is_dir():
            raise NotFound("the folder's data is missing on its volume")
        return await asyncio.to_thread(scan_tree, str(root), deadline)

    async def capacity(self) -> Capacity:
        usage = await asyncio.to_thread(shutil.disk_usage, self.root)
        return Capacity(used=usage.used, total=usage.total)

    # ---- paths -----------------------------------------------------------------------------

    def locate(self, scope_hex: str, folder_id: uuid.UUID) -> str:
        h = folder_id.hex
        return f"{scope_hex}/{h[0:2]}/{h[2:4]}/{h[4:]}"

    def folder_path(self, ref: FolderRef) -> Path:
        parts = PurePosixPath(ref.location).parts
        if len(parts) != _LOCATION_DEPTH or any(p in ("", ".", "..") for p in parts):
            raise InvalidPath(f"folder location {ref.location!r} is not one of this volume's")
        return self.root.joinpath(*parts)

    def _resolve(self, ref: FolderRef, rel: PurePosixPath, *, follow: bool = False) -> Path:
        """The on-disk path of `rel`, refusing any way out of the folder."""
        root = self.folder_path(ref)
        if not root.is_dir():
            raise NotFound("the folder's data is missing on its volume; ask an admin")
        if is_top(rel):
            return root
        root_real = os.path.realpath(root)
        target = root.joinpath(*rel.parts)
        parent_real = os.path.realpath(target.parent)
        if parent_real != root_real and not parent_real.startswith(root_real + os.sep):
            raise InvalidPath(f"path {rel} leads out of the folder through a symlink")
        final = Path(parent_real) / target.name
        if follow and final.is_symlink():
            real = os.path.realpath(final)
            if real != root_real and not real.startswith(root_real + os.sep):
                raise InvalidPath(f"{rel} is a symlink pointing out of the folder")
            return Path(real)
        return final

    def staging_dir(self, ref: FolderRef) -> Path:
        # Same filesystem as the folders, so a commit is one rename(2).
        return self.root / STAGING

    def trash_dir(self, ref: FolderRef) -> Path:
        return self.root / TRASH

    def _open_inside(self, ref: FolderRef, rel: PurePosixPath, flags: int) -> int:
        """Open `rel` and prove the *opened* object lies in the folder: a symlink swapped in
        between the path check and the open cannot redirect the read or write elsewhere."""
        path = self._resolve(ref, rel, follow=True)
        try:
            fd = os.open(path, flags | os.O_CLOEXEC)
        except OSError as e:
            raise from_os_error(e, rel) from None
        real = os.readlink(f"/proc/self/fd/{fd}")
        root_real = os.path.realpath(self.folder_path(ref))
        if real != root_real and not real.startswith(root_real + os.sep):
            os.close(fd)
            raise InvalidPath(f"{rel} leads out of the folder")
        return fd

    @contextlib.contextmanager
    def _parent_fd(self, ref: FolderRef, rel: PurePosixPath) -> Iterator[int]:
        """A descriptor of `rel`'s parent, proven inside the folder; act on `rel.name` with
        `dir_fd=` so no path component can be swapped between the check and the act."""
        fd = self._open_inside(ref, rel.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            yield fd
        finally:
            os.close(fd)

    def _stage(self, ref: FolderRef, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise InvalidRequest("malformed upload id")
        return self.staging_dir(ref) / upload_id

    # ---- folders ---------------------------------------------------------------------------

    async def create_folder(self, ref: FolderRef) -> None:
        path = self.folder_path(ref)

        def work() -> None:
            for _ in range(3):  # a removal may prune an empty parent between the two mkdirs
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    path.mkdir()
                    return
                except FileNotFoundError:
                    continue
            path.mkdir()

        await asyncio.to_thread(work)

    async def folder_exists(self, ref: FolderRef) -> bool:
        return await asyncio.to_thread(self.folder_path(ref).is_dir)

    async def remove_folder(self, ref: FolderRef) -> None:
        def work() -> None:
            path = self.folder_path(ref)
            trash = self.trash_dir(ref) / ref.id.hex
            # Rename first: the folder disappears at once and atomically; the slow removal
            # then works on a private tree, and a rerun after a crash finds it there.
            if path.exists():
                os.replace(path, trash)
            if trash.exists():
                shutil.rmtree(trash)
            # The two prefix levels (aa/bb) belong to no folder once empty; the scope
            # directory stays (on btrfs it is a subvolume holding staging and trash).
            for parent in (path.parent, path.parent.parent):
                try:
                    parent.rmdir()
                except OSError:
                    break  # not empty (another folder) or already gone

        await asyncio.to_thread(work)

    async def _mount(self, ref: FolderRef) -> Path:
        # A bind mount needs only the folder's directory; the sandbox binds it.
        path = self.folder_path(ref)
        if not await asyncio.to_thread(path.is_dir):
            raise NotFound("the folder's data is missing on its volume; ask an admin")
        return path

    # ---- files -----------------------------------------------------------------------------

    async def list_dir(self, ref: FolderRef, rel: PurePosixPath) -> AsyncIterator[list[Entry]]:
        dfd = await asyncio.to_thread(self._open_inside, ref, rel, os.O_RDONLY | os.O_DIRECTORY)
        try:
            it = await asyncio.to_thread(os.scandir, dfd)
        except OSError as e:
            os.close(dfd)
            raise from_os_error(e, rel) from None

        def batch() -> list[Entry]:
            out: list[Entry] = []
            for de in it:
                try:
                    s = de.stat(follow_symlinks=False)
                    target = os.readlink(de.name, dir_fd=dfd) if de.is_symlink() else None
                except FileNotFoundError:
                    continue  # removed while we listed
                out.append(entry_of(de.name, s, target))
                if len(out) >= _BATCH:
                    break
            return out

        try:
            while chunk := await asyncio.to_thread(batch):
                yield chunk
        finally:
            it.close()
            os.close(dfd)

    async def confine(self, ref: FolderRef, rel: PurePosixPath) -> None:
        await asyncio.to_thread(self._resolve, ref, rel)

    async def stat(self, ref: FolderRef, rel: PurePosixPath, follow: bool = False) -> Entry:
        def work() -> Entry:
            path = self._resolve(ref, rel, follow=follow)
            try:
                s = os.lstat(path)
                target = os.readlink(path) if st.S_ISLNK(s.st_mode) else None
            except OSError as e:
                raise from_os_error(e, rel) from None
            return entry_of(path.name, s, target)

        return await asyncio.to_thread(work)

    async def mkdir(
        self, ref: FolderRef, rel: PurePosixPath, parents: bool, exist_ok: bool
    ) -> None:
        if is_top(rel):
            if exist_ok:
                return
            raise Conflict("the folder's top directory already exists")

        def work() -> None:
            if not parents:
                self._mkdir_one(ref, rel, exist_ok)
                return
            # One level at a time, each created inside a directory proven to be in the folder.
            for i in range(1, len(rel.parts) + 1):
                last = i == len(rel.parts)
                self._mkdir_one(ref, PurePosixPath(*rel.parts[:i]), exist_ok or not last)

        await asyncio.to_thread(work)

    def _mkdir_one(self, ref: FolderRef, part: PurePosixPath, exist_ok: bool) -> None:
        with self._parent_fd(ref, part) as dfd:
            try:
                os.mkdir(part.name, dir_fd=dfd)
                return
            except FileExistsError:
                pass
            except OSError as e:
                raise from_os_error(e, part) from None
            s = os.stat(part.name, dir_fd=dfd, follow_symlinks=False)
        if st.S_ISLNK(s.st_mode):
            if not self._resolve(ref, part, follow=True).is_dir():  # refuses a way out too
                raise NotADirectory(f"{part} exists and is not a directory")
        elif not st.S_ISDIR(s.st_mode):
            raise NotADirectory(f"{part} exists and is not a directory")
        if not exist_ok:
            raise Conflict(f"directory {part} already exists")

    async def move(self, ref: FolderRef, src: PurePosixPath, dst: PurePosixPath) -> UsageDelta:
        if is_top(src):
            raise InvalidRequest("cannot move the folder's top directory")

        def work() -> UsageDelta:
            s = self._resolve(ref, src)
            d = self._resolve(ref, dst)
            if not os.path.lexists(s):
                raise NotFound(f"no such file or directory: {src}")
            target = dst
            if d.is_dir() and not d.is_symlink():
                target, d = dst / src.name, d / s.name  # like mv: into an existing directory
            s_real = os.path.realpath(s) if s.is_dir() and not s.is_symlink() else None
            if s_real and (str(d) + os.sep).startswith(s_real + os.sep):
                raise InvalidRequest(f"cannot move {src} into itself")
            if os.path.lexists(d) and (d.is_dir() != s.is_dir()):
                raise Conflict(f"{dst} exists and is a different kind of entry")
            if not d.parent.is_dir():
                raise NotFound(f"target directory of {dst} does not exist")
            try:
                with self._parent_fd(ref, src) as sfd, self._parent_fd(ref, target) as dfd:
                    replaced = None
                    with contextlib.suppress(FileNotFoundError):
                        replaced = os.stat(target.name, dir_fd=dfd, follow_symlinks=False)
                    moved = os.stat(src.name, dir_fd=sfd, follow_symlinks=False)
                    os.replace(src.name, target.name, src_dir_fd=sfd, dst_dir_fd=dfd)
            except OSError as e:
                raise from_os_error(e, dst) from None
            if replaced is None or replaced.st_ino == moved.st_ino:
                return UsageDelta()
            # Moving onto a file replaces it, like mv: its bytes leave the folder's usage.
            size = replaced.st_size if st.S_ISREG(replaced.st_mode) else 0
            return UsageDelta(-1, -size)

        return await asyncio.to_thread(work)

    async def rename(self, ref: FolderRef, src: PurePosixPath, new_name: str) -> None:
        if is_top(src):
            raise InvalidRequest("cannot rename the folder's top directory; rename the folder")

        def work() -> None:
            s = self._resolve(ref, src)
            d = s.parent / new_name
            if not os.path.lexists(s):
                raise NotFound(f"no such file or directory: {src}")
            if os.path.lexists(d):
                raise Conflict(f"{src.parent / new_name} already exists")
            with self._parent_fd(ref, src) as dfd:
                try:
                    os.rename(src.name, new_name, src_dir_fd=dfd, dst_dir_fd=dfd)
                except OSError as e:
                    raise from_os_error(e, src) from None

        await asyncio.to_thread(work)

    async def delete(
        self, ref: FolderRef, rels: Sequence[PurePosixPath], recursive: bool
    ) -> UsageDelta:
        def work() -> UsageDelta:
            # Check every path before removing any, so a bad request removes nothing.
            paths: list[tuple[PurePosixPath, Path, os.stat_result]] = []
            for rel in rels:
                if is_top(rel):
                    raise InvalidRequest("cannot delete the folder's top directory")
                path = self._resolve(ref, rel)
                try:
                    s = os.lstat(path)
                except OSError as e:
                    raise from_os_error(e, rel) from None
                if st.S_ISDIR(s.st_mode) and not recursive and any(os.scandir(path)):
                    raise NotEmpty(
                        f"{rel} is a directory that is not empty; delete it recursively "
                        "(`rm -r`) if you mean it"
                    )
                paths.append((rel, path, s))
            delta = UsageDelta()
            for rel, path, s in paths:
                with self._parent_fd(ref, rel) as dfd:
                    if st.S_ISDIR(s.st_mode):
                        files = size = 0
                        for d, _, names in os.walk(path):
                            for n in names:
                                files += 1
                                size += os.lstat(os.path.join(d, n)).st_size
                        # By name under a proven-inside parent, never by a path to re-walk.
                        shutil.rmtree(rel.name, dir_fd=dfd)
                        delta += UsageDelta(-files, -size)
                    else:
                        try:
                            os.unlink(rel.name, dir_fd=dfd)
                        except OSError as e:
                            raise from_os_error(e, rel) from None
                        delta += UsageDelta(-1, -s.st_size)
            return delta

        return await asyncio.to_thread(work)

    async def symlink(self, ref: FolderRef, rel: PurePosixPath, target: str) -> None:
        def work() -> None:
            with self._parent_fd(ref, rel) as dfd:
                try:
                    os.symlink(target, rel.name, dir_fd=dfd)
                except OSError as e:
                    raise from_os_error(e, rel) from None

        await asyncio.to_thread(work)

    async def walk(self, ref: FolderRef, rel: PurePosixPath) -> AsyncIterator[tuple[str, Entry]]:
        base = await asyncio.to_thread(self._resolve, ref, rel, follow=True)

        def collect() -> list[tuple[str, Entry]]:
            out: list[tuple[str, Entry]] = []
            for d, dirs, files in os.walk(base):  # never follows symlinks
                dirs.sort()
                for n in dirs + sorted(files):
                    p = os.path.join(d, n)
                    try:
                        s = os.lstat(p)
                    except FileNotFoundError:
                        continue  # removed while we walked
                    target = os.readlink(p) if st.S_ISLNK(s.st_mode) else None
                    out.append((os.path.relpath(p, base), entry_of(n, s, target)))
            return out

        for item in await asyncio.to_thread(collect):
            yield item

    async def open_read(self, ref: FolderRef, rel: PurePosixPath) -> ReadHandle:
        def work() -> FdReadHandle:
            # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer and
            # hold a shared worker thread forever.
            fd = self._open_inside(ref, rel, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
            return FdReadHandle.check(fd, rel)

        return await asyncio.to_thread(work)

    # ---- uploads ---------------------------------------------------------------------------

    async def open_upload(self, ref: FolderRef, upload_id: str) -> UploadHandle:
        path = self._stage(ref, upload_id)

        def place(staged: str, rel: PurePosixPath) -> UsageDelta:
            return self._place(ref, staged, rel)

        try:
            fd = await asyncio.to_thread(
                os.open, path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        except OSError as e:
            raise from_os_error(e, "the upload's staging file") from None
        return FdUploadHandle(fd, path, place)

    def _place(self, ref: FolderRef, staged: str, rel: PurePosixPath) -> UsageDelta:
        """Rename a staged file to `rel`, relative to a proven-inside directory descriptor:
        no path component can be swapped for a symlink between the check and the rename."""
        if is_top(rel):
            raise InvalidRequest("an upload needs a file name")
        for i in range(1, len(rel.parts)):
            self._mkdir_one(ref, PurePosixPath(*rel.parts[:i]), exist_ok=True)
        dfd = self._open_inside(ref, rel.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            old = None
            with contextlib.suppress(FileNotFoundError):
                old = os.stat(rel.name, dir_fd=dfd, follow_symlinks=False)
            if old is not None and st.S_ISDIR(old.st_mode):
                raise Conflict(f"{rel} is a directory; cannot overwrite it with a file")
            new_size = os.stat(staged).st_size
            os.replace(staged, rel.name, dst_dir_fd=dfd)
        finally:
            os.close(dfd)
        if old is None:
            return UsageDelta(1, new_size)
        counted = old.st_size if st.S_ISREG(old.st_mode) else 0
        return UsageDelta(0 if st.S_ISREG(old.st_mode) else 1, new_size - counted)

    # ---- change events ---------------------------------------------------------------------

    async def watch(self, stop: asyncio.Event) -> AsyncIterator[set[str]]:
        root = self.root
        async for changes in awatch(
            root, stop_event=stop, debounce=200, recursive=True, ignore_permission_denied=True
        ):
            locations: set[str] = set()
            for _, path in changes:
                try:
                    rel = Path(path).relative_to(root).parts
                except ValueError:
                    continue
                if len(rel) < _LOCATION_DEPTH or STAGING in rel or TRASH in rel:
                    continue
                locations.add("/".join(rel[:_LOCATION_DEPTH]))
            if locations:
                yield locations

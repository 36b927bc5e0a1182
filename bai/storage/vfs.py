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
from collections.abc import AsyncIterator, Sequence
from pathlib import Path, PurePosixPath

from bai.errors import (
    ConfigError,
    Conflict,
    InvalidRequest,
    NotEmpty,
    NotFound,
    from_os_error,
)
from bai.fsnames import os_name
from bai.paths import is_top
from bai.storage.base import (
    Capability,
    Capacity,
    Entry,
    FolderRef,
    Progress,
    ReadHandle,
    ScanResult,
    UploadHandle,
    UsageDelta,
    Volume,
)
from bai.storage.confined import (
    LOCATION_DEPTH,
    STAGING,
    TRASH,
    count_tree,
    has_entries,
    writable_and_retry,
)
from bai.storage.inotify import OVERFLOW, watch_tree
from bai.storage.posix import FdReadHandle, FdUploadHandle, entry_of
from bai.storage.scan import scan_tree
from bai.storage.staged import StagedTree
from bai.storage.treeread import TreeReader

log = logging.getLogger("bai.storage")

_BATCH = 1000


class VfsVolume(StagedTree, TreeReader, Volume):
    backend = "vfs"
    capabilities = (
        Capability.ATOMIC_RENAME
        | Capability.REAL_DIRECTORIES
        | Capability.SYMLINKS
        | Capability.RANDOM_WRITES
        | Capability.BIND_MOUNT
        | Capability.CHANGE_EVENTS
    )

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
        # Folders hold what sessions put there (a setuid file, say): no other local user
        # may reach them. Sessions, SFTP and HTTP all go through the node.
        with contextlib.suppress(OSError):
            root.chmod(0o700)

    async def scan_usage(self, ref: FolderRef, deadline: float | None = None) -> ScanResult:
        root = self.folder_path(ref)
        if not root.is_dir():
            raise NotFound("the folder's data is missing on its volume")
        return await asyncio.to_thread(scan_tree, str(root), deadline)

    async def capacity(self) -> Capacity:
        usage = await asyncio.to_thread(shutil.disk_usage, self.root)
        return Capacity(used=usage.used, total=usage.total)

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

        try:
            await asyncio.to_thread(work)
        except OSError as e:
            raise from_os_error(e, "the folder's directory") from None

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
                # A session may leave read-only directories (a Go module cache): make them
                # writable and go on, rather than stop half-way.
                shutil.rmtree(trash, onerror=writable_and_retry)
            # The two prefix levels (aa/bb) belong to no folder once empty; the scope
            # directory stays (on btrfs it is a subvolume holding staging and trash).
            for parent in (path.parent, path.parent.parent):
                try:
                    parent.rmdir()
                except OSError:
                    break  # not empty (another folder) or already gone

        try:
            await asyncio.to_thread(work)
        except OSError as e:
            raise from_os_error(e, "the folder's data") from None

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

    async def move(
        self,
        ref: FolderRef,
        src: PurePosixPath,
        dst: PurePosixPath,
        progress: Progress | None = None,  # one rename(2): nothing to report
    ) -> UsageDelta:
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
                        replaced = os.stat(os_name(target.name), dir_fd=dfd, follow_symlinks=False)
                    moved = os.stat(os_name(src.name), dir_fd=sfd, follow_symlinks=False)
                    os.replace(
                        os_name(src.name), os_name(target.name), src_dir_fd=sfd, dst_dir_fd=dfd
                    )
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
            d = s.parent / os_name(new_name)
            if not os.path.lexists(s):
                raise NotFound(f"no such file or directory: {src}")
            if os.path.lexists(d):
                raise Conflict(f"{src.parent / new_name} already exists")
            with self._parent_fd(ref, src) as dfd:
                try:
                    os.rename(os_name(src.name), os_name(new_name), src_dir_fd=dfd, dst_dir_fd=dfd)
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
                if st.S_ISDIR(s.st_mode) and not recursive and has_entries(path, rel):
                    raise NotEmpty(
                        f"{rel} is a directory that is not empty; delete it recursively "
                        "(`rm -r`) if you mean it"
                    )
                paths.append((rel, path, s))
            delta = UsageDelta()
            for rel, _, s in paths:
                with self._parent_fd(ref, rel) as dfd:
                    if st.S_ISDIR(s.st_mode):
                        # By name under a proven-inside parent, never by a path to re-walk.
                        files, size = count_tree(dfd, os_name(rel.name))
                        try:
                            shutil.rmtree(os_name(rel.name), dir_fd=dfd)
                        except OSError as e:
                            raise from_os_error(e, rel) from None
                        delta += UsageDelta(-files, -size)
                    else:
                        try:
                            os.unlink(os_name(rel.name), dir_fd=dfd)
                        except OSError as e:
                            raise from_os_error(e, rel) from None
                        delta += UsageDelta(-1, -s.st_size)
            return delta

        return await asyncio.to_thread(work)

    async def symlink(self, ref: FolderRef, rel: PurePosixPath, target: str) -> None:
        def work() -> None:
            with self._parent_fd(ref, rel) as dfd:
                try:
                    os.symlink(os_name(target), os_name(rel.name), dir_fd=dfd)
                except OSError as e:
                    raise from_os_error(e, rel) from None

        await asyncio.to_thread(work)

    async def set_attributes(
        self,
        ref: FolderRef,
        rel: PurePosixPath,
        *,
        mode: int | None = None,
        times: tuple[float, float] | None = None,
    ) -> None:
        def work() -> None:
            # O_PATH opens without reading (a FIFO or device is never opened for I/O), and
            # the proven-inside descriptor is what changes: a symlink swapped in meanwhile
            # cannot redirect the change out of the folder.
            fd = self._open_inside(ref, rel, os.O_PATH)
            try:
                target = f"/proc/self/fd/{fd}"
                if mode is not None:
                    # Never setuid, setgid or sticky: a file a session or a client plants
                    # must not run with its owner's (the node's) rights on the host.
                    os.chmod(target, mode & 0o777)
                if times is not None:
                    os.utime(target, times)
            except OSError as e:
                raise from_os_error(e, rel) from None
            finally:
                os.close(fd)

        await asyncio.to_thread(work)

    async def open_read(self, ref: FolderRef, rel: PurePosixPath) -> ReadHandle:
        def work() -> FdReadHandle:
            # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer and
            # hold a shared worker thread forever.
            fd = self._open_inside(ref, rel, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
            return FdReadHandle.check(fd, ref, rel)

        return await asyncio.to_thread(work)

    # ---- uploads ---------------------------------------------------------------------------

    async def open_upload(self, ref: FolderRef, upload_id: str, rel: PurePosixPath) -> UploadHandle:
        path = self._stage(ref, upload_id)

        def place(staged: str) -> UsageDelta:
            return self._place(ref, staged, rel)

        try:
            fd = await asyncio.to_thread(
                os.open, path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        except OSError as e:
            raise from_os_error(e, "the upload's staging file") from None
        return FdUploadHandle(fd, path, rel, place)

    async def staged_size(self, ref: FolderRef, upload_id: str) -> int:
        try:
            return (await asyncio.to_thread(os.stat, self._stage(ref, upload_id))).st_size
        except FileNotFoundError:
            return 0

    async def sweep_staging(self, keep: set[str]) -> int:
        def work() -> int:
            removed = 0
            for d in self._staging_dirs():
                try:
                    names = os.listdir(d)
                except OSError:
                    continue
                for name in names:
                    if name not in keep:
                        with contextlib.suppress(OSError):
                            os.unlink(d / name)
                            removed += 1
            return removed

        return await asyncio.to_thread(work)

    def _staging_dirs(self) -> list[Path]:
        return [self.root / STAGING]

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
                old = os.stat(os_name(rel.name), dir_fd=dfd, follow_symlinks=False)
            if old is not None and st.S_ISDIR(old.st_mode):
                raise Conflict(f"{rel} is a directory; cannot overwrite it with a file")
            new_size = os.stat(staged).st_size
            os.replace(staged, os_name(rel.name), dst_dir_fd=dfd)
        finally:
            os.close(dfd)
        if old is None:
            return UsageDelta(1, new_size)
        return UsageDelta(0, new_size - old.st_size)  # as the reconcile scan counts it

    # ---- change events ---------------------------------------------------------------------

    async def watch(self, stop: asyncio.Event) -> AsyncIterator[set[str]]:
        root = os.fsencode(self.root)
        prefix = root.rstrip(b"/") + b"/"
        bookkeeping = {os.fsencode(STAGING), os.fsencode(TRASH)}

        def skip(path: bytes) -> bool:
            return bool(bookkeeping & set(path[len(prefix) :].split(b"/")[:2]))

        # Only real directories are watched (never through a symlink), so a change is named
        # by the folder it happened in, whatever links a session planted.
        async for changes in watch_tree(str(self.root), skip, stop):
            if OVERFLOW in changes:
                yield {"*"}  # events were lost: every folder may have changed
                continue
            locations: set[str] = set()
            for path in changes:
                if not path.startswith(prefix):
                    continue
                parts = path[len(prefix) :].split(b"/")
                if len(parts) < LOCATION_DEPTH or bookkeeping & set(parts):
                    continue
                locations.add(b"/".join(parts[:LOCATION_DEPTH]).decode("ascii", "replace"))
            if locations:
                yield locations

"""Provides `ConfinedTree`: the folder tree of a filesystem volume and the one way paths in
it meet the disk — resolved without leaving the folder, then acted on through a descriptor
proven to lie inside it (`/proc/self/fd`), so a symlink a session swaps in between the check
and the act gains nothing.

Layout (Backend.AI's): a folder's location is `{quota scope hex}/{id[0:2]}/{id[2:4]}/{id[4:]}`
under the volume root; uploads are staged in `.bai-staging/` and removals go through
`.bai-trash/`, on the same filesystem.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat as st
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from bai.config import VolumeConfig
from bai.errors import Conflict, InvalidPath, InvalidRequest, NotADirectory, NotFound, from_os_error
from bai.fsnames import os_name
from bai.paths import is_top
from bai.storage.base import FolderRef

STAGING = ".bai-staging"
TRASH = ".bai-trash"
# scope/aa/bb/rest: how many path components name a folder below the root.
LOCATION_DEPTH = 4
_HEX = re.compile(r"[0-9a-f]+")


class ConfinedTree:
    config: VolumeConfig

    @property
    def root(self) -> Path:
        assert self.config.path is not None  # config validation requires a path for vfs
        return self.config.path

    # ---- paths -----------------------------------------------------------------------------

    def locate(self, scope_hex: str, folder_id: uuid.UUID) -> str:
        h = folder_id.hex
        return f"{scope_hex}/{h[0:2]}/{h[2:4]}/{h[4:]}"

    def folder_path(self, ref: FolderRef) -> Path:
        """The folder's directory. Its location comes from the database; it is trusted only
        in the exact shape `locate` makes (hex components under the folder's own scope)."""
        parts = ref.location.split("/")
        if (
            len(parts) != LOCATION_DEPTH
            or parts[0] != ref.scope_hex
            or not all(p and _HEX.fullmatch(p) for p in parts)
        ):
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
        target = root.joinpath(*(os_name(p) for p in rel.parts))
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

    def _mkdir_one(self, ref: FolderRef, part: PurePosixPath, exist_ok: bool) -> None:
        with self._parent_fd(ref, part) as dfd:
            try:
                os.mkdir(os_name(part.name), dir_fd=dfd)
                return
            except FileExistsError:
                pass
            except OSError as e:
                raise from_os_error(e, part) from None
            s = os.stat(os_name(part.name), dir_fd=dfd, follow_symlinks=False)
        if st.S_ISLNK(s.st_mode):
            if not self._resolve(ref, part, follow=True).is_dir():  # refuses a way out too
                raise NotADirectory(f"{part} exists and is not a directory")
        elif not st.S_ISDIR(s.st_mode):
            raise NotADirectory(f"{part} exists and is not a directory")
        if not exist_ok:
            raise Conflict(f"directory {part} already exists")


def has_entries(path: Path, rel: PurePosixPath) -> bool:
    try:
        with os.scandir(path) as it:
            return any(True for _ in it)
    except OSError as e:
        raise from_os_error(e, rel) from None


def count_tree(dfd: int, name: str) -> tuple[int, int]:
    """Entries (not directories) and bytes below `name`, without following symlinks."""
    files = size = 0
    for _, _, names, sub in os.fwalk(name, dir_fd=dfd, follow_symlinks=False):
        for n in names:
            with contextlib.suppress(OSError):
                size += os.stat(n, dir_fd=sub, follow_symlinks=False).st_size
                files += 1
    return files, size


def writable_and_retry(func: object, path: str, exc_info: tuple[Any, ...]) -> None:
    exc = exc_info[1]
    if isinstance(exc, FileNotFoundError):
        return
    if not isinstance(exc, PermissionError):
        raise exc
    parent = os.path.dirname(path)
    os.chmod(parent, 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        shutil.rmtree(path, onerror=writable_and_retry)
    else:
        os.unlink(path)

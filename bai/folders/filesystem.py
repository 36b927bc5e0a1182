"""Provides `FolderFS`: the POSIX-style operations a file-system protocol (SFTP) asks of
folders — stat without following links, open for reading or for update, exact renames,
removal of a file or of a directory, attributes — on top of `FileService` and `FileIO`.

Each operation names a folder of the caller's `Scope` (for SFTP: the folders of their live
sessions) and the `bai.access` action it needs; the scope decides, so every permission
decision is still `check_folder_action`'s. Writes go through `FileIO`'s `WriteHandle` like
every other write: quota claimed as bytes arrive, the file appearing whole at commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Protocol

from bai import access
from bai.access import FolderAction, Principal
from bai.errors import (
    Conflict,
    Forbidden,
    IsADirectory,
    NotADirectory,
    NotFound,
    NotSupported,
)
from bai.folders.fileio import WriteHandle
from bai.folders.files import FileService
from bai.folders.models import VFolder
from bai.folders.repository import ref_of
from bai.paths import clean_relpath, is_top
from bai.storage.base import Entry, ReadHandle

# What a chmod may not take away: the node must go on reading and writing what it serves.
_OWNER_FILE = 0o600
_OWNER_DIR = 0o700


class Scope(Protocol):
    """The folders one caller reaches, and the decision for each action on them."""

    principal: Principal

    async def folder(self, name: str, action: FolderAction) -> VFolder: ...


class FolderFS:
    def __init__(self, files: FileService) -> None:
        self.files = files
        self.io = files.io
        self.folders = files.folders

    async def stat(self, scope: Scope, name: str, path: str, follow: bool = True) -> Entry:
        folder = await scope.folder(name, access.LIST_FILES)
        vol = self.folders.volume(folder.host)
        return await vol.stat(ref_of(folder), clean_relpath(path), follow=follow)

    async def list_dir(self, scope: Scope, name: str, path: str) -> AsyncIterator[list[Entry]]:
        await scope.folder(name, access.LIST_FILES)
        _, batches = await self.files.list_dir(scope.principal, name, path)
        return batches

    async def open_read(self, scope: Scope, name: str, path: str) -> tuple[VFolder, ReadHandle]:
        folder = await scope.folder(name, access.DOWNLOAD)
        return folder, await self.io.open_read(folder, clean_relpath(path))

    async def open_write(
        self,
        scope: Scope,
        name: str,
        path: str,
        *,
        create: bool,
        truncate: bool,
        exclusive: bool,
    ) -> tuple[VFolder, WriteHandle, Entry | None]:
        """A write into `path` with open(2)'s flags; without `truncate`, the handle starts
        with the file's present bytes, so writes at offsets update it (resumed uploads).
        Also returns what was there before, so its mode can be kept."""
        folder = await scope.folder(name, access.UPLOAD)
        rel = clean_relpath(path)
        if is_top(rel):
            raise IsADirectory(f"{name} is a folder; write a file inside it")
        vol = self.folders.volume(folder.host)
        try:
            old: Entry | None = await vol.stat(ref_of(folder), rel, follow=True)
        except NotFound:
            old = None
        if old is not None:
            if exclusive:
                raise Conflict(f"{rel} already exists")
            if old.is_dir:
                raise IsADirectory(f"{rel} is a directory")
        elif not create:
            raise NotFound(f"no such file: {rel}")
        handle = await self.io.open_write(folder, rel)
        if old is not None and old.is_file and not truncate:
            try:
                async with await self.io.open_read(folder, rel) as current:
                    await handle.copy_from(current)
            except BaseException:
                await handle.abort()
                raise
        return folder, handle, old

    async def mkdir(self, scope: Scope, name: str, path: str) -> None:
        await scope.folder(name, access.MKDIR)
        await self.files.mkdir(scope.principal, name, [path], parents=False, exist_ok=False)

    async def remove(self, scope: Scope, name: str, path: str, *, directory: bool) -> None:
        """unlink(2) (`directory` False) or rmdir(2): each refuses the other kind."""
        folder = await scope.folder(name, access.DELETE_FILES)
        rel = clean_relpath(path)
        if is_top(rel):
            raise Forbidden(
                f"{name} is a folder, not a directory inside one; delete the folder with "
                "`bai vfolder delete`"
            )
        entry = await self.folders.volume(folder.host).stat(ref_of(folder), rel, follow=False)
        if directory and not entry.is_dir:
            raise NotADirectory(f"{rel} is not a directory")
        if not directory and entry.is_dir:
            raise IsADirectory(f"{rel} is a directory; remove it with rmdir")
        await self.files.delete(scope.principal, name, [path], recursive=False)

    async def rename(
        self, scope: Scope, name: str, src: str, dst_name: str, dst: str, *, replace: bool
    ) -> None:
        """rename(2) to exactly `dst`: with `replace` a file there is replaced (POSIX); without,
        an existing target is refused (SFTP's plain rename). A directory is never replaced."""
        if dst_name != name:
            raise NotSupported(
                f"cannot move between folders ({name} → {dst_name}); copy the file instead"
            )
        folder = await scope.folder(name, access.MOVE)
        src_rel, dst_rel = clean_relpath(src), clean_relpath(dst)
        if is_top(src_rel) or is_top(dst_rel):
            raise Forbidden(
                f"{name} is a folder; rename folders with `bai vfolder rename`, not over SFTP"
            )
        vol = self.folders.volume(folder.host)
        try:
            there: Entry | None = await vol.stat(ref_of(folder), dst_rel, follow=False)
        except NotFound:
            there = None
        if there is not None:
            if not replace:
                raise Conflict(f"{dst_rel} already exists")
            if there.is_dir:
                raise Conflict(f"{dst_rel} is a directory; remove it first")
        await self.files.move(scope.principal, name, src, dst)

    async def set_attributes(
        self,
        scope: Scope,
        name: str,
        path: str,
        *,
        mode: int | None = None,
        times: tuple[float, float] | None = None,
    ) -> None:
        # Changing a file's mode or times changes the file: the permission to write it.
        folder = await scope.folder(name, access.UPLOAD)
        await self.apply_attributes(folder, clean_relpath(path), mode=mode, times=times)

    async def apply_attributes(
        self,
        folder: VFolder,
        rel: PurePosixPath,
        *,
        mode: int | None = None,
        times: tuple[float, float] | None = None,
    ) -> None:
        """Set permission bits (the owner's read and write always stay, so the node can keep
        serving the file) and access/modification times, where the backend can."""
        if is_top(rel) or (mode is None and times is None):
            return  # a folder's top directory is the node's to manage
        vol = self.folders.volume(folder.host)
        if mode is not None:
            entry = await vol.stat(ref_of(folder), rel, follow=True)
            mode = (mode & 0o777) | (_OWNER_DIR if entry.is_dir else _OWNER_FILE)
        await vol.set_attributes(ref_of(folder), rel, mode=mode, times=times)

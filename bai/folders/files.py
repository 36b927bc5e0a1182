"""Provides `FileService`: listing and changing files in a folder, and granting transfers.

Every method decides the caller's permission first (`bai.access`), then acts through the
folder's volume or through `FileIO`. Transports turn the grants into their own form (the
HTTP layer into signed transfer tokens).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy.ext.asyncio import AsyncEngine

from bai import access
from bai.access import Principal
from bai.accounts import AccountService
from bai.errors import AuthFailed, InvalidRequest, NotADirectory
from bai.folders import concat
from bai.folders.events import EventHub
from bai.folders.fileio import FileIO, PendingUpload, WriteHandle
from bai.folders.models import VFolder
from bai.folders.moves import DirectoryMoves
from bai.folders.repository import add_usage, ref_of
from bai.folders.service import FolderService
from bai.folders.smallfiles import SmallFiles
from bai.paths import check_name, clean_relpath
from bai.storage.base import Entry


@dataclass(frozen=True)
class DownloadGrant:
    """What a caller may download: one file, or a directory as an archive."""

    folder_id: uuid.UUID
    host: str
    path: str
    archive: bool


class FileService:
    events = EventHub()  # nobody listens to this one; a node gives its services its own hub

    def __init__(
        self, engine: AsyncEngine, folders: FolderService, io: FileIO, accounts: AccountService
    ) -> None:
        self.engine = engine
        self.folders = folders
        self.io = io
        self.accounts = accounts
        self.moves: DirectoryMoves | None = None  # set by the node (needs its event hub)
        self.small = SmallFiles(io, self._may_upload)

    async def list_dir(
        self, p: Principal, name: str, path: str
    ) -> tuple[VFolder, AsyncIterator[list[Entry]]]:
        folder = await self.folders.get(p, name, access.LIST_FILES)
        rel = clean_relpath(path)
        vol = self.folders.volume(folder.host)
        entry = await vol.stat(ref_of(folder), rel, follow=True)
        if not entry.is_dir:
            raise NotADirectory(f"{rel} is not a directory")
        return folder, vol.list_dir(ref_of(folder), rel)

    async def mkdir(
        self, p: Principal, name: str, paths: list[str], parents: bool, exist_ok: bool
    ) -> list[str]:
        folder = await self.folders.get(p, name, access.MKDIR)
        rels = [clean_relpath(x) for x in paths]
        for rel in rels:
            await self.folders.volume(folder.host).mkdir(ref_of(folder), rel, parents, exist_ok)
            self.events.files_changed(folder.id, str(rel.parent))
        return [str(r) for r in rels]

    async def move(self, p: Principal, name: str, src: str, dst: str) -> uuid.UUID | None:
        """Move a file or directory; a directory on storage that copies to move (buckets)
        moves in a background task, whose id comes back if it outlasts the request."""
        folder = await self.folders.get(p, name, access.MOVE)
        s, d = clean_relpath(src), clean_relpath(dst)
        if self.moves is not None and await self.moves.needs_task(folder, s):
            return await self.moves.move(folder, s, d)
        delta = await self.folders.volume(folder.host).move(ref_of(folder), s, d)
        async with self.engine.begin() as conn:
            await add_usage(conn, folder.id, delta)
        self.events.files_changed(folder.id)  # two directories may have changed
        return None

    async def rename(self, p: Principal, name: str, target: str, new_name: str) -> None:
        folder = await self.folders.get(p, name, access.MOVE)
        await self.folders.volume(folder.host).rename(
            ref_of(folder), clean_relpath(target), check_name(new_name, "new name")
        )
        self.events.files_changed(folder.id, str(clean_relpath(target).parent))

    async def delete(self, p: Principal, name: str, files: list[str], recursive: bool) -> int:
        if not files:
            raise InvalidRequest("name at least one file to delete")
        folder = await self.folders.get(p, name, access.DELETE_FILES)
        rels = [clean_relpath(f) for f in files]
        delta = await self.folders.volume(folder.host).delete(ref_of(folder), rels, recursive)
        async with self.engine.begin() as conn:
            await add_usage(conn, folder.id, delta)
        dirs = {str(r.parent) for r in rels}
        self.events.files_changed(folder.id, dirs.pop() if len(dirs) == 1 else None)
        return len(rels)

    # ---- transfer grants ---------------------------------------------------------------

    async def request_upload(self, p: Principal, name: str, path: str, size: int) -> PendingUpload:
        folder = await self.folders.get(p, name, access.UPLOAD)
        if not isinstance(size, int) or size < 0:
            raise InvalidRequest("size must be a byte count of zero or more")
        return await self.io.begin_upload(folder, clean_relpath(path), size, p.user_id)

    async def request_creation(
        self, p: Principal, name: str, path: str
    ) -> tuple[VFolder, PurePosixPath]:
        """A grant to create uploads below the directory `path` (checked again at each use)."""
        folder = await self.folders.get(p, name, access.UPLOAD)
        return folder, clean_relpath(path)

    async def request_download(
        self, p: Principal, name: str, path: str, archive: bool = False
    ) -> DownloadGrant:
        folder = await self.folders.get(p, name, access.DOWNLOAD)
        rel = clean_relpath(path)
        entry = await self.io.stat(folder, rel)
        if entry.is_dir:
            if not archive:
                raise InvalidRequest(
                    f"{rel} is a directory; download it as an archive (zip) with archive=true"
                )
        else:
            # Open it now: a FIFO, a socket or a symlink loop is refused before any token.
            handle = await self.io.open_read(folder, rel)
            await handle.close()
        return DownloadGrant(folder.id, folder.host, str(rel), entry.is_dir)

    # ---- using grants later: checked again against the grantee's permission now -----------

    async def _grantee(self, access_key: str) -> Principal:
        if not access_key:
            raise AuthFailed("this transfer grant names no keypair; request a new one")
        return (await self.accounts.auth_record(access_key)).principal

    async def granted_folder(
        self, access_key: str, folder_id: uuid.UUID, action: access.FolderAction
    ) -> VFolder:
        """The folder of a grant, if its grantee may still do `action` on it."""
        p = await self._grantee(access_key)
        return await self.folders.get(p, str(folder_id), action)

    async def _may_upload(self, access_key: str, folder_id: uuid.UUID) -> VFolder:
        return await self.granted_folder(access_key, folder_id, access.UPLOAD)

    async def granted_read(
        self, access_key: str, folder_id: uuid.UUID, path: str
    ) -> tuple[VFolder, Entry]:
        folder = await self.granted_folder(access_key, folder_id, access.DOWNLOAD)
        return folder, await self.io.stat(folder, clean_relpath(path))

    async def resume_upload(
        self, access_key: str, upload_id: str
    ) -> tuple[PendingUpload, WriteHandle]:
        folder_id, rel, size = await self.io.pending(upload_id)
        folder = await self.granted_folder(access_key, folder_id, access.UPLOAD)
        handle = await self.io.open_write(folder, rel, upload_id, declared=size)
        return PendingUpload(upload_id, folder, rel, size), handle

    async def create_upload(
        self, access_key: str, folder_id: uuid.UUID, rel: PurePosixPath, size: int, partial: bool
    ) -> PendingUpload:
        """A pending upload made through a creation grant (a part of a concatenation if
        `partial`), checked against the grantee's permission as it is now."""
        p = await self._grantee(access_key)
        folder = await self.folders.get(p, str(folder_id), access.UPLOAD)
        upload_id = concat.partial_id() if partial else None
        return await self.io.begin_upload(folder, rel, size, p.user_id, upload_id)

    async def join_upload(
        self, access_key: str, folder_id: uuid.UUID, rel: PurePosixPath, parts: list[str]
    ) -> int:
        """Join complete partial uploads into the file `rel` (tus concatenation); its size."""
        folder = await self.granted_folder(access_key, folder_id, access.UPLOAD)
        return await concat.join(self.io, folder, rel, parts)

    async def upload_offset(self, access_key: str, upload_id: str) -> tuple[int, int]:
        """(bytes received, declared size) of a pending upload; opens and claims nothing."""
        folder_id, _, size = await self.io.pending(upload_id)
        folder = await self.granted_folder(access_key, folder_id, access.UPLOAD)
        return await self.io.staged(folder, upload_id), size

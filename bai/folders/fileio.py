"""Provides `FileIO`: reading and writing files of folders, for every transport.

Every byte the node writes into a folder — an HTTP (tus) upload, an SFTP write, a clone or
copy — goes through a `WriteHandle`: it claims quota as bytes arrive, writes through the
volume's upload handle (invisible until commit), and at commit settles the claim into the
folder's usage in one transaction. Reads go through the volume's `ReadHandle`, which opens
only regular files inside the folder. Callers decide permissions first (`bai.access`); the
handles re-check the folder's status when they open, because time passes between a grant
(a transfer token, an SFTP session) and its use.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.access import DOWNLOAD, UPLOAD, FolderAction
from bai.db import tables as t
from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound, QuotaExceeded
from bai.folders.archive import zip_stream
from bai.folders.models import VFolder
from bai.folders.quota import QuotaService, Reservation
from bai.folders.repository import folder_by_id, now, ref_of
from bai.hosts import HostService
from bai.paths import clean_relpath, is_top
from bai.storage.base import Entry, ReadHandle, UploadHandle, UsageDelta

UPLOAD_TTL = 12 * 3600  # the official client cannot renew a token mid-upload
_WRITE_BUFFER = 4 << 20


@dataclass(frozen=True)
class PendingUpload:
    """A resumable upload the node has agreed to: where it goes and how big it is."""

    id: str
    folder: VFolder
    rel: PurePosixPath
    size: int


class WriteHandle:
    """One file being written into a folder; see the module docstring."""

    def __init__(
        self,
        io: FileIO,
        folder: VFolder,
        rel: PurePosixPath,
        upload: UploadHandle,
        reservation: Reservation,
        upload_id: str | None = None,
    ) -> None:
        self.io = io
        self.folder = folder
        self.rel = rel
        self.upload = upload
        self.reservation = reservation
        self.upload_id = upload_id

    async def write(self, offset: int, data: bytes | memoryview) -> int:
        await self.reservation.ensure(offset + len(data))
        return await self._put(offset, [data])

    async def _put(self, offset: int, parts: list[bytes] | list[bytes | memoryview]) -> int:
        try:
            return await self.upload.write(offset, parts)
        except QuotaExceeded:  # the kernel's EDQUOT: say whose quota, as the node would
            raise await self.io.quota.refused_by_storage(self.folder) from None

    async def write_stream(
        self, offset: int, chunks: AsyncIterator[bytes], limit: int | None = None
    ) -> int:
        """Append `chunks` from `offset` (buffered into large positional writes); the new
        end. `limit` refuses data past a declared size."""
        pos = offset
        buf: list[bytes] = []
        buffered = 0
        async for chunk in chunks:
            if limit is not None and pos + buffered + len(chunk) > limit:
                raise InvalidRequest(f"upload goes past its declared size of {limit} bytes")
            buf.append(chunk)
            buffered += len(chunk)
            if buffered >= _WRITE_BUFFER or len(buf) >= 512:
                await self.reservation.ensure(pos + buffered)
                pos += await self._put(pos, buf)
                buf, buffered = [], 0
        if buf:
            await self.reservation.ensure(pos + buffered)
            pos += await self._put(pos, buf)
        return pos

    async def copy_from(self, src: ReadHandle) -> int:
        await self.reservation.ensure(src.entry.size)
        try:
            return await self.upload.copy_from(src)
        except QuotaExceeded:
            raise await self.io.quota.refused_by_storage(self.folder) from None

    async def size(self) -> int:
        return await self.upload.size()

    async def commit(self) -> UsageDelta:
        await self.reservation.ensure(await self.upload.size())
        delta = await self.upload.commit(self.rel)
        async with self.io.engine.begin() as conn:
            await self.io.quota.settle(conn, self.reservation, delta)
            if self.upload_id is not None:
                await conn.execute(t.uploads.delete().where(t.uploads.c.id == self.upload_id))
        return delta

    async def abort(self) -> None:
        await self.upload.abort()
        await self.reservation.release()
        if self.upload_id is not None:
            async with self.io.engine.begin() as conn:
                await conn.execute(t.uploads.delete().where(t.uploads.c.id == self.upload_id))

    async def close(self) -> None:
        await self.upload.close()


class FileIO:
    def __init__(self, engine: AsyncEngine, hosts: HostService, quota: QuotaService) -> None:
        self.engine = engine
        self.hosts = hosts
        self.quota = quota

    async def open_read(self, folder: VFolder, rel: PurePosixPath) -> ReadHandle:
        return await self.hosts.volume(folder.host).open_read(ref_of(folder), rel)

    async def stat(self, folder: VFolder, rel: PurePosixPath) -> Entry:
        return await self.hosts.volume(folder.host).stat(ref_of(folder), rel, follow=True)

    async def open_write(
        self, folder: VFolder, rel: PurePosixPath, upload_id: str | None = None
    ) -> WriteHandle:
        """A new write (or, with the id of a pending upload, its continuation)."""
        if is_top(rel):
            raise InvalidRequest("a write needs a file path inside the folder")
        vol = self.hosts.volume(folder.host)
        await vol.confine(ref_of(folder), rel)
        key = upload_id or secrets.token_hex(16)
        upload = await vol.open_upload(ref_of(folder), key)
        reservation = await self.quota.reservation(folder, key)
        handle = WriteHandle(self, folder, rel, upload, reservation, upload_id)
        # A continued upload holds its staged bytes already: claim them again.
        await reservation.ensure(await upload.size())
        return handle

    def archive(self, folder: VFolder, rel: PurePosixPath) -> AsyncIterator[bytes]:
        return zip_stream(self.hosts.volume(folder.host), ref_of(folder), rel)

    # ---- grants used later (transfer tokens, sessions): re-check the folder at use --------

    async def folder_for(self, folder_id: uuid.UUID, action: FolderAction) -> VFolder:
        async with self.engine.connect() as conn:
            folder = await folder_by_id(conn, folder_id)
        if folder is None:
            raise NotFound("the folder of this transfer no longer exists")
        if folder.status not in action.statuses:
            raise Forbidden(f"folder {folder.name!r} is {folder.status}; the transfer is refused")
        return folder

    async def open_granted_read(self, folder_id: uuid.UUID, path: str) -> tuple[VFolder, Entry]:
        """The folder and entry a download grant points at, checked again now."""
        folder = await self.folder_for(folder_id, DOWNLOAD)
        return folder, await self.stat(folder, clean_relpath(path))

    # ---- resumable uploads (kept in the database: they survive a restart) ----------------

    async def begin_upload(
        self, folder: VFolder, rel: PurePosixPath, size: int, user_id: uuid.UUID
    ) -> PendingUpload:
        if is_top(rel):
            raise InvalidRequest("an upload needs a file path inside the folder")
        await self.hosts.volume(folder.host).confine(ref_of(folder), rel)
        await self.quota.admit(folder, size)  # refuse now, not after the data is sent
        upload_id = secrets.token_hex(16)
        if size == 0:
            # The official client sends no data for an empty file: create it now.
            handle = await self.open_write(folder, rel)
            await handle.commit()
            return PendingUpload(upload_id, folder, rel, 0)
        ts = now()
        async with self.engine.begin() as conn:
            await conn.execute(
                t.uploads.insert().values(
                    id=upload_id,
                    folder_id=folder.id,
                    path=str(rel),
                    size=size,
                    user_id=user_id,
                    created_at=ts,
                    expires_at=ts + timedelta(seconds=UPLOAD_TTL),
                )
            )
        return PendingUpload(upload_id, folder, rel, size)

    async def resume_upload(self, upload_id: str) -> tuple[PendingUpload, WriteHandle]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(t.uploads).where(t.uploads.c.id == upload_id))
            ).first()
        if row is None:
            raise NotFound("this upload has finished or expired; request a new one")
        folder = await self.folder_for(row.folder_id, UPLOAD)
        pending = PendingUpload(upload_id, folder, clean_relpath(row.path), row.size)
        return pending, await self.open_write(folder, pending.rel, upload_id)

    async def upload_offset(self, upload_id: str) -> tuple[int, int]:
        """(bytes received, declared size) of a pending upload."""
        pending, handle = await self.resume_upload(upload_id)
        try:
            return await handle.size(), pending.size
        finally:
            await handle.close()

    async def drop_expired_uploads(self) -> int:
        """Forget uploads whose time is up and free their staged bytes and claims."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.uploads.c.id, t.uploads.c.folder_id, t.uploads.c.path).where(
                        t.uploads.c.expires_at < now()
                    )
                )
            ).all()
        for row in rows:
            async with self.engine.connect() as conn:
                folder = await folder_by_id(conn, row.folder_id)
            if folder is not None:
                handle = await self.open_write(folder, clean_relpath(row.path), row.id)
                await handle.abort()
            async with self.engine.begin() as conn:
                await conn.execute(t.uploads.delete().where(t.uploads.c.id == row.id))
        return len(rows)

    async def copy_file(
        self, src: VFolder, src_rel: PurePosixPath, dst: VFolder, dst_rel: PurePosixPath
    ) -> int:
        """Copy one regular file between folders (or within one), quota claimed first."""
        async with await self.open_read(src, src_rel) as reader:
            writer = await self.open_write(dst, dst_rel)
            try:
                n = await writer.copy_from(reader)
                if n != reader.entry.size:
                    raise Conflict(f"{src_rel} changed while it was copied; copy it again")
                await writer.commit()
            except BaseException:
                await writer.abort()
                raise
            return n

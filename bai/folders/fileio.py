"""Provides `FileIO`: reading and writing files of folders, for every transport.

Every byte the node writes into a folder — an HTTP (tus) upload, an SFTP write, a clone or
copy — goes through a `WriteHandle`: it claims quota as bytes arrive (a tus upload claims
its declared size when it is requested), writes through the volume's upload handle
(invisible until commit), and at commit settles the claim into the folder's usage in one
transaction. Reads go through the volume's `ReadHandle`, which opens only regular files
inside the folder. Callers decide permissions first (`bai.access`; `FileService` does it for
grants that are used later, such as transfer tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mmap
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.db import tables as t
from bai.errors import (
    BaiError,
    Conflict,
    InvalidRequest,
    NotADirectory,
    NotFound,
    QuotaExceeded,
)
from bai.folders.archive import zip_stream
from bai.folders.events import EventHub
from bai.folders.models import VFolder
from bai.folders.quota import QuotaService, Reservation
from bai.folders.repository import folder_by_id, now, ref_of
from bai.hosts import HostService
from bai.paths import is_top
from bai.storage.base import Entry, ReadHandle, UploadHandle, UsageDelta

log = logging.getLogger("bai.files")
UPLOAD_TTL = 12 * 3600  # the official client cannot renew a token mid-upload
_WRITE_BUFFER = 8 << 20


# Receives straight into the caller's buffer: the count, 0 at the end of the data.
ReadInto = Callable[[memoryview], Awaitable[int]]
# Buffers of uploads reused between requests (allocating and zeroing 2 x 8 MiB per request
# would cost more than the syscalls it feeds); a few kept, the rest left to the collector.
_free_buffers: list[list[mmap.mmap]] = []


async def _fill(readinto: ReadInto, view: memoryview) -> int:
    """Fill `view` as far as the data goes: large positional writes, not one per read."""
    n = 0
    while n < len(view):
        got = await readinto(view[n:])
        if got == 0:
            break
        n += got
    return n


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
        upload: UploadHandle,
        reservation: Reservation,
        upload_id: str | None = None,
        shared: bool = False,
    ) -> None:
        self.io = io
        self.folder = folder
        self.rel = upload.rel
        self.upload = upload
        self.reservation = reservation
        self.upload_id = upload_id  # set for resumable uploads (a row in `uploads`)
        self.shared = shared  # the claim belongs to a larger operation (a clone)
        self.key = upload_id or reservation.key

    async def write(self, offset: int, data: bytes | memoryview) -> int:
        await self.reservation.ensure(offset + len(data))
        return await self._put(offset, [data])

    async def _put(self, offset: int, parts: Sequence[bytes | memoryview]) -> int:
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

    async def write_from(self, offset: int, readinto: ReadInto, limit: int | None = None) -> int:
        """Append what `readinto` delivers from `offset`; the new end. Two reused buffers:
        one fills while the other is written, so network and disk work at the same time."""
        # Page-aligned (mmap), so the storage may write them with direct I/O; a small file
        # gets buffers of its size (+1 to notice a byte too many), not kept for reuse.
        size = _WRITE_BUFFER if limit is None else min(_WRITE_BUFFER, max(limit - offset, 0) + 1)
        small = size < _WRITE_BUFFER
        fresh = small or not _free_buffers
        bufs = [mmap.mmap(-1, size), mmap.mmap(-1, size)] if fresh else _free_buffers.pop()
        pos, i = offset, 0
        writing: asyncio.Task[int] | None = None
        try:
            while True:
                view = memoryview(bufs[i])
                n = await _fill(readinto, view)
                if writing is not None:
                    pos += await writing
                    writing = None
                if n == 0:
                    break
                if limit is not None and pos + n > limit:
                    raise InvalidRequest(f"upload goes past its declared size of {limit} bytes")
                await self.reservation.ensure(pos + n)
                writing = asyncio.ensure_future(self._put(pos, [view[:n]]))
                i ^= 1
        finally:
            # On an error, the write in flight still uses the buffer and the descriptor the
            # caller closes next: it must end first (it cannot be cancelled in its thread).
            while writing is not None and not writing.done():
                with contextlib.suppress(BaseException):
                    await asyncio.shield(writing)
            if not small and len(_free_buffers) < 4:
                _free_buffers.append(bufs)
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
        """Make the file appear and count it. If it cannot appear (its place became a
        directory, the folder went away), the upload is dropped: nothing stays staged or
        claimed, and a client asking for the offset learns the upload is gone."""
        try:
            await self.reservation.ensure(await self.upload.size())
            delta = await self.upload.commit()
        except BaiError:
            await self.abort()
            raise
        async with self.io.engine.begin() as conn:
            await self.io.quota.settle(conn, self.reservation, delta, self.shared)
            if self.upload_id is not None:
                await conn.execute(t.uploads.delete().where(t.uploads.c.id == self.upload_id))
        self.io.open_keys.discard(self.key)
        self.io.events.files_changed(self.folder.id, str(self.rel.parent))
        return delta

    async def abort(self) -> None:
        await self.upload.abort()
        if not self.shared:
            await self.reservation.release()
        self.io.open_keys.discard(self.key)
        if self.upload_id is not None:
            async with self.io.engine.begin() as conn:
                await conn.execute(t.uploads.delete().where(t.uploads.c.id == self.upload_id))

    async def close(self) -> None:
        """Stop writing for now; the upload stays (resumable) when it has an id."""
        await self.upload.close()
        self.io.open_keys.discard(self.key)


class FileIO:
    events = EventHub()  # nobody listens to this one; a node gives its services its own hub

    def __init__(self, engine: AsyncEngine, hosts: HostService, quota: QuotaService) -> None:
        self.engine = engine
        self.hosts = hosts
        self.quota = quota
        # Staged data being written right now (keys of open write handles): a sweep of
        # staging must not take it for an orphan.
        self.open_keys: set[str] = set()

    async def open_read(self, folder: VFolder, rel: PurePosixPath) -> ReadHandle:
        return await self.hosts.volume(folder.host).open_read(ref_of(folder), rel)

    async def stat(self, folder: VFolder, rel: PurePosixPath) -> Entry:
        return await self.hosts.volume(folder.host).stat(ref_of(folder), rel, follow=True)

    async def check_target(self, folder: VFolder, rel: PurePosixPath) -> None:
        """Refuse a write that could never land: a directory at the path, or a file where a
        parent directory must be. Missing parents are fine (they are made at commit)."""
        if is_top(rel):
            raise InvalidRequest("a write needs a file path inside the folder")
        vol, ref = self.hosts.volume(folder.host), ref_of(folder)
        await vol.confine(ref, rel)
        for i in range(1, len(rel.parts) + 1):
            part = PurePosixPath(*rel.parts[:i])
            try:
                entry = await vol.stat(ref, part, follow=True)
            except NotFound:
                return
            last = i == len(rel.parts)
            if last and entry.is_dir:
                raise Conflict(f"{rel} is a directory; a file cannot be written over it")
            if not last and not entry.is_dir:
                raise NotADirectory(f"{part} is not a directory, so {rel} cannot be written")

    async def open_write(
        self,
        folder: VFolder,
        rel: PurePosixPath,
        upload_id: str | None = None,
        declared: int | None = None,
        claim: Reservation | None = None,
    ) -> WriteHandle:
        """A new write (or, with the id of a pending upload, its continuation). `claim`
        shares the quota claim of a larger operation (a clone) instead of its own."""
        await self.check_target(folder, rel)
        vol = self.hosts.volume(folder.host)
        key = upload_id or secrets.token_hex(16)
        upload = await vol.open_upload(ref_of(folder), key, rel)
        self.open_keys.add(key)
        try:
            reservation = claim or await self.quota.reservation(folder, key, cap=declared)
            if claim is None:
                # A continued upload holds its staged bytes already: they stay claimed.
                await reservation.ensure(await upload.size())
        except BaseException:
            self.open_keys.discard(key)
            await upload.close()
            raise
        return WriteHandle(self, folder, upload, reservation, upload_id, shared=claim is not None)

    def archive(self, folder: VFolder, rel: PurePosixPath) -> AsyncIterator[bytes]:
        return zip_stream(self.hosts.volume(folder.host), ref_of(folder), rel)

    # ---- resumable uploads (kept in the database: they survive a restart) ----------------

    async def begin_upload(
        self,
        folder: VFolder,
        rel: PurePosixPath,
        size: int,
        user_id: uuid.UUID,
        upload_id: str | None = None,
    ) -> PendingUpload:
        """A pending upload (`upload_id` names a part of a concatenation: `bai.folders.concat`;
        it never commits by itself, even when empty)."""
        await self.check_target(folder, rel)  # refuse now, not after the data is sent
        await self.quota.admit(folder, size)
        part = upload_id is not None
        upload_id = upload_id or secrets.token_hex(16)
        if size == 0 and not part:
            # The official client sends no data for an empty file: create it now.
            handle = await self.open_write(folder, rel)
            await handle.commit()
            return PendingUpload(upload_id, folder, rel, 0)
        # The declared size is claimed now: uploads in flight count against the quota
        # together, and the claim lives until commit, abort, expiry or the folder's deletion.
        claim = await self.quota.reservation(folder, upload_id, cap=size)
        await claim.ensure(size)
        ts = now()
        try:
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
        except BaseException:
            await claim.release()
            raise
        return PendingUpload(upload_id, folder, rel, size)

    async def pending(self, upload_id: str) -> tuple[uuid.UUID, PurePosixPath, int]:
        """(folder id, path, declared size) of a pending upload."""
        if not (upload_id.isascii() and upload_id.isalnum()):
            raise NotFound("this upload has finished or expired; request a new one")
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(t.uploads).where(t.uploads.c.id == upload_id))
            ).first()
        if row is None:
            raise NotFound("this upload has finished or expired; request a new one")
        return row.folder_id, PurePosixPath(row.path), int(row.size)

    async def staged(self, folder: VFolder, upload_id: str) -> int:
        """Bytes a pending upload holds (reads only; opens and claims nothing)."""
        return await self.hosts.volume(folder.host).staged_size(ref_of(folder), upload_id)

    async def discard_upload(self, upload_id: str, folder: VFolder | None) -> None:
        """Drop a pending upload outright: staged data, claim and row. No path checks and no
        claims on the way, so it works whatever became of the folder."""
        if folder is not None:
            vol = self.hosts.volume(folder.host)
            handle = await vol.open_upload(ref_of(folder), upload_id, PurePosixPath("x"))
            await handle.abort()
        await self.quota.drop_claim(upload_id)
        async with self.engine.begin() as conn:
            await conn.execute(t.uploads.delete().where(t.uploads.c.id == upload_id))

    async def discard_uploads_of(self, folder: VFolder) -> None:
        async with self.engine.connect() as conn:
            ids = (
                await conn.scalars(
                    sa.select(t.uploads.c.id).where(t.uploads.c.folder_id == folder.id)
                )
            ).all()
        for upload_id in ids:
            await self.discard_upload(upload_id, folder)

    async def drop_expired_uploads(self) -> int:
        """Forget uploads whose time is up and free their staged bytes and claims."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.uploads.c.id, t.uploads.c.folder_id).where(
                        t.uploads.c.expires_at < now()
                    )
                )
            ).all()
        dropped = 0
        for row in rows:
            try:
                async with self.engine.connect() as conn:
                    folder = await folder_by_id(conn, row.folder_id)
                await self.discard_upload(row.id, folder)
                dropped += 1
            except BaiError as e:  # one bad upload must not stop the sweep of the others
                log.warning("could not drop expired upload %s: %s", row.id, e.msg)
        return dropped

    async def sweep_staging(self) -> int:
        """Remove staged data that no pending upload and no open write owns (left by a
        crash, or by a write cut off mid-way)."""
        async with self.engine.connect() as conn:
            keep = set((await conn.scalars(sa.select(t.uploads.c.id))).all())
        keep |= self.open_keys
        removed = 0
        for vol in self.hosts.volumes.values():
            removed += await vol.sweep_staging(keep)
        return removed

    async def copy_file(
        self,
        src: VFolder,
        src_rel: PurePosixPath,
        dst: VFolder,
        dst_rel: PurePosixPath,
        claim: Reservation | None = None,
    ) -> int:
        """Copy one regular file between folders (or within one), quota claimed first."""
        async with await self.open_read(src, src_rel) as reader:
            writer = await self.open_write(dst, dst_rel, claim=claim)
            try:
                n = await writer.copy_from(reader)
                if n != reader.entry.size:
                    raise Conflict(f"{src_rel} changed while it was copied; copy it again")
                await writer.commit()
            except BaseException:
                await writer.abort()
                raise
            return n

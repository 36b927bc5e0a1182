"""Provides `TransferService`: tus uploads and downloads, authorised by transfer tokens."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.db import tables as t
from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound
from bai.folders.actions import DOWNLOAD, UPLOAD
from bai.folders.files import rel_of
from bai.folders.models import VFolder
from bai.folders.repository import add_usage, folder_by_id, now, ref_of
from bai.folders.service import FolderService
from bai.folders.tokens import TokenIssuer, TransferClaims
from bai.storage.base import Entry


@dataclass(frozen=True)
class UploadState:
    offset: int
    size: int


@dataclass(frozen=True)
class Download:
    name: str
    entry: Entry
    archive: bool
    claims: TransferClaims
    folder: VFolder


class _Sink:
    """A write-only, unseekable file for zipfile: it then writes data descriptors."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


class TransferService:
    def __init__(self, engine: AsyncEngine, folders: FolderService, tokens: TokenIssuer) -> None:
        self.engine = engine
        self.folders = folders
        self.tokens = tokens
        self._locks: dict[str, asyncio.Lock] = {}

    async def _folder(self, claims: TransferClaims, statuses: frozenset[str]) -> VFolder:
        async with self.engine.connect() as conn:
            folder = await folder_by_id(conn, claims.folder_id)
        if folder is None:
            raise NotFound("the folder of this transfer no longer exists")
        if folder.status not in statuses:
            raise Forbidden(f"folder {folder.name!r} is {folder.status}; the transfer is refused")
        return folder

    # ---- tus -------------------------------------------------------------------------------

    async def upload_state(self, token: str | None) -> UploadState:
        claims = self.tokens.verify(token, "upload")
        folder = await self._folder(claims, UPLOAD.statuses)
        async with self.engine.connect() as conn:
            live = await conn.scalar(
                sa.select(t.uploads.c.id).where(t.uploads.c.id == claims.upload_id)
            )
        if live is None:
            raise NotFound("this upload has finished or expired; request a new one")
        vol = self.folders.volume(claims.host)
        return UploadState(await vol.staged_size(ref_of(folder), claims.upload_id), claims.size)

    async def upload_chunk(
        self, token: str | None, offset: int, chunks: AsyncIterator[bytes]
    ) -> int:
        claims = self.tokens.verify(token, "upload")
        folder = await self._folder(claims, UPLOAD.statuses)
        lock = self._locks.setdefault(claims.upload_id, asyncio.Lock())
        if lock.locked():
            raise Conflict("another request is already writing to this upload; retry later")
        async with lock:
            async with self.engine.connect() as conn:
                live = await conn.scalar(
                    sa.select(t.uploads.c.id).where(t.uploads.c.id == claims.upload_id)
                )
            if live is None:
                raise NotFound("this upload has finished or expired; request a new one")
            vol = self.folders.volume(claims.host)
            new_offset = await vol.write_staged(
                ref_of(folder), claims.upload_id, offset, chunks, claims.size
            )
            if new_offset == claims.size:
                delta = await vol.commit_staged(ref_of(folder), claims.upload_id, rel_of(claims))
                async with self.engine.begin() as conn:
                    await add_usage(conn, folder.id, delta)
                    await conn.execute(t.uploads.delete().where(t.uploads.c.id == claims.upload_id))
                self._locks.pop(claims.upload_id, None)
            return new_offset

    async def cleanup_expired(self) -> int:
        """Forget uploads whose token has expired and free their staged bytes (which count
        against the quota scope on btrfs)."""
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.uploads.c.id, t.uploads.c.folder_id).where(
                        t.uploads.c.expires_at < now()
                    )
                )
            ).all()
            for row in rows:
                folder = await folder_by_id(conn, row.folder_id)
                if folder is not None:
                    await self.folders.volume(folder.host).discard_staged(ref_of(folder), row.id)
                await conn.execute(t.uploads.delete().where(t.uploads.c.id == row.id))
        return len(rows)

    # ---- downloads -------------------------------------------------------------------------

    async def open_download(self, token: str | None) -> Download:
        claims = self.tokens.verify(token, "download")
        folder = await self._folder(claims, DOWNLOAD.statuses)
        rel = rel_of(claims)
        entry = await self.folders.volume(claims.host).stat(ref_of(folder), rel, follow=True)
        if entry.type == "DIRECTORY" and not claims.archive:
            raise InvalidRequest(f"{rel} is a directory; request it as an archive")
        name = rel.name or folder.name
        return Download(name, entry, entry.type == "DIRECTORY", claims, folder)

    def read(self, d: Download, start: int, end: int) -> AsyncIterator[bytes]:
        return self.folders.volume(d.claims.host).read(
            ref_of(d.folder), rel_of(d.claims), start, end
        )

    async def zip_stream(self, d: Download) -> AsyncIterator[bytes]:
        """A zip of a directory, streamed: empty directories included, symlinks left out."""
        vol = self.folders.volume(d.claims.host)
        ref, base = ref_of(d.folder), rel_of(d.claims)
        sink = _Sink()
        with zipfile.ZipFile(
            sink,
            mode="w",
            compression=zipfile.ZIP_STORED,  # type: ignore[call-overload]
            allowZip64=True,
        ) as zf:
            async for relpath, entry in vol.walk(ref, base):
                if entry.type == "DIRECTORY":
                    zf.writestr(zipfile.ZipInfo(relpath + "/"), b"")
                elif entry.type == "FILE":
                    info = zipfile.ZipInfo(relpath)
                    info.external_attr = (entry.mode & 0xFFFF) << 16
                    with zf.open(info, "w", force_zip64=True) as out:
                        async for chunk in vol.read(ref, base / relpath, 0, entry.size):
                            out.write(chunk)
                            yield sink.take()
                yield sink.take()
        yield sink.take()

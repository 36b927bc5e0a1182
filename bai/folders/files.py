"""Provides `FileService`: listing and changing files in a folder, and transfer requests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

from sqlalchemy.ext.asyncio import AsyncEngine

from bai.access import Principal
from bai.db import tables as t
from bai.errors import InvalidRequest
from bai.folders import actions
from bai.folders.models import VFolder
from bai.folders.quota import QuotaService
from bai.folders.repository import add_usage, now, ref_of
from bai.folders.service import FolderService
from bai.folders.tokens import UPLOAD_TTL, TokenIssuer, TransferClaims
from bai.paths import check_name, clean_relpath, is_top
from bai.storage.base import Entry


@dataclass(frozen=True)
class TransferTicket:
    url: str
    token: str


class FileService:
    def __init__(
        self,
        engine: AsyncEngine,
        folders: FolderService,
        tokens: TokenIssuer,
        endpoint: str,
        quota: QuotaService,
    ) -> None:
        self.engine = engine
        self.quota = quota
        self.folders = folders
        self.tokens = tokens
        self.endpoint = endpoint

    async def list_dir(
        self, p: Principal, name: str, path: str
    ) -> tuple[VFolder, AsyncIterator[list[Entry]]]:
        folder = await self.folders.get(p, name, actions.LIST_FILES)
        rel = clean_relpath(path)
        vol = self.folders.volume(folder.host)
        entry = await vol.stat(ref_of(folder), rel, follow=True)
        if entry.type != "DIRECTORY":
            raise InvalidRequest(f"{rel} is not a directory")
        return folder, vol.list_dir(ref_of(folder), rel)

    async def mkdir(
        self, p: Principal, name: str, paths: list[str], parents: bool, exist_ok: bool
    ) -> list[str]:
        folder = await self.folders.get(p, name, actions.MKDIR)
        rels = [clean_relpath(x) for x in paths]
        for rel in rels:
            await self.folders.volume(folder.host).mkdir(ref_of(folder), rel, parents, exist_ok)
        return [str(r) for r in rels]

    async def move(self, p: Principal, name: str, src: str, dst: str) -> None:
        folder = await self.folders.get(p, name, actions.MOVE)
        await self.folders.volume(folder.host).move(
            ref_of(folder), clean_relpath(src), clean_relpath(dst)
        )

    async def rename(self, p: Principal, name: str, target: str, new_name: str) -> None:
        folder = await self.folders.get(p, name, actions.MOVE)
        await self.folders.volume(folder.host).rename(
            ref_of(folder), clean_relpath(target), check_name(new_name, "new name")
        )

    async def delete(self, p: Principal, name: str, files: list[str], recursive: bool) -> int:
        if not files:
            raise InvalidRequest("name at least one file to delete")
        folder = await self.folders.get(p, name, actions.DELETE_FILES)
        rels = [clean_relpath(f) for f in files]
        delta = await self.folders.volume(folder.host).delete(ref_of(folder), rels, recursive)
        async with self.engine.begin() as conn:
            await add_usage(conn, folder.id, delta)
        return len(rels)

    # ---- transfer requests -----------------------------------------------------------------

    async def request_upload(self, p: Principal, name: str, path: str, size: int) -> TransferTicket:
        folder = await self.folders.get(p, name, actions.UPLOAD)
        rel = clean_relpath(path)
        if is_top(rel):
            raise InvalidRequest("an upload needs a file path inside the folder")
        if not isinstance(size, int) or size < 0:
            raise InvalidRequest("size must be a byte count of zero or more")
        upload_id = secrets.token_hex(16)
        vol = self.folders.volume(folder.host)
        await vol.confine(ref_of(folder), rel)  # refuse now, not after the data is sent
        async with self.engine.begin() as conn:
            await self.quota.admit(conn, folder, size)
            if size == 0:
                # The official client sends no data for an empty file: create it now.
                delta = await vol.commit_staged(ref_of(folder), upload_id, rel)
                await add_usage(conn, folder.id, delta)
            else:
                ts = now()
                await conn.execute(
                    t.uploads.insert().values(
                        id=upload_id,
                        folder_id=folder.id,
                        path=str(rel),
                        size=size,
                        user_id=p.user_id,
                        created_at=ts,
                        expires_at=ts + timedelta(seconds=UPLOAD_TTL),
                    )
                )
        token = self.tokens.issue(
            TransferClaims(
                "upload", folder.host, folder.id, str(rel), size=size, upload_id=upload_id
            )
        )
        return TransferTicket(f"{self.endpoint}/upload", token)

    async def request_download(
        self, p: Principal, name: str, path: str, archive: bool = False
    ) -> TransferTicket:
        folder = await self.folders.get(p, name, actions.DOWNLOAD)
        rel = clean_relpath(path)
        entry = await self.folders.volume(folder.host).stat(ref_of(folder), rel, follow=True)
        if entry.type == "DIRECTORY" and not archive:
            raise InvalidRequest(f"{rel} is a directory; download it as an archive (zip)")
        token = self.tokens.issue(
            TransferClaims(
                "download", folder.host, folder.id, str(rel), archive=entry.type == "DIRECTORY"
            )
        )
        return TransferTicket(f"{self.endpoint}/download", token)


def rel_of(claims: TransferClaims) -> PurePosixPath:
    return clean_relpath(claims.path)

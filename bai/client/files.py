"""Provides `client.files`: the files of a folder, and resumable uploads and downloads."""

from __future__ import annotations

import asyncio
import builtins
import tempfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import msgspec

from bai import api
from bai.client import archive, parts, transfers
from bai.client.errors import ensure_dir, local_error
from bai.client.paths import folder_path
from bai.client.transfers import CHUNK, NoProgress, Progress, UploadJob
from bai.errors import BaiError, InvalidRequest

if TYPE_CHECKING:
    from bai.client.session import BaiClient


@dataclass(frozen=True)
class Fetched:
    """What `fetch` brought: one file, or a directory's tree."""

    path: Path
    directory: bool
    files: int
    bytes: int


class FilesApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def iter_ls(self, folder: str, path: str = ".") -> AsyncIterator[api.FileEntry]:
        """The entries of a directory as the node streams them (any size, bounded memory)."""
        request = self._c.build(
            "GET", folder_path(folder, "/files"), params={"path": path, "format": "ndjson"}
        )
        resp = await self._c.send(request, stream=True)
        decoder = msgspec.json.Decoder(api.FileEntry)
        try:
            async for line in resp.aiter_lines():
                if line.strip():
                    yield decoder.decode(line)
        finally:
            await resp.aclose()

    async def ls(self, folder: str, path: str = ".") -> builtins.list[api.FileEntry]:
        return [e async for e in self.iter_ls(folder, path)]

    async def is_dir(self, folder: str, path: str) -> bool:
        """Whether `path` is a directory of the folder (the node lists only directories)."""
        request = self._c.build(
            "GET", folder_path(folder, "/files"), params={"path": path, "format": "ndjson"}
        )
        try:
            resp = await self._c.send(request, stream=True)
        except InvalidRequest:
            return False
        await resp.aclose()  # the answer started: it is a directory; its entries are not needed
        return True

    async def mkdir(
        self,
        folder: str,
        paths: builtins.list[str],
        *,
        parents: bool = False,
        exist_ok: bool = False,
    ) -> api.MkdirResult:
        body = api.MkdirRequest(path=paths, parents=parents, exist_ok=exist_ok)
        return await self._c.call("POST", folder_path(folder, "/mkdir"), api.MkdirResult, body=body)

    async def move(self, folder: str, src: str, dst: str) -> api.MoveFileResult:
        """Move a file or directory (into `dst` when it is a directory)."""
        body = api.MoveFileRequest(src=src, dst=dst)
        path = folder_path(folder, "/move-file")
        return await self._c.call("POST", path, api.MoveFileResult, body=body)

    async def rename(self, folder: str, target: str, new_name: str) -> api.RenameFileResult:
        """Rename a file or directory in place."""
        body = api.RenameFileRequest(target_path=target, new_name=new_name)
        path = folder_path(folder, "/rename-file")
        return await self._c.call("POST", path, api.RenameFileResult, body=body)

    async def delete(
        self, folder: str, paths: builtins.list[str], *, recursive: bool = False
    ) -> api.DeleteFilesResult:
        body = api.DeleteFilesRequest(files=paths, recursive=recursive)
        path = folder_path(folder, "/delete-files")
        return await self._c.call("DELETE", path, api.DeleteFilesResult, body=body)

    async def request_upload(self, folder: str, path: str, size: int) -> api.TransferTicket:
        body = api.UploadRequest(path=path, size=size)
        url = folder_path(folder, "/request-upload")
        return await self._c.call("POST", url, api.TransferTicket, body=body)

    async def request_creation(self, folder: str, path: str = ".") -> api.TransferTicket:
        """A grant to create uploads below the directory `path` (tus creation: POST)."""
        body = api.UploadRequest(path=path, size=0, creation=True)
        url = folder_path(folder, "/request-upload")
        return await self._c.call("POST", url, api.TransferTicket, body=body)

    async def request_download(
        self, folder: str, path: str, *, archive: bool = False
    ) -> api.TransferTicket:
        body = api.DownloadRequest(path=path, archive=archive)
        url = folder_path(folder, "/request-download")
        return await self._c.call("POST", url, api.TransferTicket, body=body)

    @staticmethod
    def ticket_url(ticket: api.TransferTicket) -> str:
        """The URL that performs a ticket's transfer without credentials."""
        return str(transfers.ticket_url(ticket))

    async def upload(
        self,
        folder: str,
        local: Path,
        remote: str,
        *,
        progress: Progress | None = None,
        chunk_size: int = CHUNK,
        streams: int = parts.STREAMS,
        parallel_above: int = parts.ABOVE,
    ) -> int:
        """Upload a local file (overwriting `remote`); an interrupted upload of the same file
        continues where it stopped when called again. A file of at least `parallel_above`
        bytes goes in `streams` parts at once (tus concatenation; 1 turns it off). Returns
        the bytes of the file."""
        job = UploadJob(folder, local, remote)
        progress = progress or NoProgress()
        try:
            size = local.stat().st_size
        except OSError as e:
            raise local_error(e, local) from None
        if self._c.direct and not chunk_size and streams > 1 and size >= max(parallel_above, 1):
            progress.total(size)
            return await parts.upload_parts(self._c, job, size, streams, progress)
        return await transfers.upload(self._c, job, progress, chunk_size)

    async def download(
        self, folder: str, remote: str, local: Path, *, progress: Progress | None = None
    ) -> int:
        """Download a file to `local` (overwriting it), continuing a `.bai-part` left by an
        interrupted run. Returns the bytes of the file."""
        ensure_dir(local.parent)
        return await transfers.download(self._c, folder, remote, local, progress or NoProgress())

    async def download_tree(
        self, folder: str, remote: str, local: Path, *, progress: Progress | None = None
    ) -> archive.Unpacked:
        """Download a directory (a zip made by the node) and unpack it into `local`, keeping
        relative paths and modification times."""
        ensure_dir(local.parent)
        ticket = await self.request_download(folder, remote, archive=True)
        with tempfile.TemporaryDirectory(prefix=".bai-zip-", dir=local.parent) as tmp:
            zipped = Path(tmp) / "tree.zip"
            await transfers.stream_to(self._c, ticket, zipped, progress or NoProgress())
            try:
                return await asyncio.to_thread(archive.unpack, zipped, local)
            except zipfile.BadZipFile as e:
                raise BaiError(f"the node's zip of {remote} is damaged ({e})") from None
            except OSError as e:
                raise local_error(e, local) from None

    async def fetch(
        self, folder: str, remote: str, base: Path, *, progress: Progress | None = None
    ) -> Fetched:
        """Download `remote` into the local directory `base` under its own name: a file as
        `download` does, a directory as `download_tree` does."""
        name = PurePosixPath(remote).name or folder
        local = base / name
        try:
            size = await self.download(folder, remote, local, progress=progress)
            return Fetched(local, False, 1, size)
        except InvalidRequest:
            if not await self.is_dir(folder, remote):
                raise
        tree = await self.download_tree(folder, remote, local, progress=progress)
        return Fetched(local, True, tree.files, tree.bytes)

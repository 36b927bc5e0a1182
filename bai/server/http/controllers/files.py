"""Provides the file routes of a folder: ls, mkdir, move, rename, delete, transfer requests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from bai import api
from bai.errors import InvalidRequest
from bai.server.http import wire
from bai.server.http.body import json_body
from bai.server.http.deps import Caller, Services, Tokens
from bai.server.http.relay import relay_ticket
from bai.server.http.tokens import TransferClaims
from bai.storage.base import Entry


async def _official_body(batches: AsyncIterator[list[Entry]], path: str) -> AsyncIterator[bytes]:
    """`{"files": "<JSON array as a string>"}`, streamed batch by batch (bounded memory)."""
    yield b'{"files": "['
    first = True
    async for batch in batches:
        items = [msgspec.json.encode(wire.official_file_entry(e)).decode() for e in batch]
        parts = [json.dumps(item)[1:-1] for item in items]
        if parts:
            yield (("" if first else ",") + ",".join(parts)).encode()
            first = False
    yield b']", "folder_path": ' + json.dumps(path).encode() + b"}"


async def _chain(
    first: list[Entry], rest: AsyncIterator[list[Entry]]
) -> AsyncIterator[list[Entry]]:
    yield first
    async for batch in rest:
        yield batch


async def _ndjson(batches: AsyncIterator[list[Entry]]) -> AsyncIterator[bytes]:
    async for batch in batches:
        yield b"".join(msgspec.json.encode(wire.file_entry(e)) + b"\n" for e in batch)


_LISTING = ResponseSpec(
    data_container=api.OfficialListing,
    description="Backend.AI's listing; with format=ndjson one FileEntry per line instead",
    examples=[Example(value={"files": '[{"filename": "a.txt", "size": 1}]', "folder_path": "."})],
)


class FilesController(Controller):
    path = "/folders/{name:str}"
    tags = ("files",)  # type: ignore[assignment]

    @get("/files", operation_id="listFiles", responses={200: _LISTING})
    async def list_files(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        request: Request[Any, Any, Any],
        path: FromQuery[str | None] = None,
        format: FromQuery[str | None] = None,
    ) -> Stream:
        """Entries of a directory. `format=ndjson` streams one JSON object per line; the
        default is Backend.AI's shape (the official client sends `path` in a GET body)."""
        if path is None:
            try:
                path = msgspec.convert(await json_body(request), api.ListFilesRequest).path
            except msgspec.ValidationError as e:
                raise InvalidRequest(f"malformed request: {e}") from None
        _, batches = await services.files.list_dir(principal, name, path)
        # The first batch before the first byte: a directory nobody may read is a 4xx, not a
        # 200 that breaks off.
        first: list[Entry] = await anext(batches, [])
        batches = _chain(first, batches)
        if format == "ndjson":
            return Stream(_ndjson(batches), media_type="application/x-ndjson")
        return Stream(_official_body(batches, path), media_type="application/json")

    @post("/mkdir", operation_id="makeDirectory", status_code=201)
    async def mkdir(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.MkdirRequest],
    ) -> api.MkdirResult:
        paths = [data.path] if isinstance(data.path, str) else data.path
        made = await services.files.mkdir(principal, name, paths, data.parents, data.exist_ok)
        return api.MkdirResult(results=made)

    @post("/move-file", operation_id="moveFile", status_code=200)
    async def move(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.MoveFileRequest],
    ) -> Response[api.MoveFileResult]:
        """Move a file or directory (into `dst` if it is a directory). On a bucket a large
        directory moves in a background task: 202 with its `task_id` if it outlasts this
        request (`/tasks/{id}` has its progress)."""
        task_id = await services.files.move(principal, name, data.src, data.dst)
        body = api.MoveFileResult(src=data.src, dst=data.dst, task_id=task_id)
        return Response(body, status_code=200 if task_id is None else 202)

    @post("/rename-file", operation_id="renameFile", status_code=200)
    async def rename(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.RenameFileRequest],
    ) -> api.RenameFileResult:
        await services.files.rename(principal, name, data.target_path, data.new_name)
        return api.RenameFileResult(target_path=data.target_path, new_name=data.new_name)

    @delete("/delete-files", operation_id="deleteFiles", status_code=200)
    async def delete_files(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.DeleteFilesRequest],
    ) -> api.DeleteFilesResult:
        count = await services.files.delete(principal, name, data.files, data.recursive)
        return api.DeleteFilesResult(deleted=count)

    @post("/request-upload", operation_id="requestUpload", status_code=200)
    async def request_upload(
        self,
        principal: Caller,
        services: Services,
        tokens: Tokens,
        name: FromPath[str],
        data: JSONBody[api.UploadRequest],
    ) -> api.TransferTicket:
        """Start a tus upload; PATCH the returned url with `?token=`. With `creation`, a
        grant to create uploads below `path` instead (tus creation: POST the url)."""
        if (remote := await services.transfer_node(principal, name)) is not None:
            return await relay_ticket(services, principal, remote, name, "request-upload", data)
        if data.creation:
            folder, base = await services.files.request_creation(principal, name, data.path)
            grant = TransferClaims(
                "create", folder.host, folder.id, str(base), access_key=principal.access_key
            )
            return api.TransferTicket(
                url=f"{services.config.endpoint}/upload", token=tokens.issue(grant)
            )
        pending = await services.files.request_upload(principal, name, data.path, data.size)
        token = tokens.issue(
            TransferClaims(
                "upload",
                pending.folder.host,
                pending.folder.id,
                str(pending.rel),
                size=pending.size,
                upload_id=pending.id,
                access_key=principal.access_key,
            )
        )
        return api.TransferTicket(url=f"{services.config.endpoint}/upload", token=token)

    @post("/request-download", operation_id="requestDownload", status_code=200)
    async def request_download(
        self,
        principal: Caller,
        services: Services,
        tokens: Tokens,
        name: FromPath[str],
        data: JSONBody[api.DownloadRequest],
    ) -> api.TransferTicket:
        """Get a download url; `archive: true` zips a directory."""
        if (remote := await services.transfer_node(principal, name)) is not None:
            return await relay_ticket(services, principal, remote, name, "request-download", data)
        grant = await services.files.request_download(principal, name, data.path, data.archive)
        token = tokens.issue(
            TransferClaims(
                "download",
                grant.host,
                grant.folder_id,
                grant.path,
                archive=grant.archive,
                access_key=principal.access_key,
            )
        )
        return api.TransferTicket(url=f"{services.config.endpoint}/download", token=token)

"""Provides the file routes of a folder: ls, mkdir, move, rename, delete, transfer requests."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from bai.errors import InvalidRequest
from bai.server.http.body import field, json_body
from bai.server.http.deps import Caller, Services, Tokens
from bai.server.http.tokens import TransferClaims
from bai.storage.base import Entry


def entry_item(e: Entry) -> dict[str, Any]:
    return {
        "name": e.name,
        "type": e.type,
        "size": e.size,
        "mode": stat.filemode(e.mode),
        "created": datetime.fromtimestamp(e.created, UTC).isoformat(),
        "modified": datetime.fromtimestamp(e.modified, UTC).isoformat(),
        "symlink_target": e.symlink_target,
    }


def _official(e: Entry) -> dict[str, Any]:
    # The official CLI reads exactly these four keys.
    return {"filename": e.name, "size": e.size, "mtime": e.modified, "mode": stat.filemode(e.mode)}


async def _official_body(batches: AsyncIterator[list[Entry]], path: str) -> AsyncIterator[bytes]:
    """`{"files": "<JSON array as a string>"}`, streamed batch by batch (bounded memory)."""
    yield b'{"files": "['
    first = True
    async for batch in batches:
        parts = [json.dumps(json.dumps(_official(e)))[1:-1] for e in batch]
        if parts:
            yield (("" if first else ",") + ",".join(parts)).encode()
            first = False
    yield b']", "folder_path": ' + json.dumps(path).encode() + b"}"


async def _ndjson(batches: AsyncIterator[list[Entry]]) -> AsyncIterator[bytes]:
    async for batch in batches:
        yield b"".join(json.dumps(entry_item(e)).encode() + b"\n" for e in batch)


class FilesController(Controller):
    path = "/folders/{name:str}"
    tags = ("files",)  # type: ignore[assignment]

    @get("/files", operation_id="listFiles")
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
        body = await json_body(request)
        where = path if path is not None else field(body, "path", str, ".")
        _, batches = await services.files.list_dir(principal, name, where)
        if format == "ndjson":
            return Stream(_ndjson(batches), media_type="application/x-ndjson")
        return Stream(_official_body(batches, where), media_type="application/json")

    @post("/mkdir", operation_id="makeDirectory", status_code=201)
    async def mkdir(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        body = await json_body(request)
        raw = body.get("path")
        given: list[Any] = raw if isinstance(raw, list) else [raw]
        paths: list[str] = [x for x in given if isinstance(x, str)]
        if not paths or len(paths) != len(given):
            raise InvalidRequest(
                "field 'path' must be a path or a list of paths", data={"path": repr(raw)}
            )
        made = await services.files.mkdir(
            principal,
            name,
            paths,
            bool(body.get("parents", False)),
            bool(body.get("exist_ok", False)),
        )
        return {"results": made}

    @post("/move-file", operation_id="moveFile", status_code=200)
    async def move(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        body = await json_body(request)
        src, dst = field(body, "src", str), field(body, "dst", str)
        await services.files.move(principal, name, src, dst)
        return {"src": src, "dst": dst}

    @post("/rename-file", operation_id="renameFile", status_code=200)
    async def rename(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        body = await json_body(request)
        target, new_name = field(body, "target_path", str), field(body, "new_name", str)
        await services.files.rename(principal, name, target, new_name)
        return {"target_path": target, "new_name": new_name}

    @delete("/delete-files", operation_id="deleteFiles", status_code=200)
    async def delete_files(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        body = await json_body(request)
        files = field(body, "files", list)
        if not all(isinstance(f, str) for f in files):
            raise InvalidRequest("field 'files' must be a list of paths")
        count = await services.files.delete(
            principal, name, files, bool(body.get("recursive", False))
        )
        return {"deleted": count}

    @post("/request-upload", operation_id="requestUpload", status_code=200)
    async def request_upload(
        self,
        principal: Caller,
        services: Services,
        tokens: Tokens,
        name: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Start a tus upload; PATCH the returned url with `?token=`."""
        body = await json_body(request)
        pending = await services.files.request_upload(
            principal, name, field(body, "path", str), field(body, "size", int)
        )
        token = tokens.issue(
            TransferClaims(
                "upload",
                pending.folder.host,
                pending.folder.id,
                str(pending.rel),
                size=pending.size,
                upload_id=pending.id,
            )
        )
        return {"url": f"{services.config.endpoint}/upload", "token": token}

    @post("/request-download", operation_id="requestDownload", status_code=200)
    async def request_download(
        self,
        principal: Caller,
        services: Services,
        tokens: Tokens,
        name: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Get a download url; `archive: true` zips a directory."""
        body = await json_body(request)
        grant = await services.files.request_download(
            principal, name, field(body, "path", str), bool(body.get("archive", False))
        )
        token = tokens.issue(
            TransferClaims(
                "download", grant.host, grant.folder_id, grant.path, archive=grant.archive
            )
        )
        return {"url": f"{services.config.endpoint}/download", "token": token}

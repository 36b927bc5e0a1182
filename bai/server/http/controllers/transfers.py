"""Provides the storage-proxy transfer routes: tus 1.0.0 `/upload` and ranged `/download`.

Authorised by the token in the query, not by request signing (the official client sends
no auth headers here). This is a thin layer: the domain's `FileIO` holds pending uploads,
claims quota and commits; here live only tus's offsets and headers, and HTTP ranges.
"""

from __future__ import annotations

import asyncio
import re
import time
from email.utils import formatdate
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, quote

from litestar import Controller, Request, Response, get, head, patch, post
from litestar.enums import ScopeType
from litestar.params import FromQuery
from litestar.response import Stream
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

from bai import api
from bai.errors import Conflict, InvalidRequest
from bai.folders import concat
from bai.folders.files import FileService
from bai.paths import clean_relpath
from bai.server.http.auth import SKIP_AUTH
from bai.server.http.body import body_reader
from bai.server.http.controllers import tus
from bai.server.http.deps import Services, Tokens
from bai.server.http.fileresponse import FileBody
from bai.server.http.tokens import TokenIssuer, TransferClaims
from bai.storage.base import Entry

TUS_VERSION = api.TUS_VERSION
MAX_UPLOAD = 1 << 50
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


# One PATCH at a time per upload (tus clients send them in sequence; a second one at once
# is a retry racing its predecessor, answered 409 so the client asks for the offset).
_writing: set[str] = set()


def _validators(entry: Entry) -> tuple[str, str]:
    last_modified = formatdate(entry.modified, usegmt=True)
    etag = f'"{entry.size:x}-{int(entry.modified * 1_000_000):x}"'
    return last_modified, etag


def _disposition(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name)}"


def byte_range(
    header: str | None, if_range: str | None, size: int, validators: tuple[str, ...]
) -> tuple[int, int] | None:
    """(start, end) for a satisfiable single range; None for the whole file."""
    if not header or (if_range and if_range not in validators):
        return None  # If-Range mismatch: the file changed, send it whole
    m = _RANGE_RE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None  # several ranges or an odd unit: serving the whole file is allowed
    if m.group(1):
        start = int(m.group(1))
        end = min(int(m.group(2)) + 1, size) if m.group(2) else size
    else:
        start, end = max(size - int(m.group(2)), 0), size
    if start >= size or start >= end:
        raise RangeNotSatisfiable(size)
    return start, end


def tus_options_middleware(app: ASGIApp) -> ASGIApp:
    """Answer `OPTIONS /upload` with tus discovery headers (Litestar's automatic OPTIONS
    handler would otherwise answer it with only an Allow header)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == ScopeType.HTTP
            and scope.get("method") == "OPTIONS"
            and scope["path"] == "/upload"
        ):
            headers = _tus_headers(
                **{
                    "Tus-Version": TUS_VERSION,
                    "Tus-Max-Size": str(MAX_UPLOAD),
                    "Tus-Extension": tus.EXTENSIONS,
                }
            )
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 204,
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            }
            await send(start)
            body: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": b"",
                "more_body": False,
            }
            await send(body)
            return
        if (
            scope["type"] == ScopeType.HTTP
            and scope.get("method") == "POST"
            and scope["path"] == "/upload"
        ):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            if tus.whole_body(headers) is not None:
                await _put_whole(scope, receive, send, headers)
                return
        await app(scope, receive, send)

    return middleware


# Verified creation tokens: every file of a many-file upload carries the same one, and
# checking its signature each time would cost a good part of a small file's budget.
_verified: dict[str, tuple[float, TransferClaims]] = {}


def _creation_claims(tokens: TokenIssuer, token: str) -> TransferClaims:
    known = _verified.get(token)
    if known is not None and known[0] > time.time():
        return known[1]
    claims = tokens.verify(token, "create")
    if len(_verified) > 64:
        _verified.clear()
    _verified[token] = (tokens.expiry(token), claims)
    return claims


async def _put_whole(scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
    """A whole small file in a tus creation POST, answered without Litestar's per-request
    work (several times the cost of committing the file); errors raised here still reach
    the app's exception handlers."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client left
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    state = scope["app"].state
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    claims = _creation_claims(state.tokens, query.get("token", [""])[0])
    answer = await tus.put_whole(state.services, state.tokens, claims, headers, bytes(body))
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 201,
        "headers": [(k.lower().encode(), v.encode()) for k, v in answer.items()]
        + [(b"content-length", b"0")],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
    await send(end)


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


async def _patch(
    files: FileService, claims: TransferClaims, offset: int, request: Request[Any, Any, Any]
) -> int:
    pending, handle = await files.resume_upload(claims.access_key, claims.upload_id)
    try:
        have = await handle.size()
        if have != offset:
            # tus says 409 for an offset mismatch; tell the client where to resume.
            raise Conflict(
                f"upload offset {offset} does not match the {have} bytes received",
                data={"offset": have},
            )
        readinto = body_reader(request)
        if readinto is not None:  # straight from the socket into large reused buffers
            length = int(request.headers.get("content-length", "0"))
            if offset + length > pending.size:
                raise InvalidRequest(f"upload goes past its declared size of {pending.size} bytes")
            end = await handle.write_from(offset, readinto, limit=pending.size)
        else:
            end = await handle.write_stream(offset, request.stream(), limit=pending.size)
        if end == pending.size and not concat.is_partial(pending.id):
            await handle.commit()  # a part waits, invisible, for its final upload
        return end
    except asyncio.CancelledError:
        raise  # the client went away; what arrived stays staged for the next PATCH
    finally:
        await handle.close()


async def _locked_patch(
    files: FileService, claims: TransferClaims, offset: int, request: Request[Any, Any, Any]
) -> int:
    if claims.upload_id in _writing:
        raise Conflict("another request is already writing to this upload; retry later")
    _writing.add(claims.upload_id)
    try:
        return await _patch(files, claims, offset, request)
    finally:
        _writing.discard(claims.upload_id)


class TransfersController(Controller):
    path = "/"
    tags = ("transfers",)  # type: ignore[assignment]
    opt = {SKIP_AUTH: True}  # noqa: RUF012 - Litestar reads this mapping

    @head("/upload", operation_id="tusOffset", status_code=200)
    async def upload_offset(
        self, services: Services, tokens: Tokens, token: FromQuery[str | None] = None
    ) -> Response[None]:
        """How much of the upload the node has: resume from `Upload-Offset`."""
        claims = tokens.verify(token, "upload")
        offset, size = await services.files.upload_offset(claims.access_key, claims.upload_id)
        return Response(
            None,
            status_code=200,
            headers=_tus_headers(**{"Upload-Offset": str(offset), "Upload-Length": str(size)}),
        )

    @patch("/upload", operation_id="tusPatch", status_code=204, request_max_body_size=None)
    async def upload_patch(
        self,
        services: Services,
        tokens: Tokens,
        request: Request[Any, Any, Any],
        token: FromQuery[str | None] = None,
    ) -> Response[None]:
        """Append a chunk at `Upload-Offset`; 409 when the offset is not where we are."""
        raw = request.headers.get("upload-offset")
        if raw is None or not (raw.isascii() and raw.isdigit()):
            raise InvalidRequest("PATCH needs an Upload-Offset header with a byte offset")
        ctype = request.headers.get("content-type", "")
        if ctype and ctype != "application/offset+octet-stream":
            raise InvalidRequest("PATCH body must be application/offset+octet-stream")
        claims = tokens.verify(token, "upload")
        offset = await _locked_patch(services.files, claims, int(raw), request)
        return Response(
            None, status_code=204, headers=_tus_headers(**{"Upload-Offset": str(offset)})
        )

    @post("/upload", operation_id="tusCreate", status_code=201, request_max_body_size=None)
    async def upload_create(
        self,
        services: Services,
        tokens: Tokens,
        request: Request[Any, Any, Any],
        token: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """tus creation with a creation token: a new upload (`Location`), optionally with
        its first bytes or its whole body; `Upload-Concat: partial` / `final;URL…` makes or
        joins parts; a tar body (`application/x-tar`) holds many whole files (see
        `bai.server.http.controllers.tus`)."""
        claims = tokens.verify(token, "create")
        headers = {k.lower(): v for k, v in request.headers.items()}
        if tus.is_tar(headers):
            done = await tus.put_tar(services, claims, headers, request.stream())
            return Response(done, status_code=201, headers=_tus_headers())

        async def write_body(upload: TransferClaims) -> int:
            return await _locked_patch(services.files, upload, 0, request)

        async def join(rel: PurePosixPath, parts: list[str]) -> int:
            if any(p in _writing for p in parts):
                raise Conflict("a part of this upload is still being written; retry later")
            _writing.update(parts)
            try:
                return await services.files.join_upload(
                    claims.access_key, claims.folder_id, rel, parts
                )
            finally:
                _writing.difference_update(parts)

        answer = await tus.create(services, tokens, claims, headers, request.body, write_body, join)
        return Response(None, status_code=201, headers=answer)

    @get("/download", operation_id="download")
    async def download(
        self,
        services: Services,
        tokens: Tokens,
        request: Request[Any, Any, Any],
        token: FromQuery[str | None] = None,
        archive: FromQuery[bool] = False,
    ) -> Response[Any]:
        """A file with Range/If-Range support, or a directory as a streamed zip."""
        claims = tokens.verify(token, "download")
        folder, entry = await services.files.granted_read(
            claims.access_key, claims.folder_id, claims.path
        )
        rel = clean_relpath(claims.path)
        name = rel.name or folder.name
        if entry.is_dir:
            if not claims.archive:
                raise InvalidRequest(f"{rel} is a directory; request it as an archive")
            return Stream(
                services.io.archive(folder, rel),
                media_type="application/zip",
                headers={"Content-Disposition": _disposition(name + ".zip")},
            )
        # Opened before the first byte: a FIFO, socket or symlink loop is a 4xx here, and
        # the bytes sent are those of the file opened now.
        reader = await services.io.open_read(folder, rel)
        entry = reader.entry
        last_modified, etag = _validators(entry)
        headers = {
            "Accept-Ranges": "bytes",
            "Last-Modified": last_modified,
            "ETag": etag,
            "Content-Disposition": _disposition(name),
        }
        size = entry.size
        try:
            rng = byte_range(
                request.headers.get("range"),
                request.headers.get("if-range"),
                size,
                (last_modified, etag),
            )
        except RangeNotSatisfiable:
            await reader.close()
            return Response(
                b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
            )
        start, end, status = 0, size, 200
        if rng is not None:
            start, end = rng
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        # Sent with sendfile(2) from the descriptor opened (and checked) above.
        return FileBody(reader, start, end, status_code=status, headers=headers)

    @head("/download", operation_id="downloadHead")
    async def download_head(
        self, services: Services, tokens: Tokens, token: FromQuery[str | None] = None
    ) -> Response[None]:
        claims = tokens.verify(token, "download")
        folder, entry = await services.files.granted_read(
            claims.access_key, claims.folder_id, claims.path
        )
        if entry.is_dir:
            return Response(
                None, media_type="text/plain", headers={"Content-Type": "application/zip"}
            )
        last_modified, etag = _validators(entry)
        name = clean_relpath(claims.path).name or folder.name
        # Litestar serialises None only as text; the headers describe the GET response.
        return Response(
            None,
            media_type="text/plain",
            headers={
                "Accept-Ranges": "bytes",
                "Last-Modified": last_modified,
                "ETag": etag,
                "Content-Length": str(entry.size),
                "Content-Disposition": _disposition(name),
                "Content-Type": "application/octet-stream",
            },
        )

"""Provides the storage-proxy transfer routes: tus 1.0.0 `/upload` and ranged `/download`.

Authorised by the token in the query, not by request signing (the official client sends
no auth headers here). This is a thin layer: the domain's `FileIO` holds pending uploads,
claims quota and commits; here live only tus's offsets and headers, and HTTP ranges.
"""

from __future__ import annotations

import asyncio
import re
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, head, patch
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
from bai.folders.files import FileService
from bai.paths import clean_relpath
from bai.server.http.auth import SKIP_AUTH
from bai.server.http.body import body_reader
from bai.server.http.deps import Services, Tokens
from bai.server.http.fileresponse import FileBody
from bai.server.http.tokens import TransferClaims
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
                **{"Tus-Version": TUS_VERSION, "Tus-Max-Size": str(MAX_UPLOAD), "Tus-Extension": ""}
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
        await app(scope, receive, send)

    return middleware


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
        if end == pending.size:
            await handle.commit()
        return end
    except asyncio.CancelledError:
        raise  # the client went away; what arrived stays staged for the next PATCH
    finally:
        await handle.close()


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
        if claims.upload_id in _writing:
            raise Conflict("another request is already writing to this upload; retry later")
        _writing.add(claims.upload_id)
        try:
            offset = await _patch(services.files, claims, int(raw), request)
        finally:
            _writing.discard(claims.upload_id)
        return Response(
            None, status_code=204, headers=_tus_headers(**{"Upload-Offset": str(offset)})
        )

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

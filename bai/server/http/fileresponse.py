"""Provides `FileBody`: a response whose body is a byte range of an already opened file.

Under the node's own server (see `protocol.py`) the bytes leave through sendfile(2); under
any other ASGI server, or for a file with no descriptor (a bucket's object stream), they are
read in chunks and sent as ordinary body messages. Either way the handle is closed when the
response ends, however it ends.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response.base import ASGIResponse
from litestar.types import HTTPResponseBodyEvent, Receive, Scope, Send

from bai.server.http.protocol import ZERO_COPY
from bai.storage.base import ReadHandle


class _ASGIFileBody(ASGIResponse):
    def __init__(
        self, reader: ReadHandle, start: int, end: int, zero_copy: bool, **kw: Any
    ) -> None:
        super().__init__(content_length=end - start, **kw)
        self.reader = reader
        self.start = start
        self.end = end
        self.zero_copy = zero_copy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.reader.close()

    async def send_body(self, send: Send, receive: Receive) -> None:
        fd = self.reader.fileno()
        if self.zero_copy and fd is not None:
            message = {
                "type": ZERO_COPY,
                "file": fd,
                "offset": self.start,
                "count": self.end - self.start,
                "more_body": False,
            }
            await send(message)  # type: ignore[arg-type]
            return
        async for chunk in self.reader.read(self.start, self.end):
            event: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": chunk,
                "more_body": True,
            }
            await send(event)
        done: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": b"",
            "more_body": False,
        }
        await send(done)


class FileBody(Response[None]):
    """Bytes [start, end) of `reader`, which the response owns (and closes) from now on."""

    def __init__(
        self,
        reader: ReadHandle,
        start: int,
        end: int,
        *,
        status_code: int,
        headers: dict[str, str],
        media_type: str = "application/octet-stream",
    ) -> None:
        super().__init__(None, status_code=status_code, headers=headers, media_type=media_type)
        self.reader = reader
        self.start = start
        self.end = end

    def to_asgi_response(  # type: ignore[override]
        self, app: Any, request: Request[Any, Any, Any], **kw: Any
    ) -> ASGIResponse:
        extensions = request.scope.get("extensions") or {}
        return _ASGIFileBody(
            self.reader,
            self.start,
            self.end,
            ZERO_COPY in extensions,
            headers={**(kw.get("headers") or {}), **self.headers},
            status_code=self.status_code,
            media_type=str(self.media_type),
            is_head_response=bool(kw.get("is_head_response")),
            cookies=self.cookies,
        )

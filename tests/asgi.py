"""An httpx client that runs the node's ASGI app in the test's own event loop, streaming.

Litestar's `AsyncTestClient` runs the app in a second thread with a loop of its own and
blocks the caller's loop for the length of every request. An in-process node's background
work (task runner, reconciles, watchers) lives in the test's loop, so a request that waits
for it, or for an asyncio lock it holds, would wait on a loop that cannot run: the tests
deadlocked now and then. A real node runs everything in one loop, and so does this client.
Responses stream (the app runs as a task and its body parts pass through a bounded queue),
so server-sent events and large downloads behave as over a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

_END = object()


class _Body(httpx.AsyncByteStream):
    def __init__(self, parts: asyncio.Queue[Any], app_task: asyncio.Task[None]) -> None:
        self._parts = parts
        self._task = app_task
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._ended:
            part = await self._parts.get()
            if part is _END:
                self._ended = True
                break
            if isinstance(part, BaseException):
                raise part
            yield part

    async def aclose(self) -> None:
        # A reader that went away early disconnects the app; one that read to the end lets
        # the app finish what it does after its last byte.
        if not self._ended and not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


class SameLoopTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 12345)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (request.url.host, request.url.port or 80),
            "client": self.client,
            "extensions": {},
        }
        body = request.stream
        assert isinstance(body, httpx.AsyncByteStream)
        chunks = body.__aiter__()
        request_done = False
        response_done = asyncio.Event()
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        parts: asyncio.Queue[Any] = asyncio.Queue(maxsize=16)  # back-pressure on the app

        async def receive() -> dict[str, Any]:
            nonlocal request_done
            if not request_done:
                try:
                    chunk = await chunks.__anext__()
                    return {"type": "http.request", "body": chunk, "more_body": True}
                except StopAsyncIteration:
                    request_done = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            await response_done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set_result((message["status"], list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await parts.put(bytes(message["body"]))
                if not message.get("more_body", False):
                    response_done.set()
                    await parts.put(_END)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as e:
                if not started.done():
                    started.set_exception(e if isinstance(e, Exception) else RuntimeError(e))
                elif not response_done.is_set():
                    parts.put_nowait(httpx.ReadError(f"the app failed mid-response: {e!r}"))
                raise
            finally:
                if started.done() and not response_done.is_set():
                    with contextlib.suppress(asyncio.QueueFull):
                        parts.put_nowait(_END)

        task = asyncio.create_task(run(), name=f"asgi {request.method} {request.url.path}")
        status, headers = await started
        return httpx.Response(status, headers=headers, stream=_Body(parts, task))


@contextlib.asynccontextmanager
async def same_loop_client(app: Any, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for `app`, with the app's lifespan started and stopped around it."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    msg = await outbox.get()
    if msg["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {msg}")
    try:
        async with httpx.AsyncClient(
            transport=SameLoopTransport(app), base_url=base_url, timeout=None
        ) as http:
            yield http
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan

"""Provides the node's HTTP/1.1 protocol: uvicorn's httptools protocol plus two extensions
that keep file bytes out of Python's per-chunk path.

- `http.response.zerocopysend` (the ASGI spec's zero-copy send extension): the body of a
  response comes from a file descriptor through the kernel's sendfile(2), straight from the
  page cache to the socket. The application has done every check by then and passes the
  descriptor it opened (so what is sent is what was checked).
- `bai.request.readinto`: the application reads a request body with a Content-Length into
  its own (reused, large) buffer, straight from the socket, instead of receiving it as
  ~64 KiB messages copied twice on the way. The connection closes after such a request
  (the parser never saw those bytes, so it cannot read a next request on it); tus clients
  open a connection per PATCH anyway.

Both fall back to nothing: an application checks `scope["extensions"]` and uses the plain
ASGI messages when an extension is absent (another server, the in-process test client).
uvicorn's protocol has no public hook for this, so `_start_asgi_task` (which every request,
pipelined or not, goes through) is where the extensions are attached.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

ZERO_COPY = "http.response.zerocopysend"
READINTO = "bai.request.readinto"
# A peer that takes no byte for this long is gone (a stalled reader or writer would otherwise
# hold the request, and a tus upload's lock, forever).
IDLE_TIMEOUT = 120.0
_SENDFILE_MAX = 1 << 30
_READAHEAD = 32 << 20

ReadInto = Callable[[memoryview], Awaitable[int]]


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, write: bool) -> None:
    """Wait until `fd` (our own duplicate of a connection's socket: the transport keeps the
    original registered) is writable or readable."""
    fut: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not fut.done():
            fut.set_result(None)

    (loop.add_writer if write else loop.add_reader)(fd, wake)
    try:
        await asyncio.wait_for(fut, IDLE_TIMEOUT)
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fd)


def _fill(fd: int, view: memoryview) -> int:
    """Read into `view` from the non-blocking socket `fd` until it is full, the peer ends
    the stream, or nothing arrives for IDLE_TIMEOUT; the count (in a worker thread)."""
    got = 0
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while got < len(view):
        try:
            n = os.readv(fd, [view[got:]])
        except BlockingIOError:
            if not poller.poll(IDLE_TIMEOUT * 1000):
                break
            continue
        except ConnectionError:
            break
        if n == 0:
            break
        got += n
    return got


def _socket_fd(transport: asyncio.Transport) -> int | None:
    sock = transport.get_extra_info("socket")
    if sock is None or transport.get_extra_info("sslcontext") is not None:
        return None  # TLS: the bytes must go through the TLS layer, not the raw socket
    fd: int = sock.fileno()
    return fd if fd >= 0 else None


class _Connection:
    """The extensions for one request of one connection."""

    def __init__(self, protocol: BaiHttpProtocol, cycle: RequestResponseCycle) -> None:
        self.protocol = protocol
        self.cycle = cycle
        self.loop = protocol.loop
        self.dup: int | None = None  # our duplicate of the socket descriptor, when in use
        self.direct = False  # reading the body straight from the socket

    def _dup(self) -> int | None:
        if self.dup is None:
            fd = _socket_fd(self.cycle.transport)
            if fd is None:
                return None
            self.dup = os.dup(fd)
        return self.dup

    def close(self) -> None:
        if self.dup is not None:
            os.close(self.dup)
            self.dup = None

    # ---- zero-copy send
    async def send(self, message: Any) -> None:
        if message.get("type") != ZERO_COPY:
            await self.cycle.send(message)
            return
        cycle = self.cycle
        if cycle.disconnected:
            return  # the peer left (perhaps before the response could start): nothing to do
        if not cycle.response_started or cycle.response_complete or cycle.chunked_encoding:
            raise RuntimeError("zerocopysend needs a started response with a Content-Length")
        file = message["file"]
        fd = file if isinstance(file, int) else file.fileno()
        offset = message.get("offset")
        offset = os.lseek(fd, 0, os.SEEK_CUR) if offset is None else offset
        count = message.get("count")
        if count is None:
            count = os.fstat(fd).st_size - offset
        if cycle.scope["method"] == "HEAD":
            count = 0
        if count > cycle.expected_content_length:
            raise RuntimeError("zerocopysend past the response's Content-Length")
        sent = await self._sendfile(fd, offset, count) if count else 0
        cycle.expected_content_length -= sent
        if sent < count:
            # The file shrank under us or the peer left: the body cannot be completed, so
            # the connection ends here and the client sees a short body (and may resume).
            cycle.disconnected = True
            cycle.transport.close()
            return
        if not message.get("more_body", False):
            await cycle.send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _sendfile(self, fd: int, offset: int, count: int) -> int:
        out = self._dup()
        if out is None:
            return await self._send_copied(fd, offset, count)
        transport, waited = self.cycle.transport, 0.0
        while transport.get_write_buffer_size():  # the headers go first
            if waited > IDLE_TIMEOUT or transport.is_closing():
                return 0
            await asyncio.sleep(0.001)
            waited += 0.001
        done, ahead = 0, offset
        while done < count:
            if offset + done >= ahead - _READAHEAD // 2:
                # Ask the kernel to read the next stretch now, in the background: sendfile
                # then rarely waits for the disk (which would stall this event loop).
                with contextlib.suppress(OSError):
                    os.posix_fadvise(fd, ahead, _READAHEAD, os.POSIX_FADV_WILLNEED)
                ahead += _READAHEAD
            try:
                n = os.sendfile(out, fd, offset + done, min(count - done, _SENDFILE_MAX))
            except BlockingIOError:
                try:
                    await _ready(self.loop, out, write=True)
                except TimeoutError:
                    break
                continue
            except (BrokenPipeError, ConnectionError):
                break
            if n == 0:
                break  # end of file before `count`: it shrank
            done += n
        return done

    async def _send_copied(self, fd: int, offset: int, count: int) -> int:
        done = 0
        while done < count:
            chunk = await asyncio.to_thread(os.pread, fd, min(count - done, 1 << 20), offset + done)
            if not chunk:
                break
            await self.cycle.send({"type": "http.response.body", "body": chunk, "more_body": True})
            done += len(chunk)
        self.cycle.expected_content_length += done  # _sendfile's caller counts it once
        return done

    # ---- direct body reads
    async def readinto(self, buf: memoryview) -> int:
        """Fill `buf` with the next bytes of the request body (fewer only at its end); 0 when
        the body is over, or the peer went away before sending all of it."""
        cycle = self.cycle
        if cycle.waiting_for_100_continue and not cycle.transport.is_closing():
            cycle.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            cycle.waiting_for_100_continue = False
        n = 0
        if cycle.body:  # what the parser has seen already
            n = min(len(cycle.body), len(buf))
            buf[:n] = cycle.body[:n]
            del cycle.body[:n]
        protocol = self.protocol
        while n < len(buf) and protocol.body_left > 0 and protocol.cycle is cycle:
            if not self.direct:
                out = self._dup()
                if out is None or cycle.disconnected:
                    return n + await self._receive_copied(buf[n:])
                self.direct = True
                protocol.flow.pause_reading()  # from now on the socket is ours to read
                cycle.keep_alive = False
            assert self.dup is not None
            want = min(len(buf) - n, protocol.body_left)
            # One worker-thread call fills the whole buffer: no event-loop round trip for
            # each of the many small reads a socket gives.
            got = await asyncio.to_thread(_fill, self.dup, buf[n : n + want])
            if got == 0:  # the peer left mid-body
                protocol.body_left = 0
                cycle.disconnected = True
                cycle.transport.close()
                break
            n += got
            protocol.body_left -= got
        return n

    async def _receive_copied(self, buf: memoryview) -> int:
        """The plain ASGI way, for a connection whose socket we cannot read (TLS)."""
        cycle = self.cycle
        while not cycle.body and cycle.more_body and not cycle.disconnected:
            message = await cycle.receive()
            if message["type"] != "http.request":
                return 0
            cycle.body += message.get("body", b"")
            cycle.more_body = message.get("more_body", False)
        n = min(len(cycle.body), len(buf))
        buf[:n] = cycle.body[:n]
        del cycle.body[:n]
        return n


class BaiHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the two extensions (see the module docstring)."""

    body_left = 0  # body bytes of the request being parsed that the parser has not seen

    def on_headers_complete(self) -> None:
        length = next((v for k, v in self.headers if k == b"content-length"), None)
        chunked = any(k == b"transfer-encoding" for k, _ in self.headers)
        self.body_left = int(length) if length and length.isdigit() and not chunked else 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.body_left -= len(body)
        super().on_body(body)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        conn = _Connection(self, cycle)
        extensions = cycle.scope.setdefault("extensions", {})  # type: ignore[typeddict-item]
        extensions[ZERO_COPY] = {}
        if self.body_left > 0 and self.cycle is cycle:
            extensions[READINTO] = {"readinto": conn.readinto}

        async def with_extensions(scope: Any, receive: Any, send: Any) -> None:
            try:
                await app(scope, receive, conn.send)
            finally:
                conn.close()

        super()._start_asgi_task(cycle, with_extensions)

"""Provides plain HTTP/1.1 exchanges over blocking sockets, for the bulk of a transfer.

The bytes of a file never pass through Python objects: a request body is sent from the
file with sendfile(2) (`socket.sendfile`), and a response body is received with recv_into
into one reused buffer and written with pwrite(2) at its place in the file (so several
ranges can land in one file at once). Every call blocks; callers run them in worker threads.
Transfer endpoints need no request signing, so nothing here knows about credentials.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bai import __version__

TIMEOUT = 60.0
RECV_BUFFER = 4 << 20
_MAX_HEAD = 64 << 10
_SEND_SLICE = 8 << 20  # progress is reported after each slice of a sendfile upload
_F_SETPIPE_SZ, _F_GETPIPE_SZ = 1031, 1032  # Linux fcntl commands (not in Python's fcntl)
_PIPE_SIZE = 1 << 20  # the most an unprivileged process may ask for by default


class BrokeOff(Exception):
    """The connection ended before the whole body arrived (`args[0]`: bytes there are)."""


class NetError(Exception):
    """No connection, or it failed before an answer (the `OSError` is the cause)."""


@dataclass(frozen=True)
class Head:
    status: int
    headers: dict[str, str]  # names in lower case

    @property
    def length(self) -> int | None:
        raw = self.headers.get("content-length")
        return int(raw) if raw is not None and raw.isdigit() else None


class Connection:
    """One connection to a node, used for one request (the node closes it after a direct
    upload, and parallel ranges use one connection each)."""

    def __init__(self, url: httpx.URL, timeout: float = TIMEOUT) -> None:
        self.url = url
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            sock = socket.create_connection((url.host, port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if url.scheme == "https":
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=url.host)
        except OSError as e:
            raise NetError(str(e)) from e
        self.sock = sock
        self.buffer = b""  # bytes received past the response head

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_head(self, method: str, headers: dict[str, str]) -> None:
        target = self.url.raw_path.decode("ascii")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.url.netloc.decode('ascii')}"]
        lines += [f"User-Agent: bai/{__version__}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        try:
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        except OSError as e:
            raise NetError(str(e)) from e

    def send_file(
        self, fd: int, offset: int, count: int, sent: Callable[[int], None] | None = None
    ) -> None:
        """Send bytes [offset, offset+count) of the open file `fd` as the request body."""
        with os.fdopen(os.dup(fd), "rb") as f:
            done = 0
            while done < count:
                n = min(_SEND_SLICE, count - done)
                try:
                    k = self.sock.sendfile(f, offset + done, n)
                except OSError as e:
                    raise NetError(str(e)) from e
                if k == 0:
                    raise NetError(f"the local file ended {count - done} bytes early")
                done += k
                if sent is not None:
                    sent(done)

    def read_head(self) -> Head:
        data = self.buffer
        while b"\r\n\r\n" not in data:
            if len(data) > _MAX_HEAD:
                raise NetError("the node's answer has an oversized head")
            try:
                chunk = self.sock.recv(65536)
            except OSError as e:
                raise NetError(str(e)) from e
            if not chunk:
                raise NetError("the node closed the connection before answering")
            data += chunk
        head, _, self.buffer = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise NetError(f"the node's answer is not HTTP: {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        head_ = Head(int(parts[1]), headers)
        if int(parts[1]) == 100:  # "100 Continue": the real answer follows
            return self.read_head()
        return head_

    def read_small(self, head: Head, limit: int = 1 << 20) -> bytes:
        """A short body (an error's JSON), whole."""
        want = min(head.length if head.length is not None else limit, limit)
        data = self.buffer
        while len(data) < want:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        self.buffer = b""
        return data[:want]

    def read_into(
        self, fd: int, pos: int, count: int, got: Callable[[int], None], buf: bytearray
    ) -> int:
        """Write the next `count` body bytes at `pos` of `fd`; `got(n)` after each write.
        Returns the bytes written; fewer than `count` means the connection ended."""
        done = 0
        if self.buffer:
            first = self.buffer[:count]
            os.pwrite(fd, first, pos)
            done = len(first)
            self.buffer = self.buffer[done:]
            got(done)
        if not isinstance(self.sock, ssl.SSLSocket) and hasattr(os, "splice"):
            return done + self._splice_into(fd, pos + done, count - done, done, got)
        view = memoryview(buf)
        ended = False
        while done < count and not ended:
            # Fill the buffer before writing: fewer, larger writes.
            want, filled = min(len(view), count - done), 0
            while filled < want:
                try:
                    n = self.sock.recv_into(view[filled:], want - filled)
                except (ConnectionError, TimeoutError, ssl.SSLError):
                    n = 0
                if n == 0:
                    ended = True
                    break
                filled += n
            m = 0
            while m < filled:
                m += os.pwrite(fd, view[m:filled], pos + done + m)
            done += filled
            got(done)
        return done

    def _splice_into(
        self, fd: int, pos: int, count: int, before: int, got: Callable[[int], None]
    ) -> int:
        """Socket to pipe to file with splice(2): the bytes never enter user space."""
        r, w = os.pipe()
        try:
            with contextlib.suppress(OSError):
                fcntl.fcntl(w, _F_SETPIPE_SZ, _PIPE_SIZE)
            size = fcntl.fcntl(w, _F_GETPIPE_SZ)
            poller = select.poll()
            poller.register(self.sock.fileno(), select.POLLIN)
            timeout = (self.sock.gettimeout() or TIMEOUT) * 1000
            done = 0
            while done < count:
                try:
                    n = os.splice(self.sock.fileno(), w, min(size, count - done))
                except BlockingIOError:
                    if not poller.poll(timeout):
                        break
                    continue
                except (ConnectionError, TimeoutError):
                    break
                if n == 0:
                    break
                m = 0
                while m < n:
                    m += os.splice(r, fd, n - m, offset_dst=pos + done + m)
                done += n
                got(before + done)
            return done
        finally:
            os.close(r)
            os.close(w)

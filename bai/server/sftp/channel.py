"""Provides `SftpChannel`: one SSH session channel of the SFTP service.

The channel runs the `sftp` subsystem and nothing else: a shell, a command (rsync, legacy
scp) or a pty request gets one line saying what the service offers, and the channel closes.

Packets are cut from the byte stream as it arrives. Reads and writes start at once and run
side by side, since clients keep many in flight (OpenSSH: 64); every other request runs after
the one before it, in the order they came. When too much is in flight — the disk is slower
than the network, or the client does not read its answers — the channel stops reading and
SSH flow control holds the client back. Answers that become ready together leave in one
SSH packet where they fit.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque
from typing import Any

import asyncssh

from bai.access import Principal
from bai.errors import BaiError
from bai.node import Node
from bai.server.sftp import codec as c
from bai.server.sftp.requests import Requests

log = logging.getLogger("bai.sftp")

MAX_INFLIGHT = 128  # requests being worked on; beyond this the channel stops reading
_OUT_HIGH_WATER = 8 << 20  # answers waiting for the client's window before reads pause
_U32 = struct.Struct(">I")


def refusal(command: str | None) -> str:
    """What a shell or command request is told (rsync and legacy scp run commands)."""
    what = command.split()[0] if command else ""
    if what == "rsync":
        head = "rsync needs a remote shell, which this SFTP-only service does not run."
    elif what == "scp":
        head = "legacy scp (-O) is not served; OpenSSH's scp speaks SFTP without -O."
    elif command:
        head = f"this service runs no commands ({what!r} refused)."
    else:
        head = "this service offers no shell."
    return (
        f"bai: {head} Copy files with sftp or scp; for rsync, mount the folders with sshfs "
        "and rsync into the mount.\n"
    )


class SftpChannel(asyncssh.SSHServerSession[bytes]):
    def __init__(self, node: Node, principal: Principal) -> None:
        self.node = node
        self.principal = principal
        self.requests: Requests | None = None
        self._chan: Any = None
        self._refused: str | None = None
        self._asked_subsystem = False
        # Incoming bytes as they came, not yet cut into packets (`_first`: how much of the
        # first chunk is used); a packet inside one chunk is a view of it, not a copy.
        self._chunks: deque[bytes] = deque()
        self._first = 0
        self._have = 0
        self._need = 4  # bytes the next step of cutting waits for
        self._queue: asyncio.Queue[tuple[int, int, memoryview | bytes] | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._inflight = 0
        self._in_paused = False
        self._out_paused = False
        self._out: list[bytes] = []
        self._versioned = False
        self.closed = asyncio.Event()

    # ---- asyncssh callbacks --------------------------------------------------------------

    def connection_made(self, chan: Any) -> None:
        self._chan = chan
        chan.set_write_buffer_limits(high=_OUT_HIGH_WATER)

    def pty_requested(self, *args: Any) -> bool:
        return True  # accepted, so that the refusal below reaches an interactive `ssh`

    def shell_requested(self) -> bool:
        self._refused = ""
        return True

    def exec_requested(self, command: str) -> bool:
        self._refused = command
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        self._asked_subsystem = subsystem == "sftp"
        return self._asked_subsystem

    def session_started(self) -> None:
        if self._refused is not None or not self._asked_subsystem:
            self._chan.write_stderr(refusal(self._refused or None).encode())
            self._chan.exit(1)
            return
        self.requests = Requests(self.node, self.principal, self.say)
        self._worker = asyncio.get_running_loop().create_task(self._ordered())

    def data_received(self, data: bytes, datatype: Any) -> None:
        if self.requests is None or datatype is not None or not data:
            return
        self._chunks.append(data)
        self._have += len(data)
        if self._have < self._need:
            return  # most chunks are a middle part of a large WRITE
        try:
            self._cut()
        except c.Malformed as e:
            log.info("closing an SFTP channel: %s", e)
            self._chan.close()

    def eof_received(self) -> bool:
        self._queue.put_nowait(None)  # answer what came, then close
        return True

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._worker is not None:
            self._worker.cancel()
        if self.requests is not None:
            asyncio.get_running_loop().create_task(self._release())
        else:
            self.closed.set()

    def pause_writing(self) -> None:
        self._out_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self._out_paused = False
        self._resume()

    # ---- the stream ------------------------------------------------------------------------

    def _cut(self) -> None:
        while self._have >= 4:
            (size,) = _U32.unpack(bytes(self._take(4, peek=True)))
            if size < 5 or size > c.MAX_PACKET + 1024:
                raise c.Malformed(f"a packet of {size} bytes is out of bounds")
            if self._have < 4 + size:
                self._need = 4 + size
                return
            self._take(4)
            self._dispatch(self._take(size))
        self._need = 4

    def _take(self, n: int, peek: bool = False) -> memoryview | bytes:
        """The next `n` bytes: a view when one chunk holds them, else one joined copy."""
        first, chunk = self._first, self._chunks[0]
        if len(chunk) - first >= n:
            if not peek:
                self._advance(n)
            return memoryview(chunk)[first : first + n]
        parts, i, need = [], 0, n
        while need:
            piece = memoryview(self._chunks[i])[first : first + need]
            parts.append(piece)
            need -= len(piece)
            i, first = i + 1, 0
        if not peek:
            self._advance(n)
        return b"".join(parts)

    def _advance(self, n: int) -> None:
        self._have -= n
        while n:
            left = len(self._chunks[0]) - self._first
            if n < left:
                self._first += n
                return
            n -= left
            self._chunks.popleft()
            self._first = 0

    def _dispatch(self, pkt: memoryview | bytes) -> None:
        assert self.requests is not None
        kind = pkt[0]
        if not self._versioned:
            if kind != c.INIT:
                raise c.Malformed("the first packet must be INIT")
            self._versioned = True
            ext = b"".join(c.string(k) + c.string(v) for k, v in c.EXTENSIONS)
            self.send(c.packet(c.VERSION_REPLY, c.VERSION, ext))
            return
        if len(pkt) < 5:
            raise c.Malformed("a request without an id")
        (rid,) = _U32.unpack_from(pkt, 1)
        r = c.Reader(pkt, 5)
        if kind in (c.READ, c.WRITE):
            start = self.requests.read if kind == c.READ else self.requests.write
            try:
                task = start(rid, r, self.send)
            except BaiError as e:
                self.send(self.requests.answer(rid, e))
                return
            self._inflight += 1
            self._pause_if_full()
            task.add_done_callback(self._done)
        else:
            self._queue.put_nowait((kind, rid, pkt))
            self._inflight += 1
            self._pause_if_full()

    def _done(self, _: object = None) -> None:
        self._inflight -= 1
        self._resume()

    async def _ordered(self) -> None:
        assert self.requests is not None
        while (item := await self._queue.get()) is not None:
            kind, rid, pkt = item
            try:
                self.send(await self.requests.handle(kind, rid, c.Reader(pkt, 5)))
            finally:
                self._done()
        for h in list(self.requests.handles.values()):
            await h.settle()  # the client closed its end: let the last answers go out
        self._flush()
        if not self._chan.is_closing():
            self._chan.exit(0)

    async def _release(self) -> None:
        assert self.requests is not None
        try:
            await self.requests.close_all()
        finally:
            self.closed.set()

    # ---- output and flow control -------------------------------------------------------

    def send(self, data: bytes) -> None:
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(data)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and self._chan is not None and not self._chan.is_closing():
            self._chan.write(out[0] if len(out) == 1 else b"".join(out))

    def end(self, line: str) -> None:
        """Tell the client why, then close the channel (after what is queued has gone)."""
        self._flush()
        self.say(line)
        if self._chan is not None and not self._chan.is_closing():
            self._chan.exit(1)

    def say(self, line: str) -> None:
        if self._chan is not None and not self._chan.is_closing():
            self._chan.write_stderr(line.encode("utf-8", "replace"))

    def _pause_if_full(self) -> None:
        if self._inflight >= MAX_INFLIGHT:
            self._pause()

    def _pause(self) -> None:
        if not self._in_paused:
            self._in_paused = True
            self._chan.pause_reading()

    def _resume(self) -> None:
        if self._in_paused and not self._out_paused and self._inflight < MAX_INFLIGHT // 2:
            self._in_paused = False
            self._chan.resume_reading()

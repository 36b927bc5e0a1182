"""Provides the open handles of one SFTP connection: files being read, files being written,
directories being listed.

A file being written is a `WriteHandle` of `FileIO`: its writes run side by side at their
offsets, claiming quota as they land (writes that arrive together and continue each other go
down as one positional write); their acknowledgements still leave in the order the requests
came, because OpenSSH's client only trusts an in-order prefix when it resumes an interrupted
upload. Requests that need the whole handle (close, fstat) wait for the writes in flight. The
first failed write poisons the upload: nothing of it is committed.
"""

from __future__ import annotations

import asyncio
import stat
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, cast

from bai.errors import BaiError, NotSupported
from bai.folders.fileio import WriteHandle
from bai.folders.models import VFolder
from bai.server.sftp import codec as c
from bai.storage.base import Entry, ReadHandle


@dataclass(eq=False)
class Busy:
    """What every handle shares: the requests still working on it, and its folder's last
    sign of activity (which keeps the SFTP sessions holding the folder alive)."""

    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    folder_id: uuid.UUID | None = None
    active_at: float = 0.0

    def active(self) -> bool:
        """Whether to report activity now: at most once a second per handle."""
        now = time.monotonic()
        if self.folder_id is None or now - self.active_at < 1.0:
            return False
        self.active_at = now
        return True

    def track(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def settle(self) -> None:
        """Wait until no request works on the handle any more."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


@dataclass(eq=False)
class Download(Busy):
    name: str = ""
    rel: str = "."
    handle: ReadHandle | None = None

    async def read(
        self,
        rid: int,
        offset: int,
        length: int,
        send: Callable[[bytes], None],
        failure: Callable[[int, Exception], bytes],
    ) -> None:
        assert self.handle is not None
        try:
            chunks = [chunk async for chunk in self.handle.read(offset, offset + length)]
        except Exception as e:
            send(failure(rid, e))
            return
        size = sum(len(x) for x in chunks)
        if not size:
            send(c.status(rid, c.EOF, "end of file"))
            return
        send(c.data_header(rid, size))
        for chunk in chunks:
            send(chunk)

    async def release(self) -> None:
        await self.settle()
        if self.handle is not None:
            await self.handle.close()


_BATCH = 2 << 20  # bytes of waiting writes that start a run at once
_LINGER = 0.002  # seconds a write waits for the writes that continue it
# A WRITE waiting to be written: offset, data, answer slot, done.
_Queued = tuple[int, memoryview, list[Any], "asyncio.Future[None]"]


@dataclass(eq=False)
class Upload(Busy):
    folder: VFolder | None = None
    handle: WriteHandle | None = None
    old: Entry | None = None  # what the path held when the upload opened
    keep_on_loss: bool = False  # an update (no truncation) keeps what arrived if cut off
    mode: int | None = None  # attributes to set once the file has appeared
    times: tuple[float, float] | None = None
    asked: bool = False  # the client set them (FSETSTAT), rather than kept or defaulted
    place: tuple[str, str] = ("", ".")  # (folder name, path) as the client named it
    failed: BaiError | None = None
    _claim: asyncio.Lock = field(default_factory=asyncio.Lock)
    _acks: deque[list[Any]] = field(default_factory=deque)
    _queued: list[_Queued] = field(default_factory=list)
    _queued_bytes: int = 0
    _timer: asyncio.TimerHandle | None = None
    _reply: tuple[Callable[[bytes], None], Callable[[int, BaiError | None], bytes]] | None = None

    @property
    def rel(self) -> PurePosixPath:
        assert self.handle is not None
        return self.handle.rel

    def write(
        self,
        rid: int,
        offset: int,
        data: memoryview,
        send: Callable[[bytes], None],
        answer: Callable[[int, BaiError | None], bytes],
    ) -> asyncio.Future[None]:
        """Take a WRITE: its answer's place in the order is kept now; the write itself waits
        a moment (`_LINGER`, or until `_BATCH` bytes wait) for the writes that continue it:
        a contiguous run is one positional write, so the node hands its disk thread a few
        large writes instead of many small ones. Runs that do not touch go side by side."""
        slot: list[Any] = [rid, None]
        self._acks.append(slot)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queued.append((offset, data, slot, done))
        self._queued_bytes += len(data)
        self._reply = (send, answer)
        if self._queued_bytes >= _BATCH:
            self._start_runs()
        elif self._timer is None:
            self._timer = loop.call_later(_LINGER, self._start_runs)
        return done

    def _start_runs(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._queued or self._reply is None:
            return
        send, answer = self._reply
        queued, self._queued, self._queued_bytes = self._queued, [], 0
        runs: list[list[_Queued]] = []
        for w in queued:
            last = runs[-1][-1] if runs else None
            if last is not None and last[0] + len(last[1]) == w[0]:
                runs[-1].append(w)
            else:
                runs.append([w])
        for run in runs:
            self.track(self._write_run(run, send, answer))

    async def _write_run(
        self,
        run: list[_Queued],
        send: Callable[[bytes], None],
        answer: Callable[[int, BaiError | None], bytes],
    ) -> None:
        err = self.failed
        if err is None:
            try:
                await self._write(run[0][0], [w[1] for w in run])
            except BaiError as e:
                err = self.failed = self.failed or e
        for _, _, slot, done in run:
            slot[1] = answer(slot[0], err)
            done.set_result(None)
        while self._acks and self._acks[0][1] is not None:
            send(self._acks.popleft()[1])

    async def _write(self, offset: int, parts: list[memoryview]) -> None:
        assert self.handle is not None
        end = offset + sum(len(p) for p in parts)
        # Claims one at a time: two claims racing could each extend it from the same start.
        async with self._claim:
            await self.handle.reservation.ensure(end)

        async def chunks() -> AsyncIterator[bytes]:
            for part in parts:
                yield cast(bytes, part)  # a view of the packet: written as it is, not copied

        await self.handle.write_stream(offset, chunks())

    async def settle(self) -> None:
        self._start_runs()  # whoever waits for the handle need not wait for the linger
        await super().settle()

    async def attributes(self) -> tuple[int, int, float]:
        """Mode, size and modification time, as the file would show them if closed now."""
        await self.settle()
        assert self.handle is not None
        mode = stat.S_IFREG | (self.mode if self.mode is not None else 0o644)
        return mode, await self.handle.size(), self.times[1] if self.times else time.time()

    async def set_attributes(
        self, size: int | None, mode: int | None, times: tuple[float, float] | None
    ) -> None:
        """SETSTAT of a file being written: its mode and times are set once it appears."""
        await self.settle()
        assert self.handle is not None
        if size is not None and size != await self.handle.size():
            # OpenSSH cuts an interrupted upload to its in-order prefix, which is what a
            # file being written holds already (acknowledgements go out in order).
            raise NotSupported("a file being written cannot be cut to another size")
        if mode is not None or times is not None:
            self.mode = mode if mode is not None else self.mode
            self.times = times or self.times
            self.asked = True

    async def finish(self) -> None:
        """Close: the file appears (or, after a failed write, nothing does)."""
        await self.settle()
        assert self.handle is not None
        if self.failed is not None:
            await self.handle.abort()
            raise self.failed
        await self.handle.commit()

    async def drop(self) -> None:
        """The connection was lost with the handle open."""
        await self.settle()
        assert self.handle is not None
        if self.failed is None and self.keep_on_loss:
            await self.handle.commit()
        else:
            await self.handle.abort()


@dataclass(eq=False)
class Listing(Busy):
    batches: AsyncIterator[list[Entry]] | None = None
    ready: list[Entry] = field(default_factory=list)
    done: bool = False

    async def next_batch(self, limit: int) -> list[Entry]:
        """Up to `limit` entries; an empty list at the end."""
        while not self.ready and not self.done:
            if self.batches is None:
                self.done = True
                break
            try:
                self.ready = await anext(self.batches)
            except StopAsyncIteration:
                self.done = True
        batch, self.ready = self.ready[:limit], self.ready[limit:]
        return batch

    async def release(self) -> None:
        await self.settle()
        close = getattr(self.batches, "aclose", None)
        if close is not None:
            await close()


Handle = Download | Upload | Listing

"""Provides POSIX pieces for filesystem backends: entries, full writes, and the read and
upload handles over file descriptors."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import stat as st
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from bai.errors import BaiError, IsADirectory, NotSupported, from_os_error
from bai.fsnames import wire_name
from bai.storage.base import Entry, FolderRef, ReadHandle, UploadHandle, UsageDelta

READ_CHUNK = 1 << 20
_COPY_CHUNK = 64 << 20
_WRITEBACK = 8 << 20  # an upload asks the kernel to start writing back every 8 MiB
_ALIGN = 4096  # what O_DIRECT asks of offsets, lengths and buffer addresses
_DIRECT_MIN = 1 << 20  # smaller writes are not worth a disk round trip each
_DIRECT_FLAGS = os.O_WRONLY | getattr(os, "O_DIRECT", 0) | os.O_NOFOLLOW | os.O_CLOEXEC
_SYNC_FILE_RANGE_WRITE = 2
_sync_file_range: Any = None  # Linux's sync_file_range(2); elsewhere commit's fsync does it all
with contextlib.suppress(AttributeError, OSError):
    _sync_file_range = ctypes.CDLL(None, use_errno=True).sync_file_range
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]


def kind_of(mode: int) -> str:
    if st.S_ISREG(mode):
        return "FILE"
    if st.S_ISDIR(mode):
        return "DIRECTORY"
    if st.S_ISLNK(mode):
        return "SYMLINK"
    if st.S_ISFIFO(mode):
        return "FIFO"
    if st.S_ISSOCK(mode):
        return "SOCKET"
    return "DEVICE"


def entry_of(name: str, s: os.stat_result, target: str | None = None) -> Entry:
    """An entry as the wire shows it: names that are not UTF-8 in bai's reversible spelling."""
    return Entry(
        wire_name(name),
        kind_of(s.st_mode),
        s.st_size,
        s.st_mode,
        s.st_ctime,
        s.st_mtime,
        wire_name(target) if target is not None else None,
    )


def pwrite_all(fd: int, parts: Sequence[bytes | memoryview], pos: int) -> int:
    """Write every part, in order, without joining them first (one copy fewer). Near a quota
    limit pwritev(2) may write some and return; the next call then fails with EDQUOT, which
    is what the caller must see."""
    total = sum(len(p) for p in parts)
    views = [memoryview(p) for p in parts]
    while views:
        n = os.pwritev(fd, views[:1024], pos)  # IOV_MAX
        pos += n
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if views and n:
            views[0] = views[0][n:]
    return total


def not_readable(rel: PurePosixPath, kind: str) -> BaiError:
    if kind == "DIRECTORY":
        return IsADirectory(f"{rel} is a directory; download it as an archive (zip)")
    return NotSupported(
        f"{rel} is a {kind.lower()}, not a regular file; only regular files can be read"
    )


class FdReadHandle(ReadHandle):
    """A regular file open for reading; `fd` is proven to lie inside its folder."""

    def __init__(self, fd: int, entry: Entry, ref: FolderRef, rel: PurePosixPath) -> None:
        self.fd = fd
        self.entry = entry
        self.ref = ref
        self.rel = rel

    @classmethod
    def check(cls, fd: int, ref: FolderRef, rel: PurePosixPath) -> FdReadHandle:
        """Wrap `fd` (opened O_NONBLOCK, so a FIFO never blocks the open) if it is a
        regular file; close it and refuse anything else."""
        s = os.fstat(fd)
        if not st.S_ISREG(s.st_mode):
            os.close(fd)
            raise not_readable(rel, kind_of(s.st_mode))
        os.set_blocking(fd, True)
        return cls(fd, entry_of(rel.name, s), ref, rel)

    async def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        pos = start
        while pos < end:
            try:
                chunk = await asyncio.to_thread(os.pread, self.fd, min(READ_CHUNK, end - pos), pos)
            except OSError as e:
                raise from_os_error(e, self.rel) from None
            if not chunk:
                break  # truncated under us; the client sees a short body and retries
            pos += len(chunk)
            yield chunk

    def fileno(self) -> int | None:
        return self.fd if self.fd >= 0 else None

    async def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class FdUploadHandle(UploadHandle):
    """A staged file written with positional writes; `commit` fsyncs it and renames it into
    place through `place`, which the backend supplies (it knows how to reach the target
    directory safely)."""

    def __init__(
        self, fd: int, path: Path, rel: PurePosixPath, place: Callable[[str], UsageDelta]
    ) -> None:
        self.fd = fd
        self.path = path
        self.rel = rel
        self._place = place
        self._written_back = 0  # writeback was started for the bytes before this offset
        self._dfd: int | None = None  # the same file opened for direct I/O, once needed

    async def write(self, offset: int, parts: Sequence[bytes | memoryview]) -> int:
        try:
            return await asyncio.to_thread(self._write, parts, offset)
        except OSError as e:
            raise from_os_error(e, "the upload") from None

    def _direct(self, parts: Sequence[bytes | memoryview], offset: int) -> int | None:
        """Write a large, page-aligned buffer at a page-aligned offset with O_DIRECT: the
        bytes go to the disk without a page-cache copy and without the dirty-page writeback
        that makes commit's fsync slow (here 5x slower than direct writes). The unaligned
        tail goes through the cache. None when that cannot be done here."""
        if len(parts) != 1 or offset % _ALIGN or len(parts[0]) < _DIRECT_MIN:
            return None
        view = memoryview(parts[0])
        try:
            if ctypes.addressof(ctypes.c_char.from_buffer(view)) % _ALIGN:
                return None
        except (TypeError, ValueError):
            return None  # read-only bytes: wherever Python put them
        if self._dfd is None:
            try:
                self._dfd = os.open(self.path, _DIRECT_FLAGS)
            except OSError:
                self._dfd = -1  # the filesystem has no direct I/O (tmpfs)
        if self._dfd < 0:
            return None
        body = len(view) // _ALIGN * _ALIGN
        try:
            pwrite_all(self._dfd, [view[:body]], offset)
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
            os.close(self._dfd)
            self._dfd = -1
            return None
        if body < len(view):
            pwrite_all(self.fd, [view[body:]], offset + body)
        return len(view)

    def _write(self, parts: Sequence[bytes | memoryview], offset: int) -> int:
        direct = self._direct(parts, offset)
        if direct is not None:
            return direct
        n = pwrite_all(self.fd, parts, offset)
        # Start writing back what has arrived, without waiting for it: commit's fsync then
        # finds little left (1 GiB landed in the page cache takes it most of a second).
        end, start = offset + n, self._written_back
        if _sync_file_range is not None and end - start >= _WRITEBACK:
            self._written_back = end
            _sync_file_range(self.fd, start, end - start, _SYNC_FILE_RANGE_WRITE)
        return n

    async def size(self) -> int:
        return (await asyncio.to_thread(os.fstat, self.fd)).st_size

    async def copy_from(self, src: ReadHandle) -> int:
        if not isinstance(src, FdReadHandle):
            return await super().copy_from(src)

        def work() -> int:
            pos, size = 0, src.entry.size
            while pos < size:
                # In the kernel, no user-space copy (a reflink where the filesystem can).
                n = os.copy_file_range(src.fd, self.fd, min(_COPY_CHUNK, size - pos), pos, pos)
                if n == 0:
                    break
                pos += n
            return pos

        try:
            return await asyncio.to_thread(work)
        except OSError as e:
            if e.errno in (errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
                return await super().copy_from(src)  # no in-kernel copy here: stream it
            raise from_os_error(e, src.rel) from None

    async def commit(self) -> UsageDelta:
        def work() -> UsageDelta:
            os.fsync(self.fd)  # data on disk before the name points at it
            return self._place(str(self.path))

        try:
            delta = await asyncio.to_thread(work)
        except OSError as e:
            raise from_os_error(e, self.rel) from None
        await self.close()
        return delta

    async def abort(self) -> None:
        await self.close()
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, self.path)

    async def close(self) -> None:
        if self._dfd is not None and self._dfd >= 0:
            os.close(self._dfd)
        self._dfd = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

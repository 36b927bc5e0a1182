"""Provides `TreeReader`: a folder's tree walked descriptor by descriptor, optionally with the
bytes of its small files read in the same worker-thread call.

Reading a directory of many small files one `open_read` at a time costs a path resolution
(every component checked) and a thread hop per file. Here a file is opened relative to the
descriptor of its directory, which `os.fwalk` opened without following symlinks, and with
`O_NOFOLLOW`: nothing can lead outside the folder, so no per-file resolution is needed, and
a few hundred files cost one thread hop.
"""

from __future__ import annotations

import asyncio
import os
import stat as st
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from bai.fsnames import wire_name
from bai.storage.base import Entry, FolderRef
from bai.storage.posix import entry_of

_BATCH_FILES = 256
_BATCH_BYTES = 8 << 20  # bytes read per thread call, bounding memory per batch


@dataclass(frozen=True)
class TreeItem:
    """One entry of a walk; `data` holds a small regular file's bytes, read at the moment its
    `entry` (fstat of the opened file) was taken, or None (a directory, a larger file, or
    anything else: the caller opens it itself if it wants it)."""

    path: str
    entry: Entry
    data: bytes | None = None


@runtime_checkable
class BatchTreeReader(Protocol):
    """What a volume offers when it can read many small files per call."""

    def walk_read(
        self, ref: FolderRef, rel: PurePosixPath, small: int
    ) -> AsyncIterator[list[TreeItem]]: ...


class TreeReader:
    """Mixin for filesystem volumes (needs `_open_inside` from the confined base)."""

    if TYPE_CHECKING:

        def _open_inside(self, ref: FolderRef, rel: PurePosixPath, flags: int) -> int: ...

    async def walk(self, ref: FolderRef, rel: PurePosixPath) -> AsyncIterator[tuple[str, Entry]]:
        async for batch in self.walk_read(ref, rel, -1):
            for item in batch:
                yield item.path, item.entry

    async def walk_read(
        self, ref: FolderRef, rel: PurePosixPath, small: int
    ) -> AsyncIterator[list[TreeItem]]:
        """The tree below `rel` in batches (directories before their contents, names sorted);
        regular files of at most `small` bytes come with their bytes (-1: none do)."""
        base = await asyncio.to_thread(self._open_inside, ref, rel, os.O_RDONLY | os.O_DIRECTORY)
        items = _items(base, small)
        try:
            while batch := await asyncio.to_thread(_take, items):
                yield batch
        finally:
            await asyncio.to_thread(items.close)  # closes fwalk's descriptors in order
            os.close(base)


def _take(items: Iterator[tuple[TreeItem, int]]) -> list[TreeItem]:
    out: list[TreeItem] = []
    budget = _BATCH_BYTES
    for item, cost in items:
        out.append(item)
        budget -= cost
        if len(out) >= _BATCH_FILES or budget <= 0:
            break
    return out


def _items(base: int, small: int) -> Generator[tuple[TreeItem, int], None, None]:
    # Descriptor by descriptor (os.fwalk): a directory swapped for a symlink mid-walk is
    # not followed, and one directory at a time sits in memory.
    steps = cast(
        Generator[tuple[str, list[str], list[str], int], None, None],
        os.fwalk(".", dir_fd=base, follow_symlinks=False),
    )
    try:
        for top, dirs, files, dfd in steps:
            dirs.sort()
            for name in dirs + sorted(files):
                path = wire_name(os.path.normpath(os.path.join(top, name)))
                try:
                    s = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                    target = os.readlink(name, dir_fd=dfd) if st.S_ISLNK(s.st_mode) else None
                except OSError:
                    continue  # removed or unreadable meanwhile
                if st.S_ISREG(s.st_mode) and 0 <= s.st_size <= small:
                    read = _read_small(dfd, name, small)
                    if read is None:
                        continue  # replaced or unreadable since the stat
                    fs, data = read
                    yield TreeItem(path, entry_of(name, fs), data), len(data) + 512
                else:
                    yield TreeItem(path, entry_of(name, s, target)), 512
    finally:
        steps.close()


def _read_small(dfd: int, name: str, small: int) -> tuple[os.stat_result, bytes] | None:
    # O_NONBLOCK: a FIFO swapped in since the stat must not block the open; O_NOFOLLOW: a
    # symlink swapped in is refused rather than followed out of the folder.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=dfd)
    except OSError:
        return None
    try:
        s = os.fstat(fd)
        if not st.S_ISREG(s.st_mode) or s.st_size > small:
            return None
        parts: list[bytes] = []
        left = s.st_size
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break  # truncated under us: the bytes there are, consistently sized below
            parts.append(chunk)
            left -= len(chunk)
        # A file truncated under us gives the bytes there were (the caller sizes by them).
        return s, b"".join(parts)
    except OSError:
        return None
    finally:
        os.close(fd)

"""Provides `TreeWatcher`: changes below a directory, from Linux inotify, as raw byte paths.

Why not a library: a compute session can create any name in a folder, including bytes that
are not UTF-8, and the watcher must survive it (watchfiles dies on such a name). Working in
bytes end to end, and adding watches only on real directories found without following
symlinks (`IN_DONT_FOLLOW`), also means a change is always reported under the folder it
really happened in — never through a symlink planted to point into another folder.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import logging
import os
import struct
from collections.abc import AsyncIterator, Callable

log = logging.getLogger("bai.storage")

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len
OVERFLOW = b"\0overflow"  # in a batch: events were lost, treat everything as changed

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.inotify_init1.argtypes = [ctypes.c_int]
_libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]


class TreeWatcher:
    """Watches every real directory below `root` (skipping names `skip` refuses)."""

    def __init__(self, root: bytes, skip: Callable[[bytes], bool]) -> None:
        self.root = root
        self.skip = skip
        self.fd = -1
        self.paths: dict[int, bytes] = {}
        self._full_warned = False

    def open(self) -> None:
        fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd = fd
        self.add_tree(self.root)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def add_tree(self, top: bytes) -> list[bytes]:
        """Watch `top` and the real directories below it (never through a symlink); the
        directories now watched, whose contents may have changed before their watch began."""
        stack = [top]
        added: list[bytes] = []
        while stack:
            path = stack.pop()
            if not self._add(path):
                continue
            added.append(path)
            try:
                with os.scandir(path) as it:
                    for entry in it:
                        if entry.is_dir(follow_symlinks=False) and not self.skip(entry.path):
                            stack.append(entry.path)
            except OSError:
                continue  # removed or unreadable meanwhile; its parent's events still come
        return added

    def _add(self, path: bytes) -> bool:
        wd = _libc.inotify_add_watch(self.fd, path, _MASK)
        if wd < 0:
            err = ctypes.get_errno()
            if err == errno.ENOSPC and not self._full_warned:
                self._full_warned = True
                log.warning(
                    "inotify watch limit reached under %s; raise fs.inotify.max_user_watches "
                    "(reconcile scans still correct usage)",
                    os.fsdecode(self.root),
                )
            return False
        self.paths[wd] = path
        return True

    def read(self) -> set[bytes]:
        """Paths changed since the last read (directories created are watched at once)."""
        changed: set[bytes] = set()
        while True:
            try:
                buf = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return changed
            pos = 0
            while pos + _HEADER.size <= len(buf):
                wd, mask, _, size = _HEADER.unpack_from(buf, pos)
                name = buf[pos + _HEADER.size : pos + _HEADER.size + size].rstrip(b"\0")
                pos += _HEADER.size + size
                if mask & IN_Q_OVERFLOW:
                    changed.add(OVERFLOW)
                    continue
                base = self.paths.get(wd)
                if base is None:
                    continue
                if mask & IN_IGNORED:
                    self.paths.pop(wd, None)
                    continue
                path = os.path.join(base, name) if name else base
                changed.add(path)
                if mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO) and not self.skip(path):
                    # Files may have landed below it before its watch existed: report the
                    # new directories themselves as changed.
                    changed.update(self.add_tree(path))


async def watch_tree(
    root: str, skip: Callable[[bytes], bool], stop: asyncio.Event, debounce: float = 0.2
) -> AsyncIterator[set[bytes]]:
    """Batches of changed paths (bytes) below `root` until `stop` is set."""
    watcher = TreeWatcher(os.fsencode(root), skip)
    await asyncio.to_thread(watcher.open)
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(watcher.fd, ready.set)
    try:
        while not stop.is_set():
            waiter = asyncio.ensure_future(ready.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
            if stop.is_set():
                return
            await asyncio.sleep(debounce)  # let a burst of changes arrive as one batch
            ready.clear()
            # Reading may walk new directory trees: off the event loop.
            changed = await asyncio.to_thread(watcher.read)
            if changed:
                yield changed
    finally:
        loop.remove_reader(watcher.fd)
        watcher.close()

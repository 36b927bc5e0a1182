"""Provides POSIX helpers for filesystem backends: full writes, entries, errno mapping."""

from __future__ import annotations

import errno
import os
import stat as st
from pathlib import PurePosixPath

from bai.errors import Conflict, InvalidPath, InvalidRequest, NotFound, QuotaExceeded
from bai.storage.base import Entry


def pwrite_all(fd: int, parts: list[bytes], pos: int) -> int:
    """Write every part, in order, without joining them first (one copy fewer). Near a quota
    limit pwritev(2) may write some and return; the next call then fails with EDQUOT, which
    is what the caller must see."""
    total = sum(len(p) for p in parts)
    views = [memoryview(p) for p in parts]
    while views:
        n = os.pwritev(fd, views, pos)
        pos += n
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if views and n:
            views[0] = views[0][n:]
    return total


def entry_of(name: str, s: os.stat_result, target: str | None = None) -> Entry:
    if st.S_ISLNK(s.st_mode):
        kind = "SYMLINK"
    elif st.S_ISDIR(s.st_mode):
        kind = "DIRECTORY"
    else:
        kind = "FILE"
    return Entry(name, kind, s.st_size, s.st_mode, s.st_ctime, s.st_mtime, target)


def os_error(e: OSError, rel: PurePosixPath) -> Exception:
    if e.errno == errno.ENOENT:
        return NotFound(f"no such file or directory: {rel}")
    if e.errno == errno.EEXIST:
        return Conflict(f"{rel} already exists")
    if e.errno in (errno.EDQUOT, errno.ENOSPC):
        return QuotaExceeded(f"quota exceeded while writing {rel}: {os.strerror(e.errno)}")
    if e.errno == errno.ENOTEMPTY:
        return InvalidRequest(f"directory {rel} is not empty")
    if e.errno == errno.ENOTDIR:
        return InvalidRequest(f"a component of {rel} is not a directory")
    if e.errno == errno.ENAMETOOLONG:
        return InvalidPath(f"path {rel} is too long for the filesystem")
    return e

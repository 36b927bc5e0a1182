"""Provides `PrivatePaths`: the files of an image root that only their owner may read.

The sandbox's user is the node's own user seen through a user namespace, so owner-only files
of the image root (with an image root of `/`: `/etc/shadow`, SSH host keys, private TLS keys,
other services' logs) would look like the sandbox's own. Each is covered — an empty file
over a file, an empty tmpfs over a directory — so a session reads what an unprivileged user
of that root could read, and nothing more. The walk takes seconds on a full system root, so
its result is kept per root for a while and refreshed in the background.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

REFRESH = 600.0  # seconds a walk's result is used before the next one is started


def walk_private(
    root: Path, tops: Iterable[str], skip: Iterable[Path]
) -> list[tuple[PurePosixPath, bool]]:
    """(path inside the sandbox, is a directory) of every entry that others cannot read
    (a file without o+r, a directory without o+r or o+x); nothing below such a directory."""
    skipped = {str(p) for p in skip}
    out: list[tuple[PurePosixPath, bool]] = []
    stack = [root / t for t in tops]
    while stack:
        path = stack.pop()
        if str(path) in skipped:
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        inner = PurePosixPath("/") / path.relative_to(root)
        if stat.S_ISDIR(st.st_mode):
            if st.st_mode & 0o005 != 0o005:
                out.append((inner, True))
                continue
            try:
                names = os.listdir(path)
            except OSError:
                out.append((inner, True))
                continue
            stack.extend(path / n for n in names)
        elif stat.S_ISREG(st.st_mode) and not st.st_mode & 0o004:
            out.append((inner, False))
    return sorted(out)


class PrivatePaths:
    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, list[tuple[PurePosixPath, bool]]]] = {}
        self._lock = asyncio.Lock()
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def of(
        self, root: Path, tops: list[str], skip: tuple[Path, ...]
    ) -> list[tuple[PurePosixPath, bool]]:
        key = f"{root}\0{','.join(tops)}\0{','.join(map(str, skip))}"
        hit = self._cache.get(key)
        if hit is not None:
            if time.monotonic() - hit[0] > REFRESH and key not in self._refreshing:
                # Stale: answer with it and walk again in the background (files seldom
                # change their modes; a new root would wait for its first walk below).
                self._refreshing[key] = asyncio.create_task(self._walk(key, root, tops, skip))
            return hit[1]
        async with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                await self._walk(key, root, tops, skip)
                hit = self._cache[key]
            return hit[1]

    async def _walk(self, key: str, root: Path, tops: list[str], skip: tuple[Path, ...]) -> None:
        try:
            found = await asyncio.to_thread(walk_private, root, tops, skip)
            self._cache[key] = (time.monotonic(), found)
        finally:
            self._refreshing.pop(key, None)

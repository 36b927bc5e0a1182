"""Provides the copy behind a folder clone: the source tree, file by file, through the same
write handles as every other write (so quota is claimed as bytes arrive)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from bai.folders.fileio import FileIO
from bai.folders.models import VFolder
from bai.folders.quota import Reservation
from bai.folders.repository import ref_of
from bai.storage.base import Capability, Volume

Progress = Callable[[int, int], None]


TOP = PurePosixPath(".")


async def clone_tree(
    io: FileIO,
    vol: Volume,
    src: VFolder,
    dst: VFolder,
    progress: Progress,
    claim: Reservation | None = None,
) -> None:
    """Copy `src` into the empty `dst`: directories, regular files and (where the volume has
    them) symlinks; FIFOs, sockets and devices are skipped, never opened."""
    entries = [item async for item in vol.walk(ref_of(src), TOP)]
    total = sum(e.size for _, e in entries if e.is_file)
    done = 0
    progress(0, total)
    links = vol.has(Capability.SYMLINKS)
    # Where directories exist on their own, empty ones are copied too; an object store
    # only implies directories by the keys below them, which the files bring along.
    dirs = vol.has(Capability.REAL_DIRECTORIES)
    for relpath, entry in entries:
        rel = PurePosixPath(relpath)
        if entry.is_dir:
            if dirs:
                await vol.mkdir(ref_of(dst), rel, parents=True, exist_ok=True)
        elif entry.is_file:
            done += await io.copy_file(src, rel, dst, rel, claim)
            progress(done, total)
        elif entry.type == "SYMLINK" and links and entry.symlink_target is not None:
            await vol.symlink(ref_of(dst), rel, entry.symlink_target)
    progress(total, total)

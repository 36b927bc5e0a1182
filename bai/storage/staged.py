"""Provides `StagedTree`: staged-data work for directory trees, done in few system calls.

- `put_files`: many whole small files made durable together. Each file is written to its
  own staging file, every staging file is fsynced (in parallel, so the filesystem's journal
  commits them together instead of once per file), then each is renamed into place through
  a descriptor of its parent proven inside the folder (opened once per directory, not once
  per file), and finally every parent directory touched is fsynced, so the names are
  durable too before anyone is told the files are there.
- `join_staged`: the parts of a tus concatenation appended, in the kernel
  (copy_file_range: a reflink where the filesystem has them), to the first part's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat as st
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bai.errors import BaiError, Conflict, InvalidRequest, from_os_error
from bai.fsnames import os_name
from bai.paths import is_top
from bai.storage.base import FolderRef, UsageDelta
from bai.storage.confined import ConfinedTree
from bai.storage.posix import pwrite_all

# fsync calls wait on the disk with the GIL released; several at once let the journal take
# them in one commit. A pool of its own, so they never queue behind other blocking work.
_SYNCERS = ThreadPoolExecutor(16, thread_name_prefix="bai-fsync")

Result = UsageDelta | BaiError
_COPY = 8 << 20
_NO_KERNEL_COPY = (errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS)


@dataclass
class _Dir:
    fd: int = -1
    error: BaiError | None = None
    items: list[int] = field(default_factory=list)  # indexes into the batch


def _open_dirs(tree: ConfinedTree, ref: FolderRef, rels: list[PurePosixPath]) -> dict[str, _Dir]:
    """A proven-inside descriptor of every parent directory (made where missing)."""
    dirs: dict[str, _Dir] = {}
    made: set[PurePosixPath] = set()
    for i, rel in enumerate(rels):
        key = str(rel.parent)
        d = dirs.get(key)
        if d is None:
            d = dirs[key] = _Dir()
            try:
                for n in range(1, len(rel.parts)):
                    part = PurePosixPath(*rel.parts[:n])
                    if part not in made:
                        tree._mkdir_one(ref, part, exist_ok=True)
                        made.add(part)
                d.fd = tree._open_inside(ref, rel.parent, os.O_RDONLY | os.O_DIRECTORY)
            except BaiError as e:
                d.error = e
        d.items.append(i)
    return dirs


def _stage_all(paths: list[Path], datas: list[bytes], ok: list[bool], fds: list[int]) -> None:
    """Write each staging file, its descriptor appended to `fds` (closed by the caller)."""
    for path, data, good in zip(paths, datas, ok, strict=True):
        if not good:
            fds.append(-1)
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        fds.append(fd)
        pwrite_all(fd, [data], 0)


def _place_all(
    dirs: dict[str, _Dir], rels: list[PurePosixPath], paths: list[Path], results: list[Result]
) -> None:
    for d in dirs.values():
        for i in d.items:
            if not isinstance(results[i], UsageDelta):
                continue
            name = os_name(rels[i].name)
            try:
                old = None
                with contextlib.suppress(FileNotFoundError):
                    old = os.stat(name, dir_fd=d.fd, follow_symlinks=False)
                if old is not None and st.S_ISDIR(old.st_mode):
                    raise Conflict(f"{rels[i]} is a directory; cannot overwrite it with a file")
                new_size = os.stat(paths[i]).st_size
                os.replace(paths[i], name, dst_dir_fd=d.fd)
            except OSError as e:
                results[i] = from_os_error(e, rels[i])
                continue
            except BaiError as e:
                results[i] = e
                continue
            results[i] = (
                UsageDelta(1, new_size) if old is None else UsageDelta(0, new_size - old.st_size)
            )


def _put_all(
    tree: ConfinedTree,
    ref: FolderRef,
    files: list[tuple[PurePosixPath, bytes]],
    paths: list[Path],
) -> list[Result]:
    results: list[Result] = [UsageDelta() for _ in files]
    rels = [rel for rel, _ in files]
    for i, rel in enumerate(rels):
        if is_top(rel):
            results[i] = InvalidRequest("an upload needs a file name")
    dirs = _open_dirs(tree, ref, rels)
    fds: list[int] = []
    try:
        for d in dirs.values():
            if d.error is not None:
                for i in d.items:
                    results[i] = d.error
        ok = [isinstance(r, UsageDelta) for r in results]
        try:
            _stage_all(paths, [data for _, data in files], ok, fds)
            # Data on disk before any name points at it.
            list(_SYNCERS.map(os.fsync, [fd for fd in fds if fd >= 0]))
        except OSError as e:
            err = from_os_error(e, "the upload")
            return [err if isinstance(r, UsageDelta) else r for r in results]
        _place_all(dirs, rels, paths, results)
        placed = [
            d.fd
            for d in dirs.values()
            if d.fd >= 0 and any(isinstance(results[i], UsageDelta) for i in d.items)
        ]
        try:
            # The renames are durable before the files are reported committed.
            list(_SYNCERS.map(os.fsync, placed))
        except OSError as e:
            err = from_os_error(e, "the folder")
            return [err if isinstance(r, UsageDelta) else r for r in results]
        return results
    finally:
        for fd in fds:
            if fd >= 0:
                os.close(fd)
        for d in dirs.values():
            if d.fd >= 0:
                os.close(d.fd)
        for i, path in enumerate(paths):
            if not isinstance(results[i], UsageDelta):
                with contextlib.suppress(OSError):
                    os.unlink(path)


def _join(first: Path, others: list[Path]) -> int:
    fd = os.open(first, os.O_WRONLY | os.O_CLOEXEC)
    try:
        pos = os.fstat(fd).st_size
        for path in others:
            with open(path, "rb") as src:
                size, done = os.fstat(src.fileno()).st_size, 0
                while done < size:
                    try:
                        n = os.copy_file_range(src.fileno(), fd, size - done, done, pos + done)
                    except OSError as e:
                        if e.errno not in (
                            errno.EXDEV,
                            errno.EINVAL,
                            errno.EOPNOTSUPP,
                            errno.ENOSYS,
                        ):
                            raise
                        n = os.pwrite(
                            fd, os.pread(src.fileno(), min(_COPY, size - done), done), pos + done
                        )
                    if n == 0:
                        raise OSError(errno.EIO, f"staged data {path.name} ended early")
                    done += n
                pos += size
        return pos
    finally:
        os.close(fd)


class StagedTree(ConfinedTree):
    """Mixed into directory-tree volumes (vfs, btrfs): see the module docstring."""

    async def put_files(
        self, ref: FolderRef, files: list[tuple[PurePosixPath, bytes]], keys: list[str]
    ) -> list[UsageDelta | BaiError]:
        paths = [self._stage(ref, key) for key in keys]
        # One worker-thread call for the whole group: each hop to a thread and back waits
        # for the GIL, which under load costs more than the work it carries.
        return await asyncio.to_thread(_put_all, self, ref, files, paths)

    async def join_staged(self, ref: FolderRef, first: str, others: list[str]) -> int:
        paths = [self._stage(ref, key) for key in others]
        try:
            return await asyncio.to_thread(_join, self._stage(ref, first), paths)
        except OSError as e:
            raise from_os_error(e, "the upload's parts") from None

    async def drop_staged(self, ref: FolderRef, keys: list[str]) -> None:
        def work() -> None:
            for key in keys:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._stage(ref, key))

        await asyncio.to_thread(work)

"""Provides safe unpacking of a directory's zip (what `request-download` with `archive` sends).

Every entry is checked before anything is written: an absolute path, a `..` component, a
drive letter or a NUL refuses the whole archive. Entries are written as plain files and
directories only (a symlink entry is skipped, never created), through parents proven to lie
inside the target, and keep the modification times the archive carries.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bai.client.errors import CannotCreate
from bai.errors import InvalidRequest

_COPY = 1 << 20


@dataclass(frozen=True)
class Unpacked:
    files: int
    bytes: int
    skipped: int  # symlink entries, left out


def member_path(name: str) -> PurePosixPath | None:
    """The relative path of an entry, or None for an entry that is the top itself."""
    if "\x00" in name or "\\" in name:
        raise InvalidRequest(f"the archive holds an unsafe entry name {name!r}; nothing unpacked")
    path = PurePosixPath(name)
    first = path.parts[0] if path.parts else ""
    if path.is_absolute() or ".." in path.parts or (len(first) == 2 and first[1] == ":"):
        raise InvalidRequest(
            f"the archive holds an entry outside its directory ({name!r}); nothing unpacked"
        )
    parts = [p for p in path.parts if p != "."]
    return PurePosixPath(*parts) if parts else None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _checked(root: Path, path: Path) -> Path:
    """`path` resolved, refusing one that a local symlink leads out of `root`."""
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise InvalidRequest(f"{path} leads out of {root} (a local symlink); nothing written there")
    return resolved


def _mtime(info: zipfile.ZipInfo) -> float:
    # Zip times are local wall-clock times with 2-second steps.
    return time.mktime((*info.date_time, 0, 0, -1))


def unpack(archive: Path, dest: Path) -> Unpacked:
    """Unpack `archive` into `dest` (created if missing), overwriting files already there."""
    with zipfile.ZipFile(archive) as zf:
        members = [(info, member_path(info.filename)) for info in zf.infolist()]
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        files = size = skipped = 0
        dirs: list[tuple[Path, float]] = []
        for info, rel in members:
            if rel is None:
                continue
            if _is_symlink(info):
                skipped += 1
                continue
            target = root.joinpath(*rel.parts)
            if info.is_dir():
                target = _checked(root, target)
                target.mkdir(parents=True, exist_ok=True)
                dirs.append((target, _mtime(info)))
                continue
            parent = _checked(root, target.parent)
            parent.mkdir(parents=True, exist_ok=True)
            target = parent / target.name
            if target.is_symlink():
                target.unlink()  # replace a local link, never write through it
            elif target.is_dir():
                raise CannotCreate(f"cannot write file {target}: a directory is in the way")
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out, _COPY)
            mtime = _mtime(info)
            os.utime(target, (mtime, mtime))
            files += 1
            size += info.file_size
        # Directories last, deepest first: writing their files changed their times.
        for path, mtime in sorted(dirs, key=lambda d: len(d[0].parts), reverse=True):
            os.utime(path, (mtime, mtime))
    return Unpacked(files, size, skipped)

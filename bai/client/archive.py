"""Provides safe unpacking of a directory's zip (what `request-download` with `archive` sends).

Every entry is checked before anything is written: an absolute path, a `..` component, a
drive letter or a NUL refuses the whole archive. Entries are written as plain files and
directories only (a symlink entry is skipped, never created), through parents proven to lie
inside the target, and keep the modification times the archive carries.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bai.client.errors import CannotCreate
from bai.errors import InvalidRequest

_COPY = 1 << 20
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # a zip local file header, before name and extra


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
        skipped = 0
        dirs: list[tuple[Path, float]] = []
        # Directories proven inside `root` (and made), so a tree of many small files costs
        # one check per directory rather than a path resolution per file.
        proven: dict[Path, Path] = {}

        def parent_of(target: Path) -> Path:
            parent = proven.get(target.parent)
            if parent is None:
                parent = _checked(root, target.parent)
                parent.mkdir(parents=True, exist_ok=True)
                proven[target.parent] = parent
            return parent

        src = zf.fp.fileno() if zf.fp is not None else -1
        jobs: list[tuple[zipfile.ZipInfo, Path]] = []
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
                proven[target] = target
                dirs.append((target, _mtime(info)))
                continue
            jobs.append((info, parent_of(target) / target.name))

        for info, target in jobs:
            _write_file(zf, src, info, target)
        files = len(jobs)
        size = sum(info.file_size for info, _ in jobs)
        # Directories last, deepest first: writing their files changed their times.
        for path, mtime in sorted(dirs, key=lambda d: len(d[0].parts), reverse=True):
            os.utime(path, (mtime, mtime))
    return Unpacked(files, size, skipped)


def _write_file(zf: zipfile.ZipFile, src: int, info: zipfile.ZipInfo, target: Path) -> None:
    fd = _create(target)
    try:
        if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1:
            _copy_stored(src, info, fd, target)
        else:
            with zf.open(info) as data, os.fdopen(os.dup(fd), "wb") as out:
                shutil.copyfileobj(data, out, _COPY)
        mtime = _mtime(info)
        os.utime(fd, (mtime, mtime))
    finally:
        os.close(fd)


def _create(target: Path) -> int:
    """`target` opened for writing, emptied; a local symlink there is replaced, never written
    through (O_NOFOLLOW)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(target, flags, 0o666)
    except IsADirectoryError:
        raise CannotCreate(f"cannot write file {target}: a directory is in the way") from None
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        target.unlink()
        return os.open(target, flags, 0o666)


def _copy_stored(src: int, info: zipfile.ZipInfo, fd: int, target: Path) -> None:
    """An uncompressed entry's bytes, read at their place in the archive (no per-entry file
    object) and checked against the entry's CRC."""
    header = os.pread(src, _LOCAL.size, info.header_offset)
    if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename!r}")
    fields = _LOCAL.unpack(header)
    pos = info.header_offset + _LOCAL.size + fields[-2] + fields[-1]
    end = pos + info.file_size
    crc = 0
    while pos < end:
        chunk = os.pread(src, min(_COPY, end - pos), pos)
        if not chunk:
            raise zipfile.BadZipFile(f"{info.filename!r} is cut short")
        crc = zlib.crc32(chunk, crc)
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]
        pos += len(chunk)
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"{info.filename!r} does not match its checksum ({target})")

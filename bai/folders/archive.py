"""Provides a directory of a folder as a zip stream (no temporary file, bounded memory).

Directories (empty ones too) and regular files go in with their modification times; symlinks
and special files (FIFOs, sockets, devices) are left out: a link could point anywhere, and
reading a FIFO would wait for a writer that never comes.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import PurePosixPath

from bai.errors import BaiError
from bai.storage.base import FolderRef, Volume

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the oldest time a zip entry can carry


class _Sink:
    """A write-only, unseekable file for zipfile: it then writes data descriptors."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _date_time(mtime: float) -> tuple[int, int, int, int, int, int]:
    stamp = time.localtime(mtime)[:6]
    return max(stamp, _ZIP_EPOCH)  # type: ignore[return-value]


async def zip_stream(vol: Volume, ref: FolderRef, base: PurePosixPath) -> AsyncIterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(
        sink,
        mode="w",
        compression=zipfile.ZIP_STORED,  # type: ignore[call-overload]
        allowZip64=True,
    ) as zf:
        async for relpath, entry in vol.walk(ref, base):
            if entry.is_dir:
                info = zipfile.ZipInfo(relpath + "/", _date_time(entry.modified))
                info.external_attr = ((entry.mode & 0xFFFF) << 16) | 0x10
                zf.writestr(info, b"")
            elif entry.is_file:
                try:
                    reader = await vol.open_read(ref, base / relpath)
                except BaiError:
                    continue  # replaced by something unreadable since the walk saw it
                async with reader:
                    info = zipfile.ZipInfo(relpath, _date_time(reader.entry.modified))
                    info.external_attr = (reader.entry.mode & 0xFFFF) << 16
                    with zf.open(info, "w", force_zip64=True) as out:
                        async for chunk in reader.read(0, reader.entry.size):
                            out.write(chunk)
                            yield sink.take()
            yield sink.take()
    yield sink.take()

"""Provides a directory of a folder as a zip stream (no temporary file, bounded memory).

Directories (empty ones too) and regular files go in, stored (no compression: the CPU is
better spent moving bytes), with their modification times; symlinks and special files
(FIFOs, sockets, devices) are left out: a link could point anywhere, and reading a FIFO would
wait for a writer that never comes. A volume that reads many small files per call
(`BatchTreeReader`) has its small files read and zipped a few hundred per worker-thread call;
larger files, and every file of other volumes, stream through the volume's read handles.
"""

from __future__ import annotations

import asyncio
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import PurePosixPath

from bai.errors import BaiError
from bai.storage.base import Entry, FolderRef, Volume
from bai.storage.treeread import BatchTreeReader, TreeItem

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the oldest time a zip entry can carry
_SMALL = 1 << 20  # files up to this size are read whole, in batches


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


def _info(relpath: str, entry: Entry) -> zipfile.ZipInfo:
    if entry.is_dir:
        info = zipfile.ZipInfo(relpath + "/", _date_time(entry.modified))
        info.external_attr = ((entry.mode & 0xFFFF) << 16) | 0x10
    else:
        info = zipfile.ZipInfo(relpath, _date_time(entry.modified))
        info.external_attr = (entry.mode & 0xFFFF) << 16
    return info


def _add_batch(zf: zipfile.ZipFile, sink: _Sink, batch: list[TreeItem]) -> tuple[bytes, int]:
    """Zip the leading items that need no read handle; returns the bytes and how many."""
    for n, item in enumerate(batch):
        if item.entry.is_dir:
            zf.writestr(_info(item.path, item.entry), b"")
        elif item.data is not None:
            zf.writestr(_info(item.path, item.entry), item.data)
        elif item.entry.is_file:
            return sink.take(), n
    return sink.take(), len(batch)


async def _add_streamed(
    zf: zipfile.ZipFile, sink: _Sink, vol: Volume, ref: FolderRef, rel: PurePosixPath, path: str
) -> AsyncIterator[bytes]:
    try:
        reader = await vol.open_read(ref, rel)
    except BaiError:
        return  # replaced by something unreadable since the walk saw it
    async with reader:
        info = _info(path, reader.entry)
        with zf.open(info, "w", force_zip64=True) as out:
            async for chunk in reader.read(0, reader.entry.size):
                out.write(chunk)
                yield sink.take()
    yield sink.take()


async def zip_stream(vol: Volume, ref: FolderRef, base: PurePosixPath) -> AsyncIterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(
        sink,
        mode="w",
        compression=zipfile.ZIP_STORED,  # type: ignore[call-overload]
        allowZip64=True,
    ) as zf:
        if isinstance(vol, BatchTreeReader):
            async for batch in vol.walk_read(ref, base, _SMALL):
                while batch:
                    data, n = await asyncio.to_thread(_add_batch, zf, sink, batch)
                    if data:
                        yield data
                    if n < len(batch):  # a file too large to read whole: streamed
                        big = batch[n]
                        async for data in _add_streamed(
                            zf, sink, vol, ref, base / big.path, big.path
                        ):
                            yield data
                        n += 1
                    batch = batch[n:]
        else:
            async for relpath, entry in vol.walk(ref, base):
                if entry.is_dir:
                    zf.writestr(_info(relpath, entry), b"")
                elif entry.is_file:
                    async for data in _add_streamed(zf, sink, vol, ref, base / relpath, relpath):
                        yield data
                yield sink.take()
    yield sink.take()

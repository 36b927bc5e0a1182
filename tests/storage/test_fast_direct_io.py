"""Uploads written with direct I/O land byte-exact: aligned buffers at aligned offsets go
past the page cache, an unaligned tail, offset or read-only buffer through it."""

from __future__ import annotations

import mmap
import os
from pathlib import Path, PurePosixPath

from bai.storage.base import UsageDelta
from bai.storage.posix import FdUploadHandle

MIB = 1 << 20


def _aligned(data: bytes) -> mmap.mmap:
    buf = mmap.mmap(-1, len(data))
    buf[:] = data
    return buf


async def test_direct_and_buffered_writes_mix_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "staged"
    handle = FdUploadHandle(
        os.open(path, os.O_RDWR | os.O_CREAT), path, PurePosixPath("f"), lambda _: UsageDelta()
    )
    first = os.urandom(4 * MIB)
    second = os.urandom(2 * MIB + 123)  # an unaligned tail
    third = os.urandom(3 * MIB)  # now at an unaligned offset: through the cache
    fourth = os.urandom(MIB + 5)  # read-only bytes: through the cache
    try:
        pos = 0
        for part in (_aligned(first), _aligned(second), _aligned(third)):
            pos += await handle.write(pos, [memoryview(part)])
        pos += await handle.write(pos, [fourth])
        direct = handle._dfd
        assert await handle.size() == pos
    finally:
        await handle.close()
    assert path.read_bytes() == first + second + third + fourth
    # Where the filesystem has direct I/O, it was used (tmpfs has none: -1, then cached).
    assert direct is not None
    assert (direct >= 0) == _has_direct_io(tmp_path)


def _has_direct_io(where: Path) -> bool:
    try:
        os.close(os.open(where / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT))
    except OSError:
        return False
    return True

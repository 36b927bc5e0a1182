"""Helpers of the storage contract suite: capability marks, folders, small file I/O."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

import pytest

from bai.paths import clean_relpath
from bai.storage.base import Capability, FolderRef, Volume


def requires(cap: Capability) -> pytest.MarkDecorator:
    return pytest.mark.requires(cap)


async def new_ref(volume: Volume, scope_hex: str | None = None) -> FolderRef:
    scope_hex = scope_hex or uuid.uuid4().hex
    fid = uuid.uuid4()
    r = FolderRef(scope_hex, fid, volume.locate(scope_hex, fid))
    await volume.ensure_scope(r.scope_hex, 0)
    await volume.create_folder(r)
    return r


def P(s: str) -> PurePosixPath:
    return clean_relpath(s)


async def put(volume: Volume, ref: FolderRef, path: str, data: bytes) -> None:
    up = await volume.open_upload(ref, uuid.uuid4().hex, P(path))
    assert await up.write(0, [data]) == len(data)
    await up.commit()


async def read_range(volume: Volume, ref: FolderRef, path: str, start: int, end: int) -> bytes:
    async with await volume.open_read(ref, P(path)) as h:
        return b"".join([c async for c in h.read(start, end)])


async def read_all(volume: Volume, ref: FolderRef, path: str) -> bytes:
    e = await volume.stat(ref, P(path), follow=True)
    return await read_range(volume, ref, path, 0, e.size)


async def names(volume: Volume, ref: FolderRef, path: str = ".") -> set[str]:
    return {e.name async for batch in volume.list_dir(ref, P(path)) for e in batch}

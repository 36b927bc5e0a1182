"""Provides tus concatenation: uploads made of parts sent in parallel, joined at the end.

A partial upload is an ordinary pending upload (a row in `uploads`, staged data, a quota
claim of its declared size) whose id starts with `p`: it never commits by itself, so a part
is never visible, and an abandoned part expires with the other pending uploads. Joining
appends every part's data to the first part's (in the kernel where the storage can), then,
in one transaction, turns the first part's row and claim into those of the whole file (the
claims of the parts add up to its size: nothing is claimed twice, nothing goes unclaimed),
and commits it as any upload commits: durable, then visible at once.
"""

from __future__ import annotations

import secrets
from pathlib import PurePosixPath

import sqlalchemy as sa

from bai.db import tables as t
from bai.errors import Conflict, InvalidRequest
from bai.folders.fileio import FileIO
from bai.folders.models import VFolder
from bai.folders.repository import ref_of

PARTIAL = "p"
MAX_PARTS = 256


def partial_id() -> str:
    return PARTIAL + secrets.token_hex(16)


def is_partial(upload_id: str) -> bool:
    return upload_id.startswith(PARTIAL)


async def join(io: FileIO, folder: VFolder, rel: PurePosixPath, parts: list[str]) -> int:
    """Make the complete partial uploads `parts` (in this order) the file `rel`; its size."""
    if not parts or len(parts) > MAX_PARTS:
        raise InvalidRequest(f"a final upload joins 1 to {MAX_PARTS} partial uploads")
    if len(set(parts)) != len(parts):
        raise InvalidRequest("a final upload names the same partial upload twice")
    total = 0
    for upload_id in parts:
        if not is_partial(upload_id):
            raise InvalidRequest("a final upload can only join partial uploads")
        folder_id, _, size = await io.pending(upload_id)
        if folder_id != folder.id:
            raise InvalidRequest("a final upload joins partial uploads of its own folder only")
        have = await io.staged(folder, upload_id)
        if have != size:
            raise Conflict(
                f"partial upload {upload_id} has {have} of its {size} bytes; finish it first",
                data={"offset": have},
            )
        total += size
    await io.check_target(folder, rel)
    first, others = parts[0], parts[1:]
    vol = io.hosts.volume(folder.host)
    if others:
        joined = await vol.join_staged(ref_of(folder), first, others)
        if joined != total:
            raise Conflict(f"the parts were changed while they were joined ({joined} bytes)")
    r = t.quota_reservations
    async with io.engine.begin() as conn:
        claimed = await conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(r.c.bytes), 0)).where(r.c.id.in_(parts))
        )
        await conn.execute(r.delete().where(r.c.id.in_(others)))
        await conn.execute(r.update().where(r.c.id == first).values(bytes=int(claimed or 0)))
        await conn.execute(t.uploads.delete().where(t.uploads.c.id.in_(others)))
        await conn.execute(
            t.uploads.update().where(t.uploads.c.id == first).values(size=total, path=str(rel))
        )
    await vol.drop_staged(ref_of(folder), others)
    handle = await io.open_write(folder, rel, first, declared=total)
    try:
        await handle.commit()
    finally:
        await handle.close()
    return total

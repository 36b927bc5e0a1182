"""Provides moves and deletes of bucket folders: server-side copies, batched removals.

S3 cannot rename. A file moves as one server-side copy and one delete; a directory as a copy
of every object under it, then a delete of the originals. If the copy fails part-way, the
copies made so far are removed and the source is untouched; if removing the originals fails
part-way, the target is whole and the error says how much of the source is still there.
Either way the error says what is where.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from minio.deleteobjects import DeleteObject

from bai.errors import BaiError, ServiceUnavailable
from bai.storage.base import Entry, Progress, UsageDelta
from bai.storage.s3client import call
from bai.storage.s3objects import BATCH, Place, batches, server_copy


async def remove_keys(p: Place, keys: list[str]) -> None:
    """Delete keys, up to 1000 per request (S3's limit)."""
    for i in range(0, len(keys), BATCH):
        chunk = keys[i : i + BATCH]
        errors = await call("the deletion", _remove, p, chunk)
        if errors:
            raise ServiceUnavailable(
                f"the S3 service did not delete {len(errors)} of {len(chunk)} objects "
                f"({errors[0]}); try again"
            )


def _remove(p: Place, keys: list[str]) -> list[str]:
    failed = p.s3.remove_objects(p.bucket, [DeleteObject(k) for k in keys])
    return [f"{e.code}" for e in failed]


async def copy_object(p: Place, src_key: str, dst_key: str, size: int) -> None:
    await server_copy(p.s3, (p.bucket, src_key), (p.bucket, dst_key), size, "the copy")


async def copy_tree(
    p: Place,
    src: PurePosixPath,
    dst: PurePosixPath,
    s: Entry,
    replaced: Entry | None,
    progress: Progress | None = None,
) -> UsageDelta:
    """Move `src` to `dst` (a file, or a directory with everything under it). `replaced` is
    a file at `dst` that the move overwrites (its bytes leave the folder's usage)."""
    delta = UsageDelta(-1, -replaced.size) if replaced is not None else UsageDelta()
    if not s.is_dir:
        await copy_object(p, p.key(src), p.key(dst), s.size)
        await remove_keys(p, [p.key(src)])
        return delta
    src_dir, dst_dir = p.dir_key(src), p.dir_key(dst)
    copied: list[str] = []
    originals: list[tuple[str, int]] = []
    listing = p.s3.list_objects(p.bucket, prefix=src_dir, recursive=True)
    async for batch in batches(listing):  # the whole list first: progress knows its total
        originals += [(o.object_name, int(o.size or 0)) for o in batch]
    try:
        for i, (key, size) in enumerate(originals):
            target = dst_dir + key[len(src_dir) :]
            await copy_object(p, key, target, size)
            copied.append(target)
            if progress is not None:
                progress(i + 1, len(originals))
    except BaiError as e:
        try:
            await remove_keys(p, copied)
        except BaiError:
            raise ServiceUnavailable(
                f"moving {src} to {dst} failed ({e.msg}); {src} is unchanged, but "
                f"{len(copied)} copied objects under {dst} could not be removed"
            ) from None
        raise ServiceUnavailable(
            f"moving {src} to {dst} failed after copying {len(copied)} objects ({e.msg}); "
            f"the copies were removed and {src} is unchanged"
        ) from None
    try:
        await remove_keys(p, [key for key, _ in originals] + [src_dir])
    except BaiError as e:
        raise ServiceUnavailable(
            f"{src} was copied whole to {dst}, but removing the original failed ({e.msg}); "
            f"delete what is left under {src}"
        ) from None
    return delta

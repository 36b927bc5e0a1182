"""Provides the object-level pieces of bucket folders: locations, keys, listings, reads.

A folder is a bucket or a prefix of one. Its files are objects under that prefix; its
directories are common prefixes, and an empty directory is a zero-byte marker object whose
key ends in "/" (what the S3 consoles and s3fs make too). Keys written by other tools may
hold names no file system has ("", ".", ".."): listings leave those out, so no such key can
name something outside its folder.
"""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import PurePosixPath
from typing import Any

from minio import Minio
from minio.commonconfig import ComposeSource, CopySource
from minio.error import S3Error

from bai.errors import InvalidPath, InvalidRequest
from bai.storage.base import Entry, FolderRef, ReadHandle
from bai.storage.s3client import call
from bai.storage.s3stream import prefetched

BATCH = 1000  # S3 lists and deletes at most 1000 keys per request
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_RE = re.compile(r"^(?:[^/\x00]+/)*$")
_READ_CHUNK = 4 << 20  # fewer thread hops per GiB streamed
_SMALL_READ = 1 << 20  # reads up to this size go through the read-ahead window
_WINDOW = 8 << 20


def valid_bucket(name: str) -> bool:
    return bool(_BUCKET_RE.match(name)) and ".." not in name


def valid_prefix(prefix: str) -> bool:
    """ "" or "a/b/": no empty, "." or ".." component, so a prefix names one place only."""
    if not _PREFIX_RE.match(prefix):
        return False
    return all(part not in (".", "..") for part in prefix.split("/")[:-1])


def split_import(spec: str) -> tuple[str, str]:
    """`BUCKET[/PREFIX]` (as `bai admin vfolder import` takes it) as (bucket, "prefix/")."""
    bucket, _, prefix = spec.strip().strip("/").partition("/")
    prefix = prefix.strip("/")
    prefix = prefix + "/" if prefix else ""
    if not valid_bucket(bucket):
        raise InvalidRequest(
            f"{bucket!r} is not a bucket name (3-63 lower-case letters, digits, '.' and '-')"
        )
    if not valid_prefix(prefix):
        raise InvalidRequest(f"{prefix!r} is not a usable prefix (no empty, '.' or '..' parts)")
    return bucket, prefix


@dataclass(frozen=True)
class Place:
    """Where a folder's objects are: a client (endpoint and credentials), bucket, prefix."""

    s3: Minio
    bucket: str
    prefix: str  # "" or "dir/sub/"
    read_only: bool
    imported: bool

    def key(self, rel: PurePosixPath) -> str:
        return self.prefix if rel == PurePosixPath(".") else self.prefix + str(rel)

    def dir_key(self, rel: PurePosixPath) -> str:
        return self.prefix if rel == PurePosixPath(".") else self.prefix + str(rel) + "/"


def own_location(
    location: str, scope_hex: str, folder_id: uuid.UUID, bucket_prefix: str
) -> tuple[str, str]:
    """(bucket, prefix) of a folder the node made, trusted only in the exact shapes `locate`
    gives: `{bucket_prefix}{id}/` (a bucket of its own) or `{bucket}/{prefix}{scope}/{id}/`."""
    bucket, _, prefix = location.partition("/")
    if bucket == f"{bucket_prefix}{folder_id.hex}" and prefix == "" and valid_bucket(bucket):
        return bucket, ""
    tail = f"{scope_hex}/{folder_id.hex}/"
    if valid_bucket(bucket) and prefix.endswith(tail) and valid_prefix(prefix):
        return bucket, prefix
    raise InvalidPath("the folder's location is not one this storage host made")


def entry_name(raw: str) -> str | None:
    """A listed key's last part as a name, or None for names no folder can hold."""
    name = raw.rstrip("/")
    if name in ("", ".", "..") or "/" in name or "\x00" in name:
        return None
    return name


def object_entry(name: str, obj: Any) -> Entry:
    ts = obj.last_modified.timestamp() if obj.last_modified else 0.0
    if obj.is_dir or obj.object_name.endswith("/"):
        return Entry(name, "DIRECTORY", 0, 0o40755, ts, ts)
    return Entry(name, "FILE", int(obj.size or 0), 0o100644, ts, ts)


async def batches(it: Iterator[Any], size: int = BATCH) -> AsyncIterator[list[Any]]:
    """Pull a blocking iterator (minio's paged listings) in a worker thread, a batch at a
    time, so the event loop never waits on S3."""
    while True:
        batch = await call("the listing", lambda: list(islice(it, size)))
        if not batch:
            return
        yield batch


class S3ReadHandle(ReadHandle):
    """An object of a folder, read in ranges as a stream (never whole into memory). Small
    reads (SFTP asks 32-256 KiB at a time, many in flight) are served from a read-ahead
    window, so a sequential reader costs one S3 request per window, not one per read."""

    def __init__(self, place: Place, key: str, entry: Entry, ref: FolderRef, rel: PurePosixPath):
        self.place = place
        self.key = key
        self.entry = entry
        self.ref = ref
        self.rel = rel
        self._window = (0, b"")  # (offset, bytes) of the last read-ahead
        self._lock = asyncio.Lock()

    def s3_object(self) -> tuple[Minio, str, str]:
        """(client, bucket, key): lets an upload on the same service copy it server-side."""
        return self.place.s3, self.place.bucket, self.key

    async def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        end = min(end, self.entry.size)  # S3 refuses a range past the end: that is EOF here
        if end <= start:
            return
        if end - start <= _SMALL_READ:
            yield await self._small(start, end)
            return
        async for chunk in self._stream(start, end):
            yield chunk

    async def _small(self, start: int, end: int) -> bytes:
        async with self._lock:
            at, data = self._window
            if not (at <= start and end <= at + len(data)):
                wend = min(self.entry.size, start + _WINDOW)
                data = b"".join([c async for c in self._stream(start, wend)])
                self._window = at, data = start, data
            return data[start - at : end - at]

    async def _stream(self, start: int, end: int) -> AsyncIterator[bytes]:
        resp = await call(
            str(self.rel),
            self.place.s3.get_object,
            self.place.bucket,
            self.key,
            offset=start,
            length=end - start,
        )
        async for chunk in prefetched(resp, _READ_CHUNK, str(self.rel), _release):
            yield chunk

    async def close(self) -> None:
        self._window = (0, b"")


_SINGLE_COPY_LIMIT = 5 << 30  # S3 copies one object up to 5 GiB in one request


async def server_copy(
    s3: Minio, src: tuple[str, str], dst: tuple[str, str], size: int, what: str
) -> None:
    """Copy object `src` (bucket, key) to `dst` inside the S3 service, no byte through the
    node; past 5 GiB composing copies it in parts."""
    if size <= _SINGLE_COPY_LIMIT:
        await call(what, s3.copy_object, dst[0], dst[1], CopySource(*src))
    else:
        await call(what, s3.compose_object, dst[0], dst[1], [ComposeSource(*src)])


def _release(resp: Any) -> None:
    resp.close()
    resp.release_conn()


def head_object(s3: Minio, bucket: str, key: str) -> object | None:
    if not key or key.endswith("/"):
        return None
    try:
        return s3.stat_object(bucket, key)
    except S3Error as e:
        if e.code in ("NoSuchKey", "NotFound", "NoSuchObject"):
            return None
        raise


def first_key(s3: Minio, bucket: str, prefix: str) -> float | None:
    """The modification time of some object under `prefix` (None: nothing there)."""
    for o in s3.list_objects(bucket, prefix=prefix, recursive=True):
        return o.last_modified.timestamp() if o.last_modified else 0.0
    return None


def has_children(s3: Minio, bucket: str, prefix: str) -> bool:
    first_two = islice(s3.list_objects(bucket, prefix=prefix, recursive=True), 2)
    return any(o.object_name != prefix for o in first_two)


def put_marker(s3: Minio, bucket: str, key: str) -> None:
    s3.put_object(bucket, key, io.BytesIO(b""), 0)

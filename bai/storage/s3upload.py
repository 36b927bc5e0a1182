"""Provides `MultipartUpload`: a file written into a bucket folder, streamed as S3 parts.

Bytes are spooled per part into small local files (a write may come at any offset: tus
appends, SFTP clients write out of order). A part is sent as soon as it is whole, so a large
upload streams into its multipart upload as it arrives and the node holds at most a few parts
at a time; `commit` sends what is left and completes the multipart upload, which makes the
object appear at its key in one step (a file smaller than one part is a single PUT). The
upload's state — its S3 upload id and the parts sent — is kept next to the spool, so after a
restart the upload continues where the durable bytes end. `abort` aborts the multipart upload
at S3, so no parts linger there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from minio import Minio
from minio.datatypes import Part
from minio.error import S3Error

from bai.errors import Forbidden, InvalidRequest, NotFound, ServiceUnavailable
from bai.storage.base import ReadHandle, UploadHandle, UsageDelta
from bai.storage.s3client import call
from bai.storage.s3objects import server_copy

log = logging.getLogger("bai.storage")
MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload
_IN_FLIGHT = 4  # parts being sent at once; writers wait beyond that (memory stays bounded)
_STATE = "state.json"


def _part_name(n: int) -> str:
    return f"part-{n:05d}"


class _Covered:
    """Byte ranges of one part written so far (merged), to know when the part is whole."""

    def __init__(self, ranges: list[tuple[int, int]] | None = None) -> None:
        self.ranges = ranges or []

    def add(self, start: int, end: int) -> None:
        merged: list[tuple[int, int]] = []
        for s, e in sorted([*self.ranges, (start, end)]):
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self.ranges = merged

    def whole(self, size: int) -> bool:
        return self.ranges == [(0, size)]

    @property
    def end(self) -> int:
        return self.ranges[-1][1] if self.ranges else 0


class MultipartUpload(UploadHandle):
    def __init__(
        self,
        s3: Minio,
        bucket: str,
        key: str,
        rel: PurePosixPath,
        spool: Path,
        part_size: int,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.rel = rel
        self.spool = spool
        self.part_size = part_size
        self.upload_id: str | None = None  # S3's, made when the first part is sent
        self.sent: dict[int, tuple[str, int]] = {}  # part number -> (etag, size)
        self.covered: dict[int, _Covered] = {}
        self._fds: dict[int, int] = {}
        self._sending: dict[int, asyncio.Task[None]] = {}
        self._copy: tuple[str, str, int] | None = None  # server-side copy (bucket, key, size)
        self._done = False
        self._create_lock = asyncio.Lock()

    # ---- state on disk ------------------------------------------------------------------
    @classmethod
    def load(
        cls, s3: Minio, bucket: str, key: str, rel: PurePosixPath, spool: Path, part_size: int
    ) -> MultipartUpload:
        """Open the upload spooled at `spool` (a new one when nothing is there)."""
        state = read_state(spool)
        if state is not None and (state["bucket"], state["key"]) != (bucket, key):
            raise InvalidRequest("this upload belongs to another file; request a new upload")
        up = cls(s3, bucket, key, rel, spool, part_size)
        if state is None:
            spool.mkdir(parents=True, exist_ok=True)
            up._save()
            return up
        up.part_size = int(state["part_size"])
        up.upload_id = state.get("upload_id")
        up.sent = {int(n): (e, int(s)) for n, (e, s) in state.get("sent", {}).items()}
        for f in spool.glob("part-*"):
            n = int(f.name[5:])
            up.covered[n] = _Covered([(0, f.stat().st_size)] if f.stat().st_size else [])
        return up

    def _save(self) -> None:
        state = {
            "bucket": self.bucket,
            "key": self.key,
            "part_size": self.part_size,
            "upload_id": self.upload_id,
            "sent": {str(n): list(v) for n, v in self.sent.items()},
        }
        tmp = self.spool / (_STATE + ".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.spool / _STATE)

    # ---- writing ------------------------------------------------------------------------
    def _fd(self, n: int) -> int:
        fd = self._fds.get(n)
        if fd is None:
            fd = os.open(self.spool / _part_name(n), os.O_RDWR | os.O_CREAT, 0o600)
            self._fds[n] = fd
        return fd

    async def write(self, offset: int, parts: Sequence[bytes | memoryview]) -> int:
        if self._done:
            raise InvalidRequest("this upload is finished; request a new one")
        total = 0
        pos = offset
        for chunk in parts:
            view = memoryview(chunk).cast("B")
            while view:
                n = pos // self.part_size + 1
                if n > MAX_PARTS:
                    raise InvalidRequest(
                        f"a file this large needs parts bigger than {self.part_size >> 20} MiB "
                        "(the storage host's part-size option)"
                    )
                if n in self.sent:
                    raise InvalidRequest(
                        f"bytes from {pos} were already sent to the object store and cannot "
                        "be written again; upload the file anew"
                    )
                inner = pos - (n - 1) * self.part_size
                take = min(len(view), self.part_size - inner)
                await asyncio.to_thread(os.pwrite, self._fd(n), view[:take], inner)
                self.covered.setdefault(n, _Covered()).add(inner, inner + take)
                view = view[take:]
                pos += take
                total += take
                if self.covered[n].whole(self.part_size):
                    await self._send_soon(n)
        return total

    async def _send_soon(self, n: int) -> None:
        while len(self._sending) >= _IN_FLIGHT:
            await asyncio.wait(list(self._sending.values()), return_when=asyncio.FIRST_COMPLETED)
            self._reap()
        self._sending[n] = asyncio.create_task(self._send(n))

    def _reap(self) -> None:
        for n, task in list(self._sending.items()):
            if task.done():
                del self._sending[n]
                task.result()  # a failed part fails the write that follows

    async def _ensure_upload(self) -> str:
        async with self._create_lock:  # parts sent at once must share one multipart upload
            return await self._create_once()

    async def _create_once(self) -> str:
        if self.upload_id is None:
            self.upload_id = await call(
                str(self.rel),
                self.s3._create_multipart_upload,
                self.bucket,
                self.key,
                {"Content-Type": "application/octet-stream"},
            )
            self._save()
        return self.upload_id

    async def _send(self, n: int, size: int | None = None) -> None:
        upload_id = await self._ensure_upload()
        path = self.spool / _part_name(n)
        data = await asyncio.to_thread(_read_padded, path, size or self.part_size)
        etag = await call(
            str(self.rel), self.s3._upload_part, self.bucket, self.key, data, None, upload_id, n
        )
        self.sent[n] = (etag, len(data))
        self._save()
        fd = self._fds.pop(n, None)
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.covered.pop(n, None)

    async def _drain(self) -> None:
        if self._sending:
            await asyncio.gather(*self._sending.values(), return_exceptions=True)
            tasks, self._sending = self._sending, {}
            for task in tasks.values():
                task.result()

    async def size(self) -> int:
        if self._copy is not None:
            return self._copy[2]
        ends = [(n - 1) * self.part_size + s for n, (_, s) in self.sent.items()]
        ends += [(n - 1) * self.part_size + c.end for n, c in self.covered.items() if c.end]
        return max(ends, default=0)

    async def copy_from(self, src: ReadHandle) -> int:
        """A file of another bucket folder on the same service is copied by the service
        itself at commit (no bytes through the node)."""
        where = getattr(src, "s3_object", None)
        if where is None or self.sent or self.covered or not callable(where):
            return await super().copy_from(src)
        s3, bucket, key = where()
        if s3 is not self.s3:  # another endpoint or other credentials: stream it
            return await super().copy_from(src)
        self._copy = (bucket, key, src.entry.size)
        return src.entry.size

    # ---- the end ------------------------------------------------------------------------
    async def commit(self) -> UsageDelta:
        size = await self.size()
        old_size = await call(str(self.rel), _size_of, self.s3, self.bucket, self.key)
        if self._copy is not None:
            await self._server_copy(*self._copy)
        elif self.upload_id is None and not self.sent and size <= self.part_size:
            data = await asyncio.to_thread(_read_padded, self.spool / _part_name(1), size)
            await call(str(self.rel), _put, self.s3, self.bucket, self.key, data)
        else:
            await self._drain()
            last = (size - 1) // self.part_size + 1 if size else 1
            for n in range(1, last + 1):
                if n not in self.sent:
                    length = self.part_size if n < last else size - (n - 1) * self.part_size
                    await self._send(n, length)
            parts = [Part(n, self.sent[n][0]) for n in range(1, last + 1)]
            assert self.upload_id is not None
            await call(
                str(self.rel),
                self.s3._complete_multipart_upload,
                self.bucket,
                self.key,
                self.upload_id,
                parts,
            )
        self._finish()
        if old_size is None:
            return UsageDelta(1, size)
        return UsageDelta(0, size - old_size)

    async def _server_copy(self, bucket: str, key: str, size: int) -> None:
        await server_copy(self.s3, (bucket, key), (self.bucket, self.key), size, str(self.rel))

    async def abort(self) -> None:
        for task in self._sending.values():
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*self._sending.values(), return_exceptions=True)
        self._sending = {}
        if self.upload_id is not None:
            with contextlib.suppress(Exception):  # gone already is fine; the sweep retries
                await call(
                    str(self.rel),
                    self.s3._abort_multipart_upload,
                    self.bucket,
                    self.key,
                    self.upload_id,
                )
        self._finish()

    def _finish(self) -> None:
        self._done = True
        self._close_fds()
        shutil.rmtree(self.spool, ignore_errors=True)

    def _close_fds(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}

    async def close(self) -> None:
        """Send what is whole, keep the rest spooled: the upload continues on reopening."""
        try:
            await self._drain()
        finally:
            self._close_fds()


def _read_padded(path: Path, size: int) -> bytes:
    """A spooled part, zero-filled to `size` (holes a writer skipped read as zeros, as in a
    sparse file)."""
    try:
        with open(path, "rb") as f:
            data = f.read(size)
    except FileNotFoundError:
        data = b""
    return data + bytes(size - len(data)) if len(data) < size else data


def _size_of(s3: Minio, bucket: str, key: str) -> int | None:
    """The size of the object at `key`, None when there is none."""
    try:
        return int(s3.stat_object(bucket, key).size or 0)
    except S3Error as e:
        if e.code in ("NoSuchKey", "NotFound", "NoSuchObject"):
            return None
        raise


def _put(s3: Minio, bucket: str, key: str, data: bytes) -> Any:
    import io

    return s3.put_object(bucket, key, io.BytesIO(data), len(data))


def read_state(spool: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((spool / _STATE).read_text())
        return state
    except (FileNotFoundError, ValueError):
        return None


def staged_bytes(spool: Path) -> int:
    """Bytes an upload holds (parts sent plus spooled), from local state only."""
    state = read_state(spool)
    total = sum(int(s) for _, s in (state or {}).get("sent", {}).values())
    with contextlib.suppress(FileNotFoundError):
        total += sum(f.stat().st_size for f in spool.glob("part-*"))
    return total


async def sweep_spools(root: Path, keep: set[str], s3: Minio) -> int:
    """Drop every upload spooled under `root` whose id is not in `keep`, aborting its
    multipart upload first (parts held at S3 are what costs money). An upload S3 cannot be
    reached for stays for the next sweep; one made with a bucket's own credentials, which
    the volume's keys cannot abort, is left to the bucket's lifecycle rules."""
    removed = 0
    for spool in await asyncio.to_thread(lambda: list(root.iterdir())):
        if spool.name in keep:
            continue
        state = read_state(spool)
        if state and state.get("upload_id"):
            try:
                await call(
                    "an abandoned upload",
                    s3._abort_multipart_upload,
                    state["bucket"],
                    state["key"],
                    state["upload_id"],
                )
            except ServiceUnavailable:
                continue
            except (NotFound, Forbidden) as e:
                log.info("abandoned upload %s: %s", spool.name, e.msg)
        await asyncio.to_thread(shutil.rmtree, spool, True)
        removed += 1
    return removed

"""Provides `MinioVolume`: folders as S3 buckets or bucket prefixes (seed 002's design).

A new folder gets a bucket of its own (`bai-{id}`), or, with the `bucket` option, the prefix
`{prefix}{scope}/{id}/` of one shared bucket. An existing bucket or prefix can be imported as
a folder without copying (`BucketSource` on the folder's row); the node never deletes the
data of an imported folder, and a read-only one refuses every write. S3 has no rename and no
quota: a move is a server-side copy and a delete, and the node counts every byte it writes
(the core's reservations), with a paged reconcile listing (`scan_usage`) for writers outside
the node. Sessions see a folder through a reference-counted s3fs mount.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path, PurePosixPath

from minio import Minio

from bai.config import VolumeConfig
from bai.errors import (
    ConfigError,
    Conflict,
    InvalidRequest,
    IsADirectory,
    NotADirectory,
    NotEmpty,
    NotFound,
    ReadOnly,
    ServiceUnavailable,
)
from bai.paths import is_top
from bai.storage.base import (
    BucketSource,
    Capability,
    Capacity,
    Entry,
    FolderRef,
    Progress,
    ReadHandle,
    ScanResult,
    UploadHandle,
    UsageDelta,
    Volume,
)
from bai.storage.s3client import Endpoint, call, volume_endpoint
from bai.storage.s3mounts import MountKey, MountOptions, S3fsMounts, secret_digest
from bai.storage.s3moves import copy_tree, remove_keys
from bai.storage.s3objects import (
    Place,
    S3ReadHandle,
    batches,
    entry_name,
    first_key,
    has_children,
    head_object,
    object_entry,
    own_location,
    put_marker,
    valid_bucket,
    valid_prefix,
)
from bai.storage.s3upload import MultipartUpload, staged_bytes, sweep_spools

log = logging.getLogger("bai.storage")


class MinioVolume(Volume):
    backend = "minio"
    # Empty directories persist as marker objects; no atomic rename, no symlinks, no
    # in-place writes, no change events: those come from the reconcile listing.
    capabilities = Capability.REAL_DIRECTORIES | Capability.FUSE_MOUNT

    def __init__(self, config: VolumeConfig) -> None:
        super().__init__(config)
        opts = config.options
        self.endpoint = volume_endpoint(config.name, config.endpoint, opts)
        where = f"volume.{config.name}.options"
        self.shared_bucket: str | None = opts.get("bucket")
        self.prefix = str(opts.get("prefix", "bai/")).strip("/") + "/"
        self.bucket_prefix = str(opts.get("bucket-prefix", "bai-"))
        if self.shared_bucket is not None and not valid_bucket(self.shared_bucket):
            raise ConfigError(f"{where}.bucket: {self.shared_bucket!r} is not a bucket name")
        if not valid_prefix(self.prefix):
            raise ConfigError(f"{where}.prefix: {self.prefix!r} is not a usable prefix")
        if not valid_bucket(self.bucket_prefix + "0" * 32):
            raise ConfigError(f"{where}.bucket-prefix: bucket names would be invalid")
        part_mib = opts.get("part-size", 16)
        if not isinstance(part_mib, int) or not 5 <= part_mib <= 5120:
            raise ConfigError(f"{where}.part-size: a whole number of MiB from 5 to 5120")
        self.part_size = part_mib << 20
        limit = opts.get("max-mounts", 100)
        if not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"{where}.max-mounts: a positive whole number")
        assert config.path is not None  # the config gives every minio volume a local dir
        self.root = config.path
        self.mounts = S3fsMounts(
            self.root / "mounts",
            config.name,
            limit,
            MountOptions(extra=str(opts.get("s3fs-options", ""))),
        )
        self._clients: dict[tuple[str, str | None, str], Minio] = {}
        self._borrowed: dict[tuple[uuid.UUID, bool], list[MountKey]] = {}

    # ---- set-up -------------------------------------------------------------------------
    async def init(self) -> None:
        try:
            (self.root / "uploads").mkdir(parents=True, exist_ok=True)
            (self.root / "mounts").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"volume.{self.name}: cannot create {self.root}: {e}") from None
        await self.mounts.clean_stale()
        if self.shared_bucket is not None:
            try:
                await self._ensure_bucket(self._client(self.endpoint), self.shared_bucket)
            except ServiceUnavailable as e:  # the node still serves its other hosts
                log.warning("storage host %s: %s", self.name, e.msg)

    async def close(self) -> None:
        await self.mounts.close()

    async def capacity(self) -> Capacity:
        return Capacity(0, 0)  # S3 has no capacity to report: pay as you go

    def _client(self, ep: Endpoint) -> Minio:
        key = (ep.url, ep.access_key, secret_digest(ep.secret_key or ""))
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = ep.client()
        return client

    def _endpoint_of(self, source: BucketSource | None) -> Endpoint:
        if source is None or (source.endpoint is None and source.access_key is None):
            return self.endpoint
        secret = None
        if source.access_key is not None:
            if source.secret_sealed is None or self.cipher is None:
                raise ConfigError("the imported bucket's secret key is not available")
            secret = self.cipher.decrypt(source.secret_sealed)
        return Endpoint(
            url=source.endpoint or self.endpoint.url,
            access_key=source.access_key,
            secret_key=secret,
            region=self.endpoint.region,
            verify_tls=self.endpoint.verify_tls,
        )

    def _place(self, ref: FolderRef) -> Place:
        src = ref.source
        if src is not None:
            if ref.location != src.location or not valid_bucket(src.bucket):
                raise InvalidRequest("the folder's location does not match its bucket")
            return Place(
                self._client(self._endpoint_of(src)), src.bucket, src.prefix, src.read_only, True
            )
        bucket, prefix = own_location(ref.location, ref.scope_hex, ref.id, self.bucket_prefix)
        return Place(self._client(self.endpoint), bucket, prefix, False, False)

    def _writable(self, ref: FolderRef) -> Place:
        place = self._place(ref)
        if place.read_only:
            raise ReadOnly("this folder is a read-only bucket import: it cannot be changed")
        return place

    @staticmethod
    async def _ensure_bucket(s3: Minio, bucket: str) -> None:
        if not await call(f"bucket {bucket}", s3.bucket_exists, bucket):
            with contextlib.suppress(Conflict):  # made meanwhile (another node): fine
                await call(f"bucket {bucket}", s3.make_bucket, bucket)

    # ---- folders ------------------------------------------------------------------------
    def locate(self, scope_hex: str, folder_id: uuid.UUID) -> str:
        if self.shared_bucket is None:
            return f"{self.bucket_prefix}{folder_id.hex}/"
        return f"{self.shared_bucket}/{self.prefix}{scope_hex}/{folder_id.hex}/"

    async def create_folder(self, ref: FolderRef) -> None:
        p = self._place(ref)
        if p.imported:
            return  # the data is there already; importing copies nothing
        await self._ensure_bucket(p.s3, p.bucket)
        if p.prefix:
            await call("the folder", put_marker, p.s3, p.bucket, p.prefix)

    async def folder_exists(self, ref: FolderRef) -> bool:
        p = self._place(ref)
        if not await call("the folder", p.s3.bucket_exists, p.bucket):
            return False
        if not p.prefix or p.imported:
            return True
        return bool(await call("the folder", first_key, p.s3, p.bucket, p.prefix))

    async def remove_folder(self, ref: FolderRef) -> None:
        p = self._place(ref)
        if p.imported:
            log.info("storage host %s: folder %s was imported; its objects stay", self.name, ref.id)
            return
        if not await call("the folder", p.s3.bucket_exists, p.bucket):
            return
        await self._abort_uploads_under(p)
        keys = p.s3.list_objects(p.bucket, prefix=p.prefix, recursive=True)
        async for batch in batches(keys):
            await remove_keys(p, [o.object_name for o in batch])
        if not p.prefix:
            await call("the folder", p.s3.remove_bucket, p.bucket)

    async def _abort_uploads_under(self, p: Place) -> None:
        res = await call("uploads", p.s3._list_multipart_uploads, p.bucket, prefix=p.prefix)
        for u in res.uploads or []:
            await call(
                "an upload", p.s3._abort_multipart_upload, p.bucket, u.object_name, u.upload_id
            )

    async def check_source(self, source: BucketSource) -> None:
        if not valid_bucket(source.bucket) or not valid_prefix(source.prefix):
            raise InvalidRequest(f"{source.location!r} is not a bucket and prefix")
        if source.endpoint is None and self._owns(source):
            raise Conflict(
                f"{source.location} is where this storage host keeps the folders it makes; "
                "import another bucket or prefix"
            )
        s3 = self._client(self._endpoint_of(source))
        if not await call(f"bucket {source.bucket}", s3.bucket_exists, source.bucket):
            raise NotFound(f"bucket {source.bucket!r} does not exist on storage host {self.name!r}")
        await call(f"bucket {source.bucket}", first_key, s3, source.bucket, source.prefix)

    def _owns(self, source: BucketSource) -> bool:
        """Whether a bucket place lies in (or contains) the space new folders go to: an
        import there could see folders made later, and their deletion would hit it."""
        if re.fullmatch(re.escape(self.bucket_prefix) + "[0-9a-f]{32}", source.bucket):
            return True
        if source.bucket != self.shared_bucket:
            return False
        mine = self.prefix
        return source.prefix.startswith(mine) or mine.startswith(source.prefix)

    # ---- files --------------------------------------------------------------------------
    async def confine(self, ref: FolderRef, rel: PurePosixPath) -> None:
        self._place(ref)  # keys have no links: a clean path under the prefix stays inside

    async def stat(self, ref: FolderRef, rel: PurePosixPath, follow: bool = False) -> Entry:
        return await self._stat(self._place(ref), rel)

    async def _stat(self, p: Place, rel: PurePosixPath) -> Entry:
        if is_top(rel):
            return Entry(".", "DIRECTORY", 0, 0o40755, 0.0, 0.0)
        obj = await call(str(rel), head_object, p.s3, p.bucket, p.key(rel))
        if obj is not None:
            return object_entry(rel.name, obj)
        first = await call(str(rel), first_key, p.s3, p.bucket, p.dir_key(rel))
        if first is None:
            raise NotFound(f"{rel} does not exist")
        return Entry(rel.name, "DIRECTORY", 0, 0o40755, first, first)

    async def list_dir(self, ref: FolderRef, rel: PurePosixPath) -> AsyncIterator[list[Entry]]:
        p = self._place(ref)
        top = is_top(rel)
        # A file by that name wins over keys under it (as in `stat`). Whether the directory
        # exists is told by the listing itself (its marker or anything under it), not by a
        # listing of its own: on a big bucket every listing costs.
        if not top and (await call(str(rel), head_object, p.s3, p.bucket, p.key(rel))) is not None:
            raise NotADirectory(f"{rel} is not a directory")
        base = p.dir_key(rel)
        found = top
        async for batch in batches(p.s3.list_objects(p.bucket, prefix=base)):
            found = found or bool(batch)
            out = []
            for o in batch:
                name = entry_name(o.object_name[len(base) :])
                if name is not None:
                    out.append(object_entry(name, o))
            if out:
                yield out
        if not found:
            raise NotFound(f"{rel} does not exist")

    async def walk(self, ref: FolderRef, rel: PurePosixPath) -> AsyncIterator[tuple[str, Entry]]:
        p = self._place(ref)
        base = p.dir_key(rel)
        seen: set[str] = set()
        async for batch in batches(p.s3.list_objects(p.bucket, prefix=base, recursive=True)):
            for o in batch:
                parts = o.object_name[len(base) :].rstrip("/").split("/")
                if any(entry_name(x) is None for x in parts):
                    continue
                is_dir = o.object_name.endswith("/")
                for i in range(1, len(parts) + (1 if is_dir else 0)):
                    d = "/".join(parts[:i])
                    if d not in seen:
                        seen.add(d)
                        yield d, Entry(parts[i - 1], "DIRECTORY", 0, 0o40755, 0.0, 0.0)
                if not is_dir:
                    yield "/".join(parts), object_entry(parts[-1], o)

    async def mkdir(
        self, ref: FolderRef, rel: PurePosixPath, parents: bool, exist_ok: bool
    ) -> None:
        p = self._writable(ref)
        if is_top(rel):
            if exist_ok:
                return
            raise Conflict("the folder's top directory exists already")
        try:
            entry = await self._stat(p, rel)
        except NotFound:
            pass
        else:
            if entry.is_dir and exist_ok:
                return
            raise Conflict(f"{rel} exists already")
        parent = rel.parent
        if not is_top(parent):
            try:
                pe = await self._stat(p, parent)
                if not pe.is_dir:
                    raise NotADirectory(f"{parent} is not a directory")
            except NotFound:
                if not parents:
                    raise NotFound(f"{parent} does not exist; make it first (or use -p)") from None
                # The deepest marker is enough: its key makes every parent exist.
        await call(str(rel), put_marker, p.s3, p.bucket, p.dir_key(rel))

    async def move(
        self,
        ref: FolderRef,
        src: PurePosixPath,
        dst: PurePosixPath,
        progress: Progress | None = None,
    ) -> UsageDelta:
        p = self._writable(ref)
        if is_top(src):
            raise InvalidRequest("the folder's top directory cannot be moved")
        s = await self._stat(p, src)
        target: Entry | None = None
        with contextlib.suppress(NotFound):
            target = await self._stat(p, dst)
        if target is not None and target.is_dir:
            dst = dst / src.name
            try:
                target = await self._stat(p, dst)
            except NotFound:
                target = None
        if s.is_dir and (dst == src or src in dst.parents):
            raise InvalidRequest(f"cannot move {src} into itself")
        if dst == src:
            return UsageDelta()
        if target is not None and (target.is_dir or s.is_dir):
            raise Conflict(f"{dst} exists already")
        return await copy_tree(p, src, dst, s, target, progress)

    async def rename(self, ref: FolderRef, src: PurePosixPath, new_name: str) -> None:
        p = self._writable(ref)
        dst = src.parent / new_name
        s = await self._stat(p, src)
        try:
            await self._stat(p, dst)
        except NotFound:
            await copy_tree(p, src, dst, s, None)
            return
        raise Conflict(f"{dst} exists already; choose another name")

    async def delete(
        self, ref: FolderRef, rels: Sequence[PurePosixPath], recursive: bool
    ) -> UsageDelta:
        p = self._writable(ref)
        if any(is_top(r) for r in rels):
            raise InvalidRequest("the folder's top directory cannot be deleted; delete the folder")
        entries = [await self._stat(p, r) for r in rels]  # all exist, or nothing is removed
        if not recursive:
            for r, e in zip(rels, entries, strict=True):
                if e.is_dir and await call(str(r), has_children, p.s3, p.bucket, p.dir_key(r)):
                    raise NotEmpty(f"{r} is not empty; delete it recursively (-r)")
        files = size = 0
        for r, e in zip(rels, entries, strict=True):
            if not e.is_dir:
                await remove_keys(p, [p.key(r)])
                files, size = files + 1, size + e.size
                continue
            listing = p.s3.list_objects(p.bucket, prefix=p.dir_key(r), recursive=True)
            async for batch in batches(listing):
                objs = [o for o in batch if not o.object_name.endswith("/")]
                files += len(objs)
                size += sum(int(o.size or 0) for o in objs)
                await remove_keys(p, [o.object_name for o in batch])
            await remove_keys(p, [p.dir_key(r)])
        return UsageDelta(-files, -size)

    async def open_read(self, ref: FolderRef, rel: PurePosixPath) -> ReadHandle:
        p = self._place(ref)
        entry = await self._stat(p, rel)
        if entry.is_dir:
            raise IsADirectory(f"{rel} is a directory; download it as a zip")
        return S3ReadHandle(p, p.key(rel), entry, ref, rel)

    def _spool(self, upload_id: str) -> Path:
        if not (upload_id.isascii() and upload_id.isalnum()):
            raise InvalidRequest("malformed upload id")
        return self.root / "uploads" / upload_id

    async def open_upload(self, ref: FolderRef, upload_id: str, rel: PurePosixPath) -> UploadHandle:
        p = self._writable(ref)
        spool = self._spool(upload_id)
        return await asyncio.to_thread(
            MultipartUpload.load, p.s3, p.bucket, p.key(rel), rel, spool, self.part_size
        )

    async def staged_size(self, ref: FolderRef, upload_id: str) -> int:
        return await asyncio.to_thread(staged_bytes, self._spool(upload_id))

    async def sweep_staging(self, keep: set[str]) -> int:
        return await sweep_spools(self.root / "uploads", keep, self._client(self.endpoint))

    async def scan_usage(self, ref: FolderRef, deadline: float | None = None) -> ScanResult:
        """The reconcile listing: paged, bounded by `deadline` (time.monotonic())."""
        p = self._place(ref)
        files = size = 0
        listing = p.s3.list_objects(p.bucket, prefix=p.prefix, recursive=True)
        async for batch in batches(listing):
            for o in batch:
                if not o.object_name.endswith("/"):
                    files, size = files + 1, size + int(o.size or 0)
            if deadline is not None and time.monotonic() > deadline:
                return ScanResult(files, size, False)
        return ScanResult(files, size, True)

    # ---- mounts -------------------------------------------------------------------------
    def _mount_key(self, ref: FolderRef, read_only: bool) -> tuple[MountKey, str, bool]:
        p = self._place(ref)
        ep = self._endpoint_of(ref.source)
        access, secret, _ = ep.keys()
        key = MountKey(
            ep.url, p.bucket, p.prefix, access, secret_digest(secret), read_only or p.read_only
        )
        return key, secret, ep.verify_tls

    async def acquire_mount(self, ref: FolderRef, read_only: bool = False) -> Path:
        key, secret, verify = await asyncio.to_thread(self._mount_key, ref, read_only)
        path = await self.mounts.acquire(key, secret, verify)
        # Released by the key it was acquired with: credentials from the environment or a
        # role may have rotated by then, and a recomputed key would miss the mount.
        self._borrowed.setdefault((ref.id, read_only), []).append(key)
        return path

    async def release_mount(self, ref: FolderRef, read_only: bool = False) -> None:
        keys = self._borrowed.get((ref.id, read_only))
        if not keys:
            return
        key = keys.pop()
        if not keys:
            del self._borrowed[(ref.id, read_only)]
        await self.mounts.release(key)

    def mount_count(self, ref: FolderRef, read_only: bool = False) -> int:
        return self.mounts.count(self._mount_key(ref, read_only)[0])

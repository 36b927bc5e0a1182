"""The minio backend beyond the shared contract: multipart parts, aborted and resumed
uploads, reference-counted s3fs mounts, read-only imports — against a real S3 server."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from pathlib import Path, PurePosixPath

import pytest

from bai.config import VolumeConfig
from bai.errors import ReadOnly
from bai.secrets import NodeSecret
from bai.storage.base import BucketSource, FolderRef
from bai.storage.buckets import MinioVolume
from bai.storage.s3mounts import fuse_mounts
from tests.s3server import ACCESS_KEY, SECRET_KEY, S3Server

MiB = 1 << 20


def make_volume(s3: S3Server, root: Path, **extra: object) -> MinioVolume:
    opts = {"minio-access-key": ACCESS_KEY, "minio-secret-key": SECRET_KEY, "part-size": 5}
    return MinioVolume(VolumeConfig("t", "minio", root, s3.url, {**opts, **extra}))


@pytest.fixture
async def vol(s3_server: S3Server, tmp_path: Path) -> MinioVolume:
    v = make_volume(s3_server, tmp_path / "vol")
    v.use_cipher(NodeSecret(b"x" * 64))
    await v.init()
    yield v  # type: ignore[misc]
    await v.close()


async def new_ref(v: MinioVolume) -> FolderRef:
    scope, fid = uuid.uuid4().hex, uuid.uuid4()
    ref = FolderRef(scope, fid, v.locate(scope, fid))
    await v.create_folder(ref)
    return ref


def pending_uploads(s3: S3Server, bucket: str) -> list[str]:
    res = s3.client()._list_multipart_uploads(bucket)
    return [u.upload_id for u in (res.uploads or [])]


async def read(v: MinioVolume, ref: FolderRef, rel: str) -> bytes:
    async with await v.open_read(ref, PurePosixPath(rel)) as h:
        return b"".join([c async for c in h.read(0, h.entry.size)])


async def test_parts_arrive_out_of_order_and_stream_before_commit(
    vol: MinioVolume, s3_server: S3Server
) -> None:
    ref = await new_ref(vol)
    data = os.urandom(12 * MiB + 7)
    up = await vol.open_upload(ref, uuid.uuid4().hex, PurePosixPath("big.bin"))
    await up.write(5 * MiB, [data[5 * MiB : 10 * MiB]])  # part 2 first
    await up.write(10 * MiB, [data[10 * MiB :]])  # the tail (part 3, partial)
    await up.write(0, [data[: 3 * MiB], memoryview(data)[3 * MiB : 5 * MiB]])  # then part 1
    await asyncio.sleep(0)  # whole parts are sent while the writer goes on
    await up.close()  # ...and close waits for them
    bucket = ref.location.rstrip("/")
    assert len(pending_uploads(s3_server, bucket)) == 1  # a multipart upload holds them
    delta = await up.commit()
    assert (delta.files, delta.bytes) == (1, len(data))
    assert await read(vol, ref, "big.bin") == data
    assert pending_uploads(s3_server, bucket) == []


async def test_an_upload_resumes_after_a_restart_from_its_durable_bytes(
    vol: MinioVolume, s3_server: S3Server, tmp_path: Path
) -> None:
    ref = await new_ref(vol)
    uid = uuid.uuid4().hex
    data = os.urandom(7 * MiB)
    up = await vol.open_upload(ref, uid, PurePosixPath("resumed.bin"))
    await up.write(0, [data[: 6 * MiB]])  # one part sent, 1 MiB spooled
    await up.close()
    assert await vol.staged_size(ref, uid) == 6 * MiB
    again = make_volume(s3_server, tmp_path / "vol")  # a new node process, same directory
    await again.init()
    up = await again.open_upload(ref, uid, PurePosixPath("resumed.bin"))
    assert await up.size() == 6 * MiB
    await up.write(6 * MiB, [data[6 * MiB :]])
    await up.commit()
    assert await read(again, ref, "resumed.bin") == data


async def test_abandoned_uploads_leave_no_parts(vol: MinioVolume, s3_server: S3Server) -> None:
    ref = await new_ref(vol)
    bucket = ref.location.rstrip("/")
    aborted = await vol.open_upload(ref, uuid.uuid4().hex, PurePosixPath("a"))
    await aborted.write(0, [os.urandom(6 * MiB)])
    await aborted.close()
    swept_id = uuid.uuid4().hex
    orphan = await vol.open_upload(ref, swept_id, PurePosixPath("b"))
    await orphan.write(0, [os.urandom(6 * MiB)])
    await orphan.close()
    assert len(pending_uploads(s3_server, bucket)) == 2
    await aborted.abort()
    assert await vol.sweep_staging(keep=set()) == 1  # the node's housekeeping
    assert pending_uploads(s3_server, bucket) == []
    assert await vol.staged_size(ref, swept_id) == 0
    assert list((vol.root / "uploads").iterdir()) == []


async def test_read_only_import_refuses_writes_and_mounts_read_only(
    vol: MinioVolume, s3_server: S3Server
) -> None:
    s3 = s3_server.client()
    s3.make_bucket("ro-import")
    s3.put_object("ro-import", "data/file.txt", io.BytesIO(b"kept"), 4)
    src = BucketSource("ro-import", "data/", read_only=True)
    await vol.check_source(src)
    ref = FolderRef(uuid.uuid4().hex, uuid.uuid4(), src.location, src)
    assert await read(vol, ref, "file.txt") == b"kept"
    with pytest.raises(ReadOnly, match="read-only"):
        await vol.open_upload(ref, uuid.uuid4().hex, PurePosixPath("new"))
    with pytest.raises(ReadOnly):
        await vol.delete(ref, [PurePosixPath("file.txt")], recursive=False)
    host = await vol.acquire_mount(ref)
    assert (host / "file.txt").read_bytes() == b"kept"
    with pytest.raises(OSError) as err:
        (host / "written.txt").write_text("x")
    assert err.value.errno in (30, 1, 13)  # EROFS (or EPERM/EACCES): the mount refuses
    await vol.release_mount(ref)
    await vol.remove_folder(ref)  # forgetting an import deletes nothing
    assert [o.object_name for o in s3.list_objects("ro-import", recursive=True)] == [
        "data/file.txt"
    ]


async def test_fifty_concurrent_acquires_and_releases_share_one_mount(vol: MinioVolume) -> None:
    refs = [await new_ref(vol) for _ in range(2)]
    root = vol.root / "mounts"

    async def borrow(ref: FolderRef, pause: float) -> None:
        path = await vol.acquire_mount(ref)
        assert path in fuse_mounts(root)  # never handed out unmounted
        await asyncio.sleep(pause)
        await vol.release_mount(ref)

    # 50 borrowers over two folders, releases racing new acquires of the same bucket.
    await asyncio.gather(*(borrow(refs[i % 2], (i % 5) * 0.01) for i in range(50)))
    assert fuse_mounts(root) == []  # all released: nothing left mounted
    held = [await vol.acquire_mount(refs[0]) for _ in range(3)]
    await vol.acquire_mount(refs[1])
    assert len(set(held)) == 1 and len(fuse_mounts(root)) == 2  # one mount per bucket
    (held[0] / "through-fuse.txt").write_text("hello")
    assert await read(vol, refs[0], "through-fuse.txt") == b"hello"  # same objects
    for _ in range(3):
        await vol.release_mount(refs[0])
    assert len(fuse_mounts(root)) == 1
    await vol.release_mount(refs[1])
    assert fuse_mounts(root) == []


async def test_stale_mounts_of_a_crashed_run_are_cleaned_at_start(
    vol: MinioVolume, s3_server: S3Server, tmp_path: Path
) -> None:
    ref = await new_ref(vol)
    await vol.acquire_mount(ref)  # ...and the node "crashes" without releasing
    assert len(fuse_mounts(vol.root / "mounts")) == 1
    again = make_volume(s3_server, tmp_path / "vol")
    await again.init()
    assert fuse_mounts(vol.root / "mounts") == []


async def test_credentials_from_the_environment(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No keys in node.toml: the AWS_* variables (then MINIO_*, then an IAM role) are used."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    v = MinioVolume(VolumeConfig("envcreds", "minio", tmp_path / "v", s3_server.url, {}))
    await v.init()
    ref = await new_ref(v)
    up = await v.open_upload(ref, uuid.uuid4().hex, PurePosixPath("f"))
    await up.write(0, [b"env"])
    await up.commit()
    assert await read(v, ref, "f") == b"env"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"minio-access-key": "a"}, "both minio-access-key and minio-secret-key"),
        ({"part-size": 2}, "part-size"),
        ({"bucket": "Bad_Name"}, "not a bucket name"),
        ({"secret": "x"}, "unknown option 'secret'"),
        ({"verify-tls": "no"}, "true or false"),
    ],
)
def test_bad_options_are_refused_by_name(
    options: dict[str, object], message: str, tmp_path: Path
) -> None:
    from bai.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        MinioVolume(VolumeConfig("v", "minio", tmp_path, "http://127.0.0.1:9", options))

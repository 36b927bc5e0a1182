"""tus uploads, ranged downloads, zip archives and transfer tokens, over HTTP."""

from __future__ import annotations

import io
import os
import time
import zipfile
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest

from bai.db.tables import uploads
from bai.errors import Forbidden, InvalidRequest, QuotaExceeded
from tests.conftest import InProcessNode

TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}


async def ticket(node: InProcessNode, op: str, folder: str, **body: Any) -> str:
    res = await node.admin.post(f"/folders/{folder}/request-{op}", json=body)
    assert res["url"].endswith(f"/{op}")
    return f"/{op}?token={res['token']}"


async def patch(node: InProcessNode, url: str, offset: int, data: bytes) -> httpx.Response:
    return await node.http.patch(url, content=data, headers={**TUS, "Upload-Offset": str(offset)})


async def download(
    node: InProcessNode, folder: str, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    url = await ticket(node, "download", folder, path=path)
    return await node.http.get(url, headers=headers or {})


@pytest.fixture
async def folder(node: InProcessNode) -> str:
    await node.admin.post("/folders", json={"name": "xfer"})
    return "xfer"


async def test_upload_in_chunks_and_resume(node: InProcessNode, folder: str) -> None:
    data = os.urandom(3_000_000)
    url = await ticket(node, "upload", folder, path="dir/blob.bin", size=len(data))
    opts = await node.http.options(url)
    assert opts.headers["tus-version"] == "1.0.0"
    r = await patch(node, url, 0, data[:1_000_000])
    assert r.status_code == 204 and r.headers["upload-offset"] == "1000000"
    # Not visible until complete.
    assert (await node.admin.get("/folders/xfer"))["num_files"] == 0
    # A wrong offset is refused with 409 and changes nothing.
    r = await patch(node, url, 500, data[500:600])
    assert r.status_code == 409 and r.json()["data"]["offset"] == 1_000_000
    head = await node.http.head(url, headers={"Tus-Resumable": "1.0.0"})
    assert head.headers["upload-offset"] == "1000000"
    assert head.headers["upload-length"] == "3000000"
    r = await patch(node, url, 1_000_000, data[1_000_000:])
    assert r.status_code == 204 and r.headers["upload-offset"] == "3000000"
    got = await download(node, folder, "dir/blob.bin")
    assert got.status_code == 200 and got.content == data
    info = await node.admin.get("/folders/xfer")
    assert (info["num_files"], info["cur_size"]) == (1, 3_000_000)


async def test_too_much_data_is_refused(node: InProcessNode, folder: str) -> None:
    url = await ticket(node, "upload", folder, path="small", size=3)
    r = await patch(node, url, 0, b"four")
    assert r.status_code == 400 and "declared size" in r.json()["msg"]


async def test_zero_byte_upload_needs_no_patch(node: InProcessNode, folder: str) -> None:
    await ticket(node, "upload", folder, path="empty.txt", size=0)
    got = await download(node, folder, "empty.txt")
    assert got.status_code == 200 and got.content == b"" and got.headers["content-length"] == "0"


async def test_two_uploads_last_commit_wins(node: InProcessNode, folder: str) -> None:
    a = await ticket(node, "upload", folder, path="same", size=4)
    b = await ticket(node, "upload", folder, path="same", size=4)
    await patch(node, b, 0, b"BB")
    await patch(node, a, 0, b"AAAA")
    assert (await download(node, folder, "same")).content == b"AAAA"
    await patch(node, b, 2, b"BB")
    assert (await download(node, folder, "same")).content == b"BBBB"
    assert (await node.admin.get("/folders/xfer"))["num_files"] == 1


async def test_ranges_if_range_and_head(node: InProcessNode, folder: str) -> None:
    data = os.urandom(100_000)
    url = await ticket(node, "upload", folder, path="r.bin", size=len(data))
    await patch(node, url, 0, data)
    dl = await ticket(node, "download", folder, path="r.bin")
    full = await node.http.get(dl)
    assert full.headers["accept-ranges"] == "bytes"
    last_modified = full.headers["last-modified"]
    part = await node.http.get(dl, headers={"Range": "bytes=1000-"})
    assert part.status_code == 206 and part.content == data[1000:]
    assert part.headers["content-range"] == f"bytes 1000-99999/{len(data)}"
    assert part.headers["content-length"] == str(len(data) - 1000)
    mid = await node.http.get(dl, headers={"Range": "bytes=10-19"})
    assert mid.content == data[10:20]
    tail = await node.http.get(dl, headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    ok = await node.http.get(dl, headers={"Range": "bytes=50000-", "If-Range": last_modified})
    assert ok.status_code == 206
    stale = await node.http.get(
        dl, headers={"Range": "bytes=50000-", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )
    assert stale.status_code == 200 and stale.content == data  # changed file: send it whole
    bad = await node.http.get(dl, headers={"Range": "bytes=200000-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{len(data)}"
    head = await node.http.head(dl)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    assert head.content == b""


async def test_directory_archive(node: InProcessNode, folder: str) -> None:
    for path, body in [("pkg/a.txt", b"A"), ("pkg/sub/b.txt", b"BB")]:
        url = await ticket(node, "upload", folder, path=path, size=len(body))
        await patch(node, url, 0, body)
    await node.admin.post("/folders/xfer/mkdir", json={"path": "pkg/empty"})
    res = await node.admin.post(
        "/folders/xfer/request-download", json={"path": "pkg", "archive": True}
    )
    got = await node.http.get(f"/download?token={res['token']}")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(got.content))
    assert z.read("a.txt") == b"A" and z.read("sub/b.txt") == b"BB"
    assert "empty/" in z.namelist()
    with pytest.raises(InvalidRequest, match="archive"):
        await node.admin.post("/folders/xfer/request-download", json={"path": "pkg"})


async def test_archive_of_many_small_and_large_files(node: InProcessNode, folder: str) -> None:
    # More files than one read batch, and a file above the size read whole (streamed).
    files = {f"many/d{i % 2}/f{i:03d}": os.urandom(i * 7) for i in range(300)}
    files["many/big.bin"] = os.urandom((1 << 20) + 5)
    for path, body in files.items():
        url = await ticket(node, "upload", folder, path=path, size=len(body))
        if body:
            assert (await patch(node, url, 0, body)).status_code == 204
    res = await node.admin.post(
        "/folders/xfer/request-download", json={"path": "many", "archive": True}
    )
    got = await node.http.get(f"/download?token={res['token']}")
    assert got.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(got.content))
    assert z.testzip() is None
    assert {n for n in z.namelist() if not n.endswith("/")} == {p[5:] for p in files}
    for path, body in files.items():
        assert z.read(path[5:]) == body, path
    assert z.namelist().index("d0/") < z.namelist().index("d0/f000")


async def test_tokens_are_checked(node: InProcessNode, folder: str) -> None:
    url = await ticket(node, "upload", folder, path="t", size=2)
    token = url.split("token=")[1]
    forged = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False}), "relpath": "other"},
        "a-key-that-is-not-the-nodes-key-at-all",
        algorithm="HS256",
    )
    r = await patch(node, f"/upload?token={forged}", 0, b"xx")
    assert r.status_code == 401 and "invalid transfer token" in r.json()["msg"]
    r = await node.http.get(f"/download?token={token}")
    assert r.status_code == 403 and "for upload" in r.json()["msg"]
    r = await node.http.get("/download")
    assert r.status_code == 401 and "missing transfer token" in r.json()["msg"]
    key = node.app.state.tokens._key
    claims = jwt.decode(token, key, algorithms=["HS256"])
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, key, algorithm="HS256")
    r = await patch(node, f"/upload?token={expired}", 0, b"xx")
    assert r.status_code == 401 and "expired" in r.json()["msg"]


async def test_upload_refused_when_folder_trashed(node: InProcessNode, folder: str) -> None:
    url = await ticket(node, "upload", folder, path="late", size=2)
    await node.admin.request("DELETE", "/folders/xfer")
    r = await patch(node, url, 0, b"xx")
    assert r.status_code == 403 and "delete-pending" in r.json()["msg"]


async def test_host_grants_are_enforced(node: InProcessNode, folder: str) -> None:
    await node.admin.request(
        "PUT",
        "/admin/resource-policies/keypair/noup",
        json={"allowed_vfolder_hosts": {"local": ["create-vfolder", "download-file"]}},
    )
    await node.admin.post("/admin/users", json={"email": "nu@example.com", "keypair": False})
    kp = await node.admin.post(
        "/admin/keypairs", json={"email": "nu@example.com", "resource_policy": "noup"}
    )
    u = node.client(kp["access_key"], kp["secret_key"])
    await u.post("/folders", json={"name": "mine"})
    with pytest.raises(Forbidden, match="upload-file"):
        await u.post("/folders/mine/request-upload", json={"path": "x", "size": 1})
    await u.post("/folders/mine/request-download", json={"path": ".", "archive": True})


async def test_quota_admission_before_any_byte(node: InProcessNode, folder: str) -> None:
    res = await node.admin.request(
        "PUT", "/admin/quota-scopes/local/admin@bai.local", json={"limit": 1000}
    )
    assert res["limit_bytes"] == 1000 and res["kernel_enforced"] is False
    url = await ticket(node, "upload", folder, path="fits", size=600)
    await patch(node, url, 0, b"x" * 600)
    with pytest.raises(QuotaExceeded, match="quota exceeded"):
        await node.admin.post("/folders/xfer/request-upload", json={"path": "big", "size": 500})
    vol = node.config.volumes["local"].path
    assert vol is not None
    assert not list((vol / ".bai-staging").iterdir())  # nothing staged for the refusal


async def test_expired_uploads_are_cleaned_up(node: InProcessNode, folder: str) -> None:
    url = await ticket(node, "upload", folder, path="abandoned", size=10)
    await patch(node, url, 0, b"12345")
    vol = node.config.volumes["local"].path
    assert vol is not None
    assert len(list((vol / ".bai-staging").iterdir())) == 1
    services = node.app.state.services
    assert await services.io.drop_expired_uploads() == 0  # not expired yet
    async with services.engine.begin() as conn:
        await conn.execute(uploads.update().values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    assert await services.io.drop_expired_uploads() == 1
    assert list((vol / ".bai-staging").iterdir()) == []
    head = await node.http.head(url, headers={"Tus-Resumable": "1.0.0"})
    assert head.status_code == 404

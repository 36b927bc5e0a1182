"""tus creation on `POST /upload` (creation, creation-with-upload, concatenation), in process."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime

import httpx
import pytest

from bai.db.tables import quota_reservations, uploads
from tests.conftest import InProcessNode

TUS = {"Tus-Resumable": "1.0.0"}
BODY = {**TUS, "Content-Type": "application/offset+octet-stream"}


def meta(path: str) -> str:
    return "path " + base64.b64encode(path.encode()).decode()


async def creation(node: InProcessNode, folder: str, path: str = ".") -> str:
    res = await node.admin.post(
        f"/folders/{folder}/request-upload", json={"path": path, "size": 0, "creation": True}
    )
    return f"/upload?token={res['token']}"


async def post(node: InProcessNode, url: str, data: bytes = b"", **headers: str) -> httpx.Response:
    return await node.http.post(url, content=data, headers={**BODY, **headers})


async def names(node: InProcessNode, folder: str, path: str = ".") -> set[str]:
    res = await node.admin.get(f"/folders/{folder}/files", params={"path": path})
    files = res["files"]  # Backend.AI sends the list as a JSON string
    return {f["filename"] for f in (json.loads(files) if isinstance(files, str) else files)}


@pytest.fixture
async def folder(node: InProcessNode) -> str:
    await node.admin.post("/folders", json={"name": "tusc"})
    return "tusc"


async def test_whole_small_files_in_the_post(node: InProcessNode, folder: str) -> None:
    url = await creation(node, folder, "base")
    opts = await node.http.options(url)
    assert set(opts.headers["tus-extension"].split(",")) >= {
        "creation",
        "creation-with-upload",
        "concatenation",
    }
    data = os.urandom(10_000)
    res = await post(
        node, url, data, **{"Upload-Length": str(len(data)), "Upload-Metadata": meta("a/b.bin")}
    )
    assert res.status_code == 201, res.text
    assert res.headers["upload-offset"] == str(len(data)) and res.headers["location"]
    empty = await post(node, url, **{"Upload-Length": "0", "Upload-Metadata": meta("empty")})
    assert empty.status_code == 201
    assert await names(node, folder, "base") == {"a", "empty"}
    info = await node.admin.get(f"/folders/{folder}")
    assert (info["num_files"], info["cur_size"]) == (2, len(data))
    got = await node.admin.post(
        f"/folders/{folder}/request-download", json={"path": "base/a/b.bin"}
    )
    assert (await node.http.get(f"/download?token={got['token']}")).content == data


async def test_creation_refusals(node: InProcessNode, folder: str) -> None:
    url = await creation(node, folder)
    length = {"Upload-Length": "3"}
    res = await post(node, url, b"abc", **length)  # no path
    assert res.status_code == 400 and "path" in res.json()["msg"]
    res = await post(node, url, b"abc", **length, **{"Upload-Metadata": meta("../out")})
    assert res.status_code == 400
    res = await post(node, url, b"abc", **{"Upload-Metadata": meta("x")})  # no length
    assert res.status_code == 400 and "Upload-Length" in res.json()["msg"]
    # A creation token does not PATCH, and an upload token does not create.
    patch = await node.http.patch(url, content=b"a", headers={**BODY, "Upload-Offset": "0"})
    assert patch.status_code == 403
    up = await node.admin.post(f"/folders/{folder}/request-upload", json={"path": "p", "size": 1})
    res = await post(node, f"/upload?token={up['token']}", b"a", **{"Upload-Length": "1"})
    assert res.status_code == 403
    # A file over a directory is one clear conflict, and nothing else is affected.
    await node.admin.post(f"/folders/{folder}/mkdir", json={"path": ["d"]})
    res = await post(node, url, b"abc", **length, **{"Upload-Metadata": meta("d")})
    assert res.status_code == 409
    vol = node.config.volumes["local"].path
    assert vol is not None and not list((vol / ".bai-staging").iterdir())


async def test_creation_without_the_whole_body_continues_with_patch(
    node: InProcessNode, folder: str
) -> None:
    url = await creation(node, folder)
    data = os.urandom(2 << 20)  # above the size committed in groups
    res = await post(
        node, url, data[:1000], **{"Upload-Length": str(len(data)), "Upload-Metadata": meta("big")}
    )
    assert res.status_code == 201 and res.headers["upload-offset"] == "1000"
    loc = res.headers["location"]
    assert "big" not in await names(node, folder)  # not visible before its last byte
    head = await node.http.head(loc, headers=TUS)
    assert head.headers["upload-offset"] == "1000"
    res = await node.http.patch(loc, content=data[1000:], headers={**BODY, "Upload-Offset": "1000"})
    assert res.status_code == 204
    assert "big" in await names(node, folder)


async def test_concatenation(node: InProcessNode, folder: str) -> None:
    url = await creation(node, folder)
    pieces = [os.urandom(n) for n in (300_000, 200_000, 5)]
    locations = []
    for piece in pieces:
        res = await post(
            node, url, **{"Upload-Concat": "partial", "Upload-Length": str(len(piece))}
        )
        assert res.status_code == 201, res.text
        locations.append(res.headers["location"])
    final = {"Upload-Concat": "final;" + " ".join(locations), "Upload-Metadata": meta("whole")}
    # Parts must be complete before they are joined.
    res = await post(node, url, **final)
    assert res.status_code == 409
    for loc, piece in zip(locations, pieces, strict=True):
        res = await node.http.patch(loc, content=piece, headers={**BODY, "Upload-Offset": "0"})
        assert res.status_code == 204
    # A complete part is never visible by itself.
    assert await names(node, folder) == set()
    res = await post(node, url, **final)
    assert res.status_code == 201, res.text
    got = await node.admin.post(f"/folders/{folder}/request-download", json={"path": "whole"})
    assert (await node.http.get(f"/download?token={got['token']}")).content == b"".join(pieces)
    info = await node.admin.get(f"/folders/{folder}")
    assert (info["num_files"], info["cur_size"]) == (1, sum(map(len, pieces)))
    services = node.app.state.services
    async with services.engine.connect() as conn:
        assert (await conn.execute(uploads.select())).all() == []
        assert (await conn.execute(quota_reservations.select())).all() == []
    for loc in locations:  # the parts are gone
        assert (await node.http.head(loc, headers=TUS)).status_code == 404


async def test_parts_claim_quota_and_expire(node: InProcessNode, folder: str) -> None:
    await node.admin.request(
        "PUT", "/admin/quota-scopes/local/admin@bai.local", json={"limit": 1000}
    )
    url = await creation(node, folder)
    part = {"Upload-Concat": "partial", "Upload-Length": "600"}
    first = await post(node, url, **part)
    assert first.status_code == 201
    # The first part's 600 bytes are claimed: a second one of 600 does not fit.
    res = await post(node, url, **part)
    assert res.status_code == 413 and "quota exceeded" in res.json()["msg"]
    loc = first.headers["location"]
    await node.http.patch(loc, content=b"x" * 100, headers={**BODY, "Upload-Offset": "0"})
    services = node.app.state.services
    async with services.engine.begin() as conn:
        await conn.execute(uploads.update().values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    assert await services.io.drop_expired_uploads() == 1  # the housekeeping's sweep
    vol = node.config.volumes["local"].path
    assert vol is not None and not list((vol / ".bai-staging").iterdir())
    async with services.engine.connect() as conn:
        assert (await conn.execute(quota_reservations.select())).all() == []
    assert (await post(node, url, **part)).status_code == 201  # the room is back

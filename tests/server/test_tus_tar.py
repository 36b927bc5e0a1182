"""bai's tar batches on `POST /upload` (many whole files per request), in process: the happy
path, hostile entries refused with nothing written, cut-short streams, quota."""

from __future__ import annotations

import io
import os
import tarfile

import httpx
import pytest

from tests.conftest import InProcessNode
from tests.server.test_tus_creation import creation, names

TAR = {"Content-Type": "application/x-tar"}


def tar_of(entries: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tf.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tf.addfile(info, io.BytesIO(entry[1]))
    return buf.getvalue()


def special(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


async def send(node: InProcessNode, url: str, body: bytes) -> httpx.Response:
    return await node.http.post(url, content=body, headers=TAR)


@pytest.fixture
async def folder(node: InProcessNode) -> str:
    await node.admin.post("/folders", json={"name": "tart"})
    return "tart"


async def test_a_batch_lands_whole(node: InProcessNode, folder: str) -> None:
    url = await creation(node, folder, "base")
    assert "bai-tar" in (await node.http.options(url)).headers["tus-extension"]
    files = {f"d/f{i}.bin": os.urandom(i * 100) for i in range(20)}
    files["ünï cödé/long-" + "x" * 120] = b"pax names"  # needs a pax record
    res = await send(node, url, tar_of(list(files.items())))
    assert res.status_code == 201, res.text
    assert res.json() == {"files": 21, "bytes": sum(map(len, files.values()))}
    assert await names(node, folder, "base/d") == {f"f{i}.bin" for i in range(20)}
    for rel, data in list(files.items())[:3] + list(files.items())[-1:]:
        t = await node.admin.post(
            f"/folders/{folder}/request-download", json={"path": f"base/{rel}"}
        )
        got = await node.http.get(f"/download?token={t['token']}")
        assert got.content == data, rel


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (special("link", tarfile.SYMTYPE, "/etc/passwd"), "symlink"),
        (special("hard", tarfile.LNKTYPE, "ok.txt"), "hard link"),
        (special("dev", tarfile.CHRTYPE), "character device"),
        (special("fifo", tarfile.FIFOTYPE), "FIFO"),
        (special("dir", tarfile.DIRTYPE), "directory"),
        (("../escape.txt", b"x"), "climbs out"),
        (("/etc/abs.txt", b"x"), "absolute"),
        (("a/\u202eevil.txt", b"x"), "invisible or control"),
    ],
)
async def test_hostile_entries_refuse_the_batch(
    node: InProcessNode, folder: str, entry: tarfile.TarInfo | tuple[str, bytes], says: str
) -> None:
    url = await creation(node, folder, "in")
    res = await send(node, url, tar_of([("ok.txt", b"fine"), entry]))
    assert res.status_code == 400 and says in res.json()["msg"], res.text
    assert await names(node, folder) == set()  # not even the good file, nor `in/`


async def test_malformed_and_cut_short_streams_write_nothing(
    node: InProcessNode, folder: str
) -> None:
    url = await creation(node, folder)
    body = tar_of([("a.bin", os.urandom(5000)), ("b.bin", os.urandom(5000))])
    for bad, says in [
        (body[:6000], "cut short"),  # ends inside the second header's data
        (body.rstrip(b"\x00"), "cut short"),  # no end-of-archive blocks
        (b"not a tar" * 100, "checksum"),
        (body[:100] + b"\xff" + body[101:], "checksum"),
    ]:
        res = await send(node, url, bad)
        assert res.status_code == 400 and says in res.json()["msg"], (says, res.text)
    raw = bytearray(tar_of([("x", b"1")]))
    raw[0:1] = b"\xff"  # a name that is not UTF-8 (checksum fixed below)
    raw[148:156] = b"        "
    raw[148:156] = f"{sum(raw[:512]):06o}\x00 ".encode()
    res = await send(node, url, bytes(raw))
    assert res.status_code == 400 and "not UTF-8" in res.json()["msg"]
    assert await names(node, folder) == set()
    staging = node.config.volumes["local"].path
    assert staging is not None and not list((staging / ".bai-staging").iterdir())


async def test_quota_refuses_the_whole_batch(node: InProcessNode, folder: str) -> None:
    await node.admin.request(
        "PUT", "/admin/quota-scopes/local/admin@bai.local", json={"limit": 1000}
    )
    url = await creation(node, folder)
    res = await send(node, url, tar_of([("a", b"x" * 600), ("b", b"y" * 600)]))
    assert res.status_code == 413, res.text
    assert await names(node, folder) == set()
    res = await send(node, url, tar_of([("a", b"x" * 600)]))
    assert res.status_code == 201


async def test_a_directory_in_the_way_is_named(node: InProcessNode, folder: str) -> None:
    await node.admin.post(f"/folders/{folder}/mkdir", json={"path": "taken"})
    url = await creation(node, folder)
    res = await send(node, url, tar_of([("free.txt", b"1"), ("taken", b"2")]))
    assert res.status_code >= 400 and "1 of 2 files were written" in res.json()["msg"]
    assert "taken" in res.json()["msg"]

"""Many small files in tar batches (bai's `application/x-tar` POST) through the real `bai`
CLI and client against a real `bai serve`: a cut-off batch leaves nothing, a rerun finishes
the tree byte-exact, a node without the extension gets one POST per file; and the client's
unzip refuses an entry whose bytes do not match their checksum."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import tarfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from bai.client import BaiClient, load_client_config
from bai.client import creation as creation_mod
from bai.client.archive import unpack
from tests.harness import NodeProcess, run_bai

pytestmark = pytest.mark.node


def _tree(root: Path, count: int) -> dict[str, bytes]:
    files = {f"s{i % 4}/f{i:03d}.bin": os.urandom(i * 131) for i in range(count)}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


async def _grant(node: NodeProcess, folder: str) -> str:
    async with BaiClient(load_client_config(node.data_dir)) as c:
        return c.files.ticket_url(await c.files.request_creation(folder, "."))


def _listed(env: dict[str, str], folder: str, path: str) -> str:
    res = run_bai("vfolder", "ls", folder, path, "-o", "json", env=env)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_cut_off_batch_leaves_nothing_and_a_rerun_finishes(
    live_node: NodeProcess, tmp_path: Path
) -> None:
    env = {**live_node.client_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_bai("vfolder", "create", "tarcut", env=env).returncode == 0
    src = tmp_path / "tree"
    files = _tree(src, 150)  # more than one batch
    url = httpx.URL(asyncio.run(_grant(live_node, "tarcut")))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for rel in list(files)[:20]:
            tf.add(src / rel, arcname=f"tree/{rel}")
    body = buf.getvalue()
    head = (
        f"POST {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.netloc.decode()}\r\n"
        f"Content-Type: application/x-tar\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.host, url.port or 80)) as s:
        s.sendall(head + body[: len(body) // 2])  # then the client goes away
    time.sleep(0.5)
    assert "tree" not in _listed(env, "tarcut", ".")  # nothing of the batch, not even `tree/`
    staging = live_node.data_dir / "volumes/local/.bai-staging"
    res = run_bai("vfolder", "upload", "tarcut", "-r", "tree", env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"Uploaded {len(files)} file(s)" in res.stdout
    out = tmp_path / "out"
    res = run_bai("vfolder", "download", "tarcut", "tree", "-b", str(out), env=env)
    assert res.returncode == 0, res.stderr
    for rel, data in files.items():
        assert (out / "tree" / rel).read_bytes() == data, rel
    assert not [p for p in staging.iterdir() if p.is_file()]


@pytest.mark.parametrize("offered", [True, False])
async def test_batches_where_offered_else_one_post_per_file(
    live_node: NodeProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offered: bool
) -> None:
    folder = f"tar-{offered}".lower()
    src = tmp_path / "t"
    files = _tree(src, 70)
    calls: list[int] = []
    real = creation_mod._upload_tar

    async def spy(*args: object) -> int:
        calls.append(1)
        return await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(creation_mod, "_upload_tar", spy)
    if not offered:
        monkeypatch.setattr(creation_mod, "TAR_EXTENSION", "not-offered-by-the-node")
    async with BaiClient(load_client_config(live_node.data_dir)) as c:
        await c.folders.create(folder)
        jobs = [(src / rel, rel) for rel in files]
        got: list[int] = []
        sizes = [len(d) for d in files.values()]
        total = await creation_mod.upload_whole(c, folder, jobs, got.append, sizes=sizes)
        assert total == sum(sizes) and sorted(got) == sorted(sizes)
        assert bool(calls) == offered
        out = tmp_path / "o"
        await c.files.download_tree(folder, ".", out)
    for rel, data in files.items():
        assert (out / rel).read_bytes() == data, rel


def test_unzip_checks_each_entrys_checksum(tmp_path: Path) -> None:
    zipped = tmp_path / "t.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("a.txt", b"hello world")
    raw = bytearray(zipped.read_bytes())
    at = raw.index(b"hello world")
    raw[at] = ord("j")
    zipped.write_bytes(bytes(raw))
    with pytest.raises(zipfile.BadZipFile, match="checksum"):
        unpack(zipped, tmp_path / "out")

"""The fast transfer paths against a real `bai serve`: downloads through sendfile (whole,
ranged, If-Range, several ranges, unsatisfiable), uploads read straight from the socket,
and `bai`'s parallel ranged download, byte-exact and resumable after a kill."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from bai.client import BaiClient, load_client_config
from tests.harness import NodeProcess, random_file, run_bai, sha256
from tests.node.test_resume import bai_popen

pytestmark = pytest.mark.node
MIB = 1 << 20


async def _upload_url(node: NodeProcess, folder: str, path: str, data: bytes) -> str:
    """The upload URL of `path` in a new folder."""
    async with BaiClient(load_client_config(node.data_dir)) as c:
        await c.post("/folders", json={"name": folder})
        up = await c.post(
            f"/folders/{folder}/request-upload", json={"path": path, "size": len(data)}
        )
        return f"{up['url']}?token={up['token']}"


async def _download_url(node: NodeProcess, folder: str, path: str) -> str:
    async with BaiClient(load_client_config(node.data_dir)) as c:
        t = await c.post(f"/folders/{folder}/request-download", json={"path": path})
        return f"{t['url']}?token={t['token']}"


def _patch(url: str, offset: int, body: bytes) -> httpx.Response:
    headers = {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    return httpx.patch(url, content=body, headers=headers, timeout=60)


async def test_direct_upload_reads_and_sendfile_ranges(live_node: NodeProcess) -> None:
    data = os.urandom(3 * MIB + 12345)
    size = len(data)
    up = await _upload_url(live_node, "fast-ranges", "r.bin", data)
    # A body past the declared size is refused before a byte is written.
    res = _patch(up, 0, data + b"x")
    assert res.status_code == 400 and "declared size" in res.json()["msg"]
    # A wrong offset is a 409 that says where to resume.
    assert _patch(up, 5, data[5:]).status_code == 409
    # The body in two PATCHes (each read straight from the socket), then the file appears.
    half = size // 2
    res = _patch(up, 0, data[:half])
    assert res.status_code == 204 and res.headers["upload-offset"] == str(half)
    res = _patch(up, half, data[half:])
    assert res.status_code == 204 and res.headers["upload-offset"] == str(size)
    down = await _download_url(live_node, "fast-ranges", "r.bin")

    with httpx.Client(timeout=60) as http:  # one keep-alive connection for every request
        whole = http.get(down)
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-length"] == str(size)
        etag, modified = whole.headers["etag"], whole.headers["last-modified"]
        cases = {
            "bytes=100-199": (206, data[100:200], f"bytes 100-199/{size}"),
            "bytes=-500": (206, data[-500:], f"bytes {size - 500}-{size - 1}/{size}"),
            f"bytes={size - 10}-": (206, data[-10:], f"bytes {size - 10}-{size - 1}/{size}"),
            f"bytes=0-{size * 2}": (206, data, f"bytes 0-{size - 1}/{size}"),
        }
        for rng, (status, body, content_range) in cases.items():
            res = http.get(down, headers={"Range": rng})
            assert (res.status_code, res.headers["content-range"]) == (status, content_range)
            assert res.content == body, rng
        # If-Range: a matching validator (either kind) gets the range, a stale one the file.
        for validator in (etag, modified):
            res = http.get(down, headers={"Range": "bytes=10-19", "If-Range": validator})
            assert res.status_code == 206 and res.content == data[10:20]
        res = http.get(down, headers={"Range": "bytes=10-19", "If-Range": '"stale"'})
        assert res.status_code == 200 and res.content == data
        # Several ranges (or another unit) get the whole file, which HTTP allows.
        for rng in ("bytes=0-1,5-6", "items=0-1", "bytes=-"):
            res = http.get(down, headers={"Range": rng})
            assert res.status_code == 200 and res.content == data, rng
        res = http.get(down, headers={"Range": f"bytes={size}-"})
        assert res.status_code == 416 and res.headers["content-range"] == f"bytes */{size}"
        # The connection is still good after all of that (each response completed).
        assert http.get(down, headers={"Range": "bytes=0-0"}).content == data[:1]
    # A client that leaves mid-body costs the node nothing but the connection.
    with httpx.stream("GET", down, timeout=60) as res:
        next(res.iter_raw(1024))
    with httpx.Client(timeout=60) as http:
        assert http.get(down).content == data


def test_parallel_download_is_byte_exact_and_resumes_after_kill(
    live_node: NodeProcess, tmp_path: Path
) -> None:
    env = live_node.client_env()
    src = random_file(tmp_path / "par.bin", 512 * MIB + 777)
    assert run_bai("vfolder", "create", "fast-par", env=env).returncode == 0
    up = run_bai("vfolder", "upload", "fast-par", "par.bin", env=env, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    out = tmp_path / "out"
    out.mkdir()
    part, meta = out / "par.bin.bai-part", out / "par.bin.bai-part.json"
    args = ["vfolder", "download", "fast-par", "par.bin", "-b", str(out)]
    slow = [*args, "--streams", "4", "--split-above", "1M"]
    proc = bai_popen(slow, env, tmp_path)
    # Kill it once the ranges have recorded some progress, well before the end.
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            record = json.loads(meta.read_text())
            done = sum(s[2] for s in record["segments"])
        except (OSError, ValueError, KeyError):
            done = 0
        if done > 0:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(timeout=30)
    if proc.returncode == 0:
        pytest.fail("the download finished before it could be interrupted; use a bigger file")
    assert part.exists() and len(record["segments"]) == 4
    res = run_bai(*slow, env=env)
    assert res.returncode == 0, res.stderr
    assert "resuming at" in res.stdout + res.stderr
    assert sha256(out / "par.bin") == sha256(src)
    assert not part.exists() and not meta.exists()
    # One stream gives the same bytes.
    res = run_bai(*args, "--streams", "1", env=env)
    assert res.returncode == 0, res.stderr
    assert sha256(out / "par.bin") == sha256(src)


def test_small_and_empty_files_both_ways(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    sizes = {"empty.bin": 0, "one.bin": 1, "odd.bin": 3 * MIB + 1}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(os.urandom(size))
    assert run_bai("vfolder", "create", "fast-small", env=env).returncode == 0
    res = run_bai("vfolder", "upload", "fast-small", *sizes, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    # Ranges of about 1 MiB over three connections for the 3 MiB file; one for the others.
    args = ["--split-above", "1M", "--streams", "3", "-b", str(out)]
    res = run_bai("vfolder", "download", "fast-small", *sizes, *args, env=env)
    assert res.returncode == 0, res.stderr
    for name in sizes:
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert not list(out.glob("*.bai-part*"))

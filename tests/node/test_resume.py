"""Interrupted work resumes: a 1 GiB upload after a killed client and after a node restart,
a partial download, and a deletion cut short by a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.harness import REPO, NodeProcess, random_file, run_bai, sha256

pytestmark = pytest.mark.node
GIB = 1 << 30


def bai_popen(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BAI_", "BACKEND_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "bai", *args],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**base, "PYTHONPATH": str(REPO), **env},
    )


def staged_bytes(data_dir: Path) -> int:
    staging = data_dir / "volumes/local/.bai-staging"
    return sum(p.stat().st_size for p in staging.iterdir()) if staging.exists() else 0


def wait_for(cond: object, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def settled(measure: object, quiet: float = 0.5, timeout: float = 30.0) -> int:
    """A measurement once it has stopped changing for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = measure(), time.monotonic()  # type: ignore[operator]
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = measure()  # type: ignore[operator]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return int(last)
    raise AssertionError("the measurement never settled")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_file(tmp_path_factory.mktemp("big") / "big.bin", GIB)


def test_upload_resumes_after_client_is_killed(tmp_path: Path, big_file: Path) -> None:
    node = NodeProcess(tmp_path / "data").start()
    try:
        env = {**node.client_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
        assert run_bai("vfolder", "create", "up1", env=env).returncode == 0
        proc = bai_popen(
            ["vfolder", "upload", "up1", str(big_file), "--chunk-size", str(4 << 20)], env, tmp_path
        )
        wait_for(lambda: staged_bytes(node.data_dir) > GIB // 3, what="a third uploaded")
        proc.kill()
        proc.wait()
        # The node may still be writing the bytes of the PATCH that was in flight.
        had = settled(lambda: staged_bytes(node.data_dir))
        assert 0 < had < GIB
        # The client kept the upload's token; the node says where to resume.
        state = next((tmp_path / "state/bai/uploads").iterdir())
        ticket = json.loads(state.read_text())
        head = httpx.head(ticket["url"], params={"token": ticket["token"]})
        assert int(head.headers["upload-offset"]) == had
        res = run_bai("vfolder", "upload", "up1", str(big_file), env=env)
        assert res.returncode == 0, res.stderr
        out = tmp_path / "out"
        out.mkdir()
        res = run_bai("vfolder", "download", "up1", "big.bin", "-b", str(out), env=env)
        assert res.returncode == 0, res.stderr
        assert sha256(out / "big.bin") == sha256(big_file)
        assert staged_bytes(node.data_dir) == 0
        assert not list((tmp_path / "state/bai/uploads").iterdir())
    finally:
        node.stop()


def test_upload_survives_a_node_restart(tmp_path: Path, big_file: Path) -> None:
    data = tmp_path / "data"
    node = NodeProcess(data).start()
    port = node.endpoint.rsplit(":", 1)[1]
    env = {**node.client_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_bai("vfolder", "create", "up2", env=env).returncode == 0
    proc = bai_popen(
        ["vfolder", "upload", "up2", str(big_file), "--chunk-size", str(4 << 20)], env, tmp_path
    )
    try:
        wait_for(lambda: staged_bytes(data) > GIB // 3, what="a third uploaded")
        node.stop(signal.SIGKILL)  # a crash, not a clean stop
        time.sleep(1.0)
        node = NodeProcess(data, args=["--port", port]).start()
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        out = tmp_path / "out"
        out.mkdir()
        res = run_bai("vfolder", "download", "up2", "big.bin", "-b", str(out), env=env)
        assert res.returncode == 0, res.stderr
        assert sha256(out / "big.bin") == sha256(big_file)
    finally:
        proc.kill()
        node.stop()


def test_partial_download_resumes(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    src = random_file(tmp_path / "file.bin", 5_000_000)
    body = src.read_bytes()
    assert run_bai("vfolder", "create", "dl", env=env).returncode == 0
    assert run_bai("vfolder", "upload", "dl", str(src), env=env, cwd=tmp_path).returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    target, part = out / "file.bin", out / "file.bin.bai-part"
    meta = out / "file.bin.bai-part.json"
    # A previous run stopped after 1 MB. Its part file is marked (zeros) so the result shows
    # the client kept those bytes and fetched only the rest, with Range + If-Range.
    part.write_bytes(bytes(1_000_000))
    meta.write_text(json.dumps({"validator": _etag_of(env, "dl", "file.bin")}))
    res = run_bai("vfolder", "download", "dl", "file.bin", "-b", str(out), env=env)
    assert res.returncode == 0, res.stderr
    got = target.read_bytes()
    assert got[:1_000_000] == bytes(1_000_000) and got[1_000_000:] == body[1_000_000:]
    assert not part.exists() and not meta.exists()
    # If the remote file changed since (validator mismatch), the node sends it whole.
    part.write_bytes(bytes(1_000_000))
    meta.write_text(json.dumps({"validator": '"stale"'}))
    res = run_bai("vfolder", "download", "dl", "file.bin", "-b", str(out), env=env)
    assert res.returncode == 0, res.stderr
    assert target.read_bytes() == body


def _etag_of(env: dict[str, str], folder: str, path: str) -> str:
    res = run_bai("vfolder", "request-download", folder, path, "-o", "json", env=env)
    url = json.loads(res.stdout)["download_url"]
    return httpx.head(url).headers["etag"]


def test_deletion_resumes_after_a_crash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    node = NodeProcess(data).start()
    env = node.client_env()
    res = run_bai("vfolder", "create", "doomed", "-o", "json", env=env)
    folder_id = json.loads(res.stdout)["id"]
    hexid = folder_id.replace("-", "")
    root = next((data / "volumes/local").glob(f"*/{hexid[:2]}/{hexid[2:4]}/{hexid[4:]}"))
    for i in range(20):  # a tree big enough that removal is not instant
        d = root / f"d{i}"
        d.mkdir()
        for j in range(500):
            (d / f"f{j}").write_bytes(b"x")
    assert run_bai("vfolder", "delete", "-y", "doomed", env=env).returncode == 0
    assert run_bai("vfolder", "delete-trash", "-y", "doomed", env=env).returncode == 0
    node.stop(signal.SIGKILL)
    node = NodeProcess(data).start()
    try:
        env = node.client_env()

        def complete() -> bool:
            r = run_bai("vfolder", "info", folder_id, "-o", "json", env=env)
            return json.loads(r.stdout)["status"] == "delete-complete"

        wait_for(complete, timeout=60, what="delete-complete")
        assert not root.exists()
        assert not list((data / "volumes/local/.bai-trash").iterdir())
    finally:
        node.stop()

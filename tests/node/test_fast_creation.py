"""Many small files (tus creation-with-upload, committed in groups) and big files in parallel
parts (tus concatenation) through the real `bai` CLI against a real `bai serve`."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from bai.client import BaiClient, load_client_config
from bai.client import parts as parts_mod
from bai.client.transfers import UploadJob, state_dir
from tests.harness import NodeProcess, random_file, run_bai, sha256

pytestmark = pytest.mark.node
MIB = 1 << 20


def _tree(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for i in range(40):
        rel = f"d{i % 3}/sub{i % 2}/f{i:03d}.bin"
        files[rel] = os.urandom(i * 997)  # f000 is empty
    files["big/two-mib.bin"] = os.urandom(2 * MIB + 3)  # above the whole-file size
    files["top.txt"] = b"top\n"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "empty-dir").mkdir()
    return files


def test_many_small_files_round_trip(live_node: NodeProcess, tmp_path: Path) -> None:
    env = {**live_node.client_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_bai("vfolder", "create", "many", env=env).returncode == 0
    src = tmp_path / "tree"
    files = _tree(src)
    res = run_bai("vfolder", "upload", "many", "-r", "tree", env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"Uploaded {len(files)} file(s)" in res.stdout
    # Uploading again overwrites: same tree, same usage.
    res = run_bai("vfolder", "upload", "many", "-r", "tree", env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    res = run_bai("vfolder", "download", "many", "tree", "-b", str(out), env=env)
    assert res.returncode == 0, res.stderr
    for rel, data in files.items():
        assert (out / "tree" / rel).read_bytes() == data, rel
    assert (out / "tree" / "empty-dir").is_dir()
    res = run_bai("vfolder", "info", "many", "-o", "json", env=env)
    info = msgspec.json.decode(res.stdout)
    assert info["num_files"] == len(files)
    assert info["cur_size"] == sum(map(len, files.values()))
    staging = live_node.data_dir / "volumes/local/.bai-staging"
    assert not list(staging.iterdir())


def test_small_files_refused_is_one_clear_error(live_node: NodeProcess, tmp_path: Path) -> None:
    env = {**live_node.client_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_bai("vfolder", "create", "clash", env=env).returncode == 0
    assert run_bai("vfolder", "mkdir", "clash", "t/f005.bin", "-p", env=env).returncode == 0
    src = tmp_path / "t"
    src.mkdir()
    for i in range(12):
        (src / f"f{i:03d}.bin").write_bytes(b"x" * 100)
    res = run_bai("vfolder", "upload", "clash", "-r", "t", env=env, cwd=tmp_path)
    assert res.returncode == 73 and "f005.bin is a directory" in res.stderr
    assert "Traceback" not in res.stderr


def test_big_file_in_parallel_parts(live_node: NodeProcess, tmp_path: Path) -> None:
    env = {**live_node.client_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_bai("vfolder", "create", "parts", env=env).returncode == 0
    src = random_file(tmp_path / "big.bin", 9 * MIB + 12345)
    args = ["vfolder", "upload", "parts", "big.bin", "--streams", "3", "--split-above", "1M"]
    res = run_bai(*args, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = run_bai("vfolder", "download", "parts", "big.bin", "-b", str(tmp_path / "o"), env=env)
    assert res.returncode == 0, res.stderr
    assert sha256(tmp_path / "o" / "big.bin") == sha256(src)
    assert not list((live_node.data_dir / "volumes/local/.bai-staging").iterdir())
    assert not list((tmp_path / "state").rglob("*.parts"))


async def test_parts_resume(
    live_node: NodeProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload stopped after one of its parts continues with the rest, byte-exact."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    env = {**live_node.client_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_bai("vfolder", "create", "resume-parts", env=env).returncode == 0
    src = random_file(tmp_path / "r.bin", 6 * MIB + 7)
    size = src.stat().st_size
    job = UploadJob("resume-parts", src, "r.bin")
    async with BaiClient(load_client_config(live_node.data_dir)) as c:
        state = await parts_mod._start(c, job, size, 3)
        sent = [0, 0, 0]
        fd = os.open(src, os.O_RDONLY)
        try:
            parts_mod._send_part(c, state.parts[1], fd, 0, sent, 1)  # the run stopped here
        finally:
            os.close(fd)
        state_file = state_dir() / (job.key(c.config.endpoint) + ".parts")
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.write_bytes(msgspec.json.encode(state))
    res = run_bai("vfolder", "ls", "resume-parts", env=env)
    assert "r.bin" not in res.stdout  # a part is never visible
    args = ["vfolder", "upload", "resume-parts", "r.bin", "--streams", "3", "--split-above", "1M"]
    res = run_bai(*args, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "resuming at" in res.stderr
    out = tmp_path / "o"
    res = run_bai("vfolder", "download", "resume-parts", "r.bin", "-b", str(out), env=env)
    assert res.returncode == 0, res.stderr
    assert sha256(out / "r.bin") == sha256(src)
    assert not state_file.exists()

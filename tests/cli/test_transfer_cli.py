"""`bai vfolder upload|download` as a new user meets them: missing directories, a node that is
down, an upload that continues an earlier one, and directories fetched whole."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from bai.client import BaiClient, ClientConfig
from bai.client.transfers import UploadJob
from tests.cli.helpers import js, ok, one_error_line
from tests.harness import NodeProcess, run_bai

pytestmark = pytest.mark.node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_download_creates_a_missing_base_dir(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    ok("vfolder", "create", "dl-mkdir", env=env)
    (tmp_path / "a.txt").write_text("alpha\n")
    ok("vfolder", "upload", "dl-mkdir", "a.txt", env=env, cwd=tmp_path)

    target = tmp_path / "not" / "there" / "yet"
    ok("vfolder", "download", "dl-mkdir", "a.txt", "-b", str(target), env=env)
    assert (target / "a.txt").read_text() == "alpha\n"

    (tmp_path / "plain-file").write_text("in the way")
    res = run_bai(
        "vfolder", "download", "dl-mkdir", "a.txt", "-b", str(tmp_path / "plain-file" / "sub"),
        env=env,
    )  # fmt: skip
    assert res.returncode == 73
    one_error_line(res.stderr)
    assert "cannot create directory" in res.stderr


def test_upload_to_a_node_that_is_down_fails_at_once(tmp_path: Path) -> None:
    env = {
        "BACKEND_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "BACKEND_ACCESS_KEY": "AKIADOWNDOWNDOWN0000",
        "BACKEND_SECRET_KEY": "x" * 40,
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20))
    started = time.monotonic()
    res = run_bai("vfolder", "upload", "f", "big.bin", env=env, cwd=tmp_path)
    assert time.monotonic() - started < 8
    assert res.returncode == 69
    one_error_line(res.stderr)
    assert "cannot reach the node" in res.stderr

    # The same with an earlier upload to resume: the kept ticket is not thrown away.
    job = UploadJob("f", big, "big.bin")
    state = state_dir_for(tmp_path) / job.key(env["BACKEND_ENDPOINT"])
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"url": env["BACKEND_ENDPOINT"] + "/upload", "token": "t"}))
    started = time.monotonic()
    res = run_bai("vfolder", "upload", "f", "big.bin", env=env, cwd=tmp_path)
    assert time.monotonic() - started < 8
    assert res.returncode == 69
    one_error_line(res.stderr)
    assert state.exists()


def state_dir_for(tmp_path: Path) -> Path:
    # Where `bai` keeps upload tickets with XDG_STATE_HOME=tmp_path/state.
    return tmp_path / "state" / "bai" / "uploads"


async def test_a_continued_upload_says_where_it_resumes(
    live_node: NodeProcess, tmp_path: Path
) -> None:
    env = {**live_node.client_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    ok("vfolder", "create", "resume-msg", env=env)
    data = os.urandom(3 << 20)
    src = tmp_path / "part.bin"
    src.write_bytes(data)
    half = len(data) // 2
    # An earlier run that stopped half-way: its ticket in the state file, half the bytes sent.
    config = ClientConfig(
        env["BACKEND_ENDPOINT"], env["BACKEND_ACCESS_KEY"], env["BACKEND_SECRET_KEY"]
    )
    async with BaiClient(config) as client:
        ticket = await client.files.request_upload("resume-msg", "part.bin", len(data))
        patch = httpx.patch(
            ticket.url,
            params={"token": ticket.token},
            content=data[:half],
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert patch.status_code == 204, patch.text
    job = UploadJob("resume-msg", src, "part.bin")
    state = state_dir_for(tmp_path) / job.key(env["BACKEND_ENDPOINT"])
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"url": ticket.url, "token": ticket.token}))

    res = run_bai("vfolder", "upload", "resume-msg", "part.bin", env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"resuming at {half} bytes" in res.stdout + res.stderr
    out = tmp_path / "out"
    ok("vfolder", "download", "resume-msg", "part.bin", "-b", str(out), env=env)
    assert (out / "part.bin").read_bytes() == data
    assert not state.exists()

    # A fresh upload says nothing about resuming.
    res = run_bai("vfolder", "upload", "resume-msg", "part.bin", env=env, cwd=tmp_path)
    assert res.returncode == 0 and "resuming" not in res.stdout + res.stderr


def test_download_of_a_directory_keeps_relative_paths(
    live_node: NodeProcess, tmp_path: Path
) -> None:
    env = live_node.client_env()
    ok("vfolder", "create", "tree", env=env)
    src = tmp_path / "proj"
    (src / "src" / "pkg").mkdir(parents=True)
    (src / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (src / "README").write_text("readme\n")
    (src / "empty").mkdir()
    ok("vfolder", "upload", "-r", "tree", "proj", env=env, cwd=tmp_path)

    out = tmp_path / "out"
    stdout = ok("vfolder", "download", "tree", "proj", "-b", str(out), env=env)
    assert "2 file(s)" in stdout
    assert (out / "proj" / "src" / "pkg" / "mod.py").read_text() == "x = 1\n"
    assert (out / "proj" / "README").read_text() == "readme\n"
    assert (out / "proj" / "empty").is_dir()
    assert not [p for p in out.iterdir() if p.name.startswith(".bai")]  # no leftovers

    # A nested directory lands under its own name; the folder's top under the folder's name.
    ok("vfolder", "download", "tree", "proj/src", "-b", str(out / "nested"), env=env)
    assert (out / "nested" / "src" / "pkg" / "mod.py").exists()
    ok("vfolder", "download", "tree", ".", "-b", str(out / "top"), env=env)
    assert (out / "top" / "tree" / "proj" / "README").exists()

    # Files and directories mix in one command.
    listing = js("vfolder", "ls", "tree", "proj", env=env)["files"]
    assert {f["name"] for f in listing} == {"src", "README", "empty"}
    ok("vfolder", "download", "tree", "proj/README", "proj/src", "-b", str(out / "mix"), env=env)
    assert (out / "mix" / "README").exists() and (out / "mix" / "src" / "pkg").is_dir()

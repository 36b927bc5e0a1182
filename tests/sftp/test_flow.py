"""The seed's flow with real OpenSSH clients: start an SFTP session from the CLI, copy a tree
in with `scp -r` and `sftp`, work on it, and find it with `bai vfolder ls` and the official
client; resumed transfers; preserved times and modes; what the service advertises."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.harness import backend_ai, random_file, run_bai, sha256
from tests.sftp.conftest import SftpWorld
from tests.sftp.openssh import Target, scp, sftp

pytestmark = pytest.mark.node


def make_tree(root: Path) -> Path:
    (root / "tree/sub/deeper").mkdir(parents=True)
    (root / "tree/a.txt").write_text("alpha\n")
    (root / "tree/sub/b.txt").write_text("beta\n")
    random_file(root / "tree/sub/deeper/c.bin", 3 << 20)
    (root / "tree/empty").mkdir()
    return root / "tree"


def test_seed_flow_cli_scp_sftp_and_both_clients_see_it(
    world: SftpWorld, tmp_path: Path, official_cli: Path
) -> None:
    user = world.user()
    env = {**user.env, "XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_bai("vfolder", "create", "seed", env=env).returncode == 0
    res = run_bai("vfolder", "sftp", "seed", env=env)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    # Everything a user needs to connect is printed, and the commands work as printed.
    assert f"port:      {world.node.sftp_port}" in out and "user:      work" in out
    assert world.node.sftp_fingerprint in out
    key = Path(re.search(r"key:\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "sftp -i" in out and "scp -i" in out and "rsync" in out
    t = Target(world.node.sftp_port, key, world.known_hosts)

    tree = make_tree(tmp_path)
    res = scp(t, "-r", str(tree), f"{t.login}:/seed/", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (tmp_path / "notes.txt").write_text("notes\n")
    res = sftp(
        t,
        "cd /seed",
        "put notes.txt",
        "mkdir work",
        "rename notes.txt work/notes.md",
        "ls -l work",
        "get tree/sub/deeper/c.bin c.copy",
        "put notes.txt extra.txt",
        "rm extra.txt",
        "mkdir gone",
        "rmdir gone",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "notes.md" in res.stdout
    assert sha256(tmp_path / "c.copy") == sha256(tree / "sub/deeper/c.bin")

    res = run_bai("vfolder", "ls", "seed", "-o", "json", env=env)
    names = {f["name"] for f in json.loads(res.stdout)["files"]}
    assert names == {"tree", "work"}
    res = run_bai("vfolder", "ls", "seed", "tree/sub/deeper", "-o", "json", env=env)
    assert [(f["name"], f["size"]) for f in json.loads(res.stdout)["files"]] == [("c.bin", 3 << 20)]
    official = backend_ai(official_cli, user.env, tmp_path, "vfolder", "ls", "seed", "tree/sub")
    assert official.returncode == 0, official.stderr
    assert "b.txt" in official.stdout and "deeper" in official.stdout
    # Usage counted every byte that landed, with no scan.
    info = json.loads(run_bai("vfolder", "info", "seed", "-o", "json", env=env).stdout)
    assert info["num_files"] == 4
    assert info["cur_size"] == len("alpha\nbeta\nnotes\n") + (3 << 20)


def test_reput_and_reget_resume(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("resume")
    user.start("resume")
    t = world.target(user)
    big = random_file(tmp_path / "big.bin", 5 << 20)
    (tmp_path / "part.bin").write_bytes(big.read_bytes()[: 2 << 20])
    res = sftp(t, "put part.bin /resume/big.bin", "reput big.bin /resume/big.bin", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = sftp(t, "get /resume/big.bin whole.bin", cwd=tmp_path)
    assert sha256(tmp_path / "whole.bin") == sha256(big)
    # A download cut short, resumed where the local copy ends.
    (tmp_path / "half.bin").write_bytes(big.read_bytes()[: 3 << 20])
    res = sftp(t, "reget /resume/big.bin half.bin", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sha256(tmp_path / "half.bin") == sha256(big)


def test_scp_p_keeps_times_and_modes(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    folder = user.folder("keep")
    user.start("keep")
    t = world.target(user)
    src = tmp_path / "src"
    src.mkdir()
    script = src / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    os.utime(script, (1_600_000_000, 1_600_000_000))
    res = scp(t, "-rp", str(src), f"{t.login}:/keep/", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    entries = user.call(lambda c: c.files.ls("keep", "src"))
    (entry,) = [e for e in entries if e.name == "run.sh"]
    assert entry.mode == "-rwxr-x---"
    assert entry.modified.startswith("2020-09-13T12:26:40")
    # chmod over sftp keeps what the node needs (the owner's read and write).
    res = sftp(t, "chmod 000 /keep/src/run.sh", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (entry,) = [e for e in user.call(lambda c: c.files.ls("keep", "src")) if e.name == "run.sh"]
    assert entry.mode == "-rw-------"
    assert folder.name == "keep"


def test_limits_and_no_compression_are_advertised(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("lim")
    user.start("lim")
    t = world.target(user)
    res = subprocess.run(
        ["sftp", "-vvv", "-C", *t.options(), "-P", str(t.port), "-b", "-", t.login],
        input="ls /\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    # OpenSSH reads the server's limits@openssh.com and sizes its requests by them.
    assert "server upload/download buffer sizes 261120 / 261120" in res.stderr, res.stderr[-3000:]
    # Compression was asked for (-C) and not granted.
    assert re.search(r"compression: none", res.stderr), res.stderr[-3000:]


def test_rsync_into_an_sshfs_mount_as_printed(world: SftpWorld, tmp_path: Path) -> None:
    missing = [t for t in ("sshfs", "rsync", "fusermount") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"RSYNC-OVER-SSHFS NOT RUN: {', '.join(missing)} missing")
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        pytest.skip("RSYNC-OVER-SSHFS NOT RUN: no usable /dev/fuse on this machine")
    user = world.user()
    home = tmp_path / "home"
    home.mkdir()
    env = {**user.env, "XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_bai("vfolder", "create", "synced", env=env).returncode == 0
    res = run_bai("vfolder", "sftp", "synced", env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    start = lines.index(next(line for line in lines if "# rsync" in line))
    mount_cmd, rsync_cmd = (line.strip() for line in lines[start + 1 : start + 3])
    trust = f"-o UserKnownHostsFile={world.known_hosts} -o StrictHostKeyChecking=yes "
    mount_cmd = mount_cmd.replace("sshfs ", "sshfs " + trust, 1)
    make_tree(home)
    shell = {**os.environ, "HOME": str(home)}
    mounted = subprocess.run(mount_cmd, shell=True, cwd=home, env=shell, capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"RSYNC-OVER-SSHFS NOT RUN: sshfs cannot mount here: {mounted.stderr!r}")
    try:
        res = subprocess.run(rsync_cmd.replace("./DIR", "./tree"), shell=True, cwd=home, env=shell)
        assert res.returncode == 0
    finally:
        subprocess.run(["fusermount", "-u", str(home / "bai-sftp")], capture_output=True)
    files = user.call(lambda c: c.files.ls("synced", "tree/sub/deeper"))
    assert [(f.name, f.size) for f in files] == [("c.bin", 3 << 20)]
    back = tmp_path / "back.bin"
    assert user.call(lambda c: c.files.download("synced", "tree/sub/deeper/c.bin", back))
    assert sha256(back) == sha256(home / "tree/sub/deeper/c.bin")

"""The SFTP service on a btrfs volume, where the kernel enforces the quota: a write the kernel
refuses reaches the client as the node's one "quota exceeded" message, and nothing stays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.harness import NodeProcess, random_file, sha256
from tests.sftp.conftest import SftpWorld, snapshot
from tests.sftp.openssh import require_openssh, sftp

pytestmark = pytest.mark.node


def test_btrfs_folder_over_sftp(btrfs_root: Path, tmp_path: Path) -> None:
    require_openssh()
    vol = btrfs_root / os.urandom(6).hex()
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f'[volume.fast]\nbackend = "btrfs"\npath = "{vol}"\n'
        '[volume.local]\nbackend = "vfs"\npath = "volumes/local"\n'
    )
    node = NodeProcess(tmp_path / "data", args=["--config", str(cfg)]).start()
    try:
        world = SftpWorld(node, tmp_path)
        user = world.user()
        user.folder("kq", host="fast")
        limit = world.admin.call(lambda c: c.quota.set("fast", user.email, "16m"))
        assert limit.kernel_enforced
        user.start("kq")
        t = world.target(user)
        random_file(tmp_path / "ok.bin", 4 << 20)
        res = sftp(t, "put ok.bin /kq/ok.bin", "get /kq/ok.bin back.bin", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert sha256(tmp_path / "back.bin") == sha256(tmp_path / "ok.bin")
        random_file(tmp_path / "big.bin", 64 << 20)
        before = snapshot(vol)
        res = sftp(t, "put big.bin /kq/big.bin", cwd=tmp_path)
        assert res.returncode != 0
        assert f"bai: quota exceeded: the quota of {user.email} on host 'fast'" in res.stderr
        assert snapshot(vol) == before
    finally:
        node.stop()

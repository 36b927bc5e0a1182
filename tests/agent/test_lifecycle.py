"""Sessions across a node crash, and the kernel's quota inside a sandbox on btrfs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from tests.agent.conftest import IMAGE, NODE_TOML, require_bwrap, start_session_node

pytestmark = pytest.mark.node


def test_sessions_of_a_crashed_node_are_cleaned_at_start() -> None:
    require_bwrap()
    base = Path(tempfile.mkdtemp(prefix="bai-crash-", dir="/var/tmp"))
    data = base / "bai-data"
    try:
        n = start_session_node(data)
        n.ok("vfolder", "create", "kept")
        n.ok("session", "create", "--image", IMAGE, "--name", "orphan", "-m", "kept")
        assert json.loads(n.ok("vfolder", "info", "kept", "-o", "json"))["status"] == "mounted"
        assert len(list((data / "sessions").iterdir())) == 1
        n.node.stop(signal.SIGKILL)  # no clean shutdown: the database still says "running"
        n = start_session_node(data)
        try:
            s = json.loads(n.ok("session", "info", "orphan", "-o", "json"))
            assert (s["status"], s["statusInfo"]) == ("TERMINATED", "node restarted")
            assert json.loads(n.ok("vfolder", "info", "kept", "-o", "json"))["status"] == "ready"
            assert list((data / "sessions").iterdir()) == []
            n.ok("vfolder", "delete", "kept", "-y")  # nothing holds it any more
        finally:
            n.node.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_btrfs_quota_stops_writes_inside_the_sandbox(btrfs_root: Path, tmp_path: Path) -> None:
    require_bwrap()
    vol = btrfs_root / os.urandom(6).hex()
    toml = NODE_TOML + f'\n[volume.fast]\nbackend = "btrfs"\npath = "{vol}"\n'
    n = start_session_node(tmp_path / "bai-data", toml)
    try:
        n.ok("vfolder", "create", "kq", "fast")
        n.ok("admin", "quota-scope", "set", "fast", "admin@bai.local", "16m")
        res = n.bai(
            "run", "--rm", "--image", IMAGE, "-m", "kq", "--", "sh", "-c",
            "dd if=/dev/zero of=kq/big bs=1M count=64 conv=fsync; echo dd=$?",
        )  # fmt: skip
        assert "Disk quota exceeded" in res.stderr, res.stdout + res.stderr
        assert "dd=1" in res.stdout
        # Below the limit, writes go through.
        res = n.bai("run", "--rm", "--image", IMAGE, "-m", "kq", "--", "sh", "-c",
                    "rm -f kq/big; head -c 1048576 /dev/zero > kq/small && echo ok")  # fmt: skip
        assert res.stdout == "ok\n", res.stderr
    finally:
        n.node.stop()

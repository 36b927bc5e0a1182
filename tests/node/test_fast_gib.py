"""A 1 GiB file through `bai` both ways (sendfile upload, parallel ranged download) arrives
byte-exact. One round trip: the suite's time matters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import NodeProcess, random_file, run_bai, sha256

pytestmark = pytest.mark.node
GIB = 1 << 30


def test_one_gib_round_trip_through_bai(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    src = random_file(tmp_path / "gib.bin", GIB)
    assert run_bai("vfolder", "create", "fast-gib", env=env).returncode == 0
    res = run_bai("vfolder", "upload", "fast-gib", "gib.bin", env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    res = run_bai("vfolder", "download", "fast-gib", "gib.bin", "-b", str(out), env=env)
    assert res.returncode == 0, res.stderr
    assert sha256(out / "gib.bin") == sha256(src)

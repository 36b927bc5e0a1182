"""A 1 GiB file through the official client both ways (plain tus in 16 MiB PATCHes, whose
bodies the node reads straight from the socket; a download sent with sendfile) arrives
byte-exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import NodeProcess, backend_ai, random_file, sha256

pytestmark = pytest.mark.official
GIB = 1 << 30


def test_one_gib_round_trip_through_the_official_client(
    official_cli: Path, live_node: NodeProcess, tmp_path: Path
) -> None:
    env = live_node.client_env()
    src = random_file(tmp_path / "gib.bin", GIB)
    ba = lambda cwd, *a: backend_ai(official_cli, env, cwd, *a, timeout=900)  # noqa: E731
    res = ba(tmp_path, "vfolder", "create", "fast-gib-official", "local")
    assert res.returncode == 0, res.stdout + res.stderr
    res = ba(tmp_path, "vfolder", "upload", "fast-gib-official", "gib.bin")
    assert res.returncode == 0, res.stdout + res.stderr
    out = tmp_path / "out"
    out.mkdir()
    res = ba(out, "vfolder", "download", "fast-gib-official", "gib.bin")
    assert res.returncode == 0, res.stdout + res.stderr
    assert sha256(out / "gib.bin") == sha256(src)

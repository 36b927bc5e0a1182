"""What a compute session can plant in a folder, met by the `bai` CLI against a real node:
one clear `error:` line at once, no retries, no traceback in the node's log."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.harness import NodeProcess, run_bai

pytestmark = pytest.mark.node


def folder_dir(node: NodeProcess, info_json: str) -> Path:
    import json

    info = json.loads(info_json)
    h = info["id"].replace("-", "")
    scope = info["quota_scope_id"].split(":")[1].replace("-", "")
    return node.data_dir / "volumes/local" / scope / h[:2] / h[2:4] / h[4:]


def test_symlink_loop_and_fifo_are_one_clear_error(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    assert run_bai("vfolder", "create", "planted", env=env).returncode == 0
    info = run_bai("vfolder", "info", "planted", "-o", "json", env=env)
    root = folder_dir(live_node, info.stdout)
    os.symlink("loop", root / "loop")  # `ln -s loop loop`, as a session could
    os.mkfifo(root / "fifo")
    (root / "fine.txt").write_text("fine\n")

    listing = run_bai("vfolder", "ls", "planted", env=env)
    assert listing.returncode == 0 and "loop" in listing.stdout and "fifo" in listing.stdout
    for path, needle in (("loop", "symlink loop"), ("fifo", "fifo")):
        t0 = time.monotonic()
        res = run_bai("vfolder", "download", "planted", path, "-b", str(tmp_path), env=env)
        took = time.monotonic() - t0
        errors = [x for x in res.stderr.splitlines() if x.startswith("error:")]
        assert res.returncode == 65, res.stderr
        assert len(errors) == 1 and needle in errors[0] and "Traceback" not in res.stderr
        assert took < 10, f"{path}: {took:.1f} s (retried?)"
    res = run_bai("vfolder", "ls", "planted", "loop", env=env)
    assert res.returncode == 65 and "not a directory" in res.stderr
    ok = run_bai("vfolder", "download", "planted", "fine.txt", "-b", str(tmp_path), env=env)
    assert ok.returncode == 0 and (tmp_path / "fine.txt").read_text() == "fine\n"
    live_node.check_log()  # nothing above left a traceback in the node's log

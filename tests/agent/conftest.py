"""Fixtures for compute sessions: a live node with images, and a helper to run `bai`."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import NodeProcess, run_bai

IMAGE = "python:3.11"
NODE_TOML = f"""\
[volume.local]
backend = "vfs"
path = "volumes/local"

[image."{IMAGE}"]
rootfs = "/"
query = ["python3", "-c"]

[image."tiny"]
rootfs = "/"
pids = 16
memory = "64m"
"""


def bwrap_unavailable() -> str | None:
    """Why sandboxes cannot run here, or None when they can."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap is not installed (scripts/test installs it)"
    res = subprocess.run(
        [exe, "--ro-bind", "/", "/", "--unshare-user", "--unshare-pid", "--", "true"],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        return f"bwrap cannot make namespaces here: {res.stderr.strip()}"
    return None


def require_bwrap() -> None:
    why = bwrap_unavailable()
    if why:
        pytest.skip(f"SANDBOX TESTS NOT RUN: {why}")


@dataclass
class SessionNode:
    node: NodeProcess
    env: dict[str, str]

    @property
    def data_dir(self) -> Path:
        return self.node.data_dir

    def bai(
        self, *args: str, input: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_bai(*args, env=self.env, input=input, cwd=cwd)

    def ok(self, *args: str, input: str | None = None, cwd: Path | None = None) -> str:
        res = self.bai(*args, input=input, cwd=cwd)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout


def start_session_node(
    data_dir: Path, toml: str = NODE_TOML, args: list[str] | None = None
) -> SessionNode:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "node.toml").write_text(toml)
    node = NodeProcess(data_dir, args=args or []).start()
    return SessionNode(node, node.client_env())


@pytest.fixture(scope="module")
def sessions_node() -> Iterator[SessionNode]:
    """A node whose data directory lies inside the image root (under /var/tmp, which the
    image `/` shows), so that hiding it from sessions is really exercised."""
    require_bwrap()
    base = Path(tempfile.mkdtemp(prefix="bai-agent-", dir="/var/tmp"))
    try:
        n = start_session_node(base / "bai-data")
        yield n
        n.node.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)

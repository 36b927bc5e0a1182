"""Fixtures of the adversarial suite: a real node per module, attacked over HTTP."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.adversarial.helpers import Live, kill_node, start_node
from tests.harness import NodeProcess

SHM = Path("/dev/shm")


@pytest.fixture(scope="module")
def node_volume(request: pytest.FixtureRequest) -> Iterator[Path | None]:
    """A module that sets `VOLUME_ON_TMPFS = True` gets its node's volume on /dev/shm, where
    a session's 100,000 files are made in a second rather than in tens on a busy disk."""
    if not getattr(request.module, "VOLUME_ON_TMPFS", False) or not os.access(SHM, os.W_OK):
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix="bai-adversarial-", dir=SHM))
    try:
        yield base / "volume"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def node_proc(
    tmp_path_factory: pytest.TempPathFactory, node_volume: Path | None
) -> Iterator[NodeProcess]:
    """One real `bai serve` per test module; a node frozen by a test is killed at the end."""
    toml = ""
    if node_volume is not None:
        toml = f'[volume.local]\nbackend = "vfs"\npath = "{node_volume}"\n'
    proc = start_node(tmp_path_factory.mktemp("adversarial") / "bai-data", toml)
    yield proc
    kill_node(proc)


@pytest.fixture
async def live(node_proc: NodeProcess, node_volume: Path | None) -> AsyncIterator[Live]:
    """The module's node, with a client that can hold many connections. Nothing a test does
    to the node may leave a traceback in its log."""
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=50)
    timeout = httpx.Timeout(30.0, connect=5.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
        node = Live(node_proc, http, node_volume)
        mark = node.log_mark()
        yield node
        log = node.log_since(mark)
        assert "Traceback" not in log, "the node logged a traceback:\n" + log[-3000:]

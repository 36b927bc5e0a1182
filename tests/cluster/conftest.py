"""Two real `bai serve` processes on one throwaway PostgreSQL database and one shared volume."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.client import BaiClient, ClientConfig
from bai.db.engine import create_engine
from tests.harness import NodeProcess
from tests.pgserver import PgServer

HEARTBEAT = 0.5
DOWN_AFTER = 3.0


def node_toml(url: str, secret: Path, volume: Path) -> str:
    return (
        f'[database]\nurl = "{url}"\n\n'
        f'[node]\nsecret_file = "{secret}"\nheartbeat = {HEARTBEAT}\ndown_after = {DOWN_AFTER}\n\n'
        '[storage]\ndefault_host = "shared"\n\n'
        f'[volume.shared]\nbackend = "vfs"\npath = "{volume}"\nshared = true\n'
    )


@dataclass
class Cluster:
    a: NodeProcess
    b: NodeProcess
    volume: Path
    db_url: str
    engine: AsyncEngine
    env: dict[str, str]  # the superadmin's credentials (BACKEND_ENDPOINT: node A)

    def env_for(self, node: NodeProcess) -> dict[str, str]:
        return {**self.env, "BACKEND_ENDPOINT": node.endpoint}

    def client(self, node: NodeProcess, keys: tuple[str, str] | None = None) -> BaiClient:
        ak, sk = keys or (self.env["BACKEND_ACCESS_KEY"], self.env["BACKEND_SECRET_KEY"])
        return BaiClient(ClientConfig(node.endpoint, ak, sk), timeout=60)

    def node_id(self, node: NodeProcess) -> str:
        return (node.data_dir / "node.id").read_text().strip()

    async def scalar(self, query: sa.Executable) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(query)


def start_together(nodes: list[NodeProcess]) -> None:
    """Start the nodes at the same moment (they race for migrations and bootstrap)."""
    errors: list[BaseException] = []

    def run(n: NodeProcess) -> None:
        try:
            n.start(timeout=60)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        for n in nodes:
            if n.proc is not None and n.proc.poll() is None:
                n.proc.kill()
        raise errors[0]


@contextlib.contextmanager
def two_nodes(base: Path, pg: PgServer) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    url = pg.new_database(migrated=False)  # the nodes migrate it, both at once
    toml = base / "node.toml"
    toml.write_text(node_toml(url, base / "cluster.secret", base / "shared-volume"))
    nodes = [
        NodeProcess(base / name / "bai-data", args=["--config", str(toml)]) for name in ("a", "b")
    ]
    start_together(nodes)
    try:
        yield nodes[0], nodes[1]
    finally:
        for n in nodes:
            if n.proc is not None and n.proc.poll() is None:
                n.stop()
        for n in nodes:
            n.check_log()


@pytest.fixture(scope="module")
def shared_pair(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer
) -> Iterator[tuple[Path, NodeProcess, NodeProcess]]:
    """One pair for the tests that leave both nodes running (each uses names of its own)."""
    base = tmp_path_factory.mktemp("pair")
    with two_nodes(base, pg_server) as (a, b):
        yield base, a, b


@contextlib.asynccontextmanager
async def cluster_of(base: Path, a: NodeProcess, b: NodeProcess) -> AsyncIterator[Cluster]:
    # Whichever node won the start-up lock created the superadmin and wrote client.env.
    first = a if (a.data_dir / "client.env").exists() else b
    url = (base / "node.toml").read_text().split('url = "')[1].split('"')[0]
    engine = create_engine(url)
    try:
        yield Cluster(a, b, base / "shared-volume", url, engine, first.client_env())
    finally:
        await engine.dispose()


@pytest.fixture
async def cluster(shared_pair: tuple[Path, NodeProcess, NodeProcess]) -> AsyncIterator[Cluster]:
    async with cluster_of(*shared_pair) as c:
        yield c


@pytest.fixture
async def own_cluster(tmp_path: Path, pg_server: PgServer) -> AsyncIterator[Cluster]:
    """A pair of its own, for a test that kills a node."""
    with two_nodes(tmp_path, pg_server) as (a, b):
        async with cluster_of(tmp_path, a, b) as c:
            yield c


async def wait_for(check: Any, what: str, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll the coroutine function `check` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)

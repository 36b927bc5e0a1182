"""Node-local volumes: any node answers for a folder, and transfers go to the node that holds
its bytes (request-upload/request-download through node B hand out node A's URL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bai.db import tables as t
from bai.db.engine import create_engine
from bai.errors import NotFound
from tests.cluster.conftest import DOWN_AFTER, HEARTBEAT, Cluster, start_together, wait_for
from tests.harness import NodeProcess, backend_ai, random_file, sha256
from tests.pgserver import PgServer

pytestmark = [pytest.mark.node, pytest.mark.official]


def local_toml(url: str, secret: Path, volume: str, path: Path) -> str:
    return (
        f'[database]\nurl = "{url}"\n\n'
        f'[node]\nsecret_file = "{secret}"\nheartbeat = {HEARTBEAT}\ndown_after = {DOWN_AFTER}\n\n'
        f'[storage]\ndefault_host = "{volume}"\n\n'
        f'[volume.{volume}]\nbackend = "vfs"\npath = "{path}"\n'
    )


@pytest.fixture
async def local_nodes(tmp_path: Path, pg_server: PgServer) -> AsyncIterator[Cluster]:
    """Node A with its local volume `avol`, node B with `bvol`, on one database."""
    url = pg_server.new_database()
    secret = tmp_path / "cluster.secret"
    nodes = []
    for name in ("a", "b"):
        toml = tmp_path / f"{name}.toml"
        toml.write_text(local_toml(url, secret, f"{name}vol", tmp_path / f"{name}-volume"))
        nodes.append(NodeProcess(tmp_path / name / "bai-data", args=["--config", str(toml)]))
    start_together(nodes)
    a, b = nodes
    first = a if (a.data_dir / "client.env").exists() else b
    engine = create_engine(url)
    try:
        yield Cluster(a, b, tmp_path, url, engine, first.client_env())
    finally:
        await engine.dispose()
        for n in nodes:
            n.stop()


async def test_transfers_of_a_folder_on_a_go_to_a_through_b(
    local_nodes: Cluster, official_cli: Path, tmp_path: Path
) -> None:
    c = local_nodes
    env_a, env_b = c.env_for(c.a), c.env_for(c.b)
    a, b = c.client(c.a), c.client(c.b)
    try:

        def official(env: dict[str, str], cwd: Path, *args: str) -> str:
            res = backend_ai(official_cli, env, cwd, *args)
            assert res.returncode == 0, res.stdout + res.stderr
            return res.stdout

        src = random_file(tmp_path / "onA.bin", 2 << 20)
        official(env_a, tmp_path, "vfolder", "create", "holder", "avol")
        official(env_a, tmp_path, "vfolder", "upload", "holder", "onA.bin")
        # Through B: the ticket names A, and the bytes come from A.
        ticket = await b.post("/folders/holder/request-download", json={"path": "onA.bin"})
        assert ticket["url"].startswith(c.a.endpoint), ticket
        down = tmp_path / "down"
        down.mkdir()
        official(env_b, down, "vfolder", "download", "holder", "onA.bin")
        assert sha256(down / "onA.bin") == sha256(src)
        # An upload through B lands on A's volume.
        up = tmp_path / "up"
        up.mkdir()
        random_file(up / "viaB.bin", 1 << 20)
        official(env_b, up, "vfolder", "upload", "holder", "viaB.bin")
        listing = json.loads((await a.get("/folders/holder/files"))["files"])
        names = {e["filename"] for e in listing}
        assert names == {"onA.bin", "viaB.bin"}
        # Other file operations through B say which node serves the folder.
        with pytest.raises(NotFound) as refused:
            await b.get("/folders/holder/files")
        assert c.a.endpoint in refused.value.msg
        # Deleting through B: only A (which has the volume) may claim the task.
        info = await b.get("/folders/holder")
        await b.request("DELETE", "/folders/holder")
        await b.post("/folders/delete-from-trash-bin", json={"vfolder_id": info["id"]})
        bt = t.bgtasks

        async def done_by() -> object:
            async with c.engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(bt.c.status, bt.c.claimed_by).where(bt.c.status == "done")
                    )
                ).first()
            return row.claimed_by if row is not None else None

        assert await wait_for(done_by, "node A to delete the folder") == c.node_id(c.a)
    finally:
        for client in (a, b):
            await client.aclose()

"""Two `bai serve` nodes on one PostgreSQL and one shared volume: the official client uses
either; names, quotas and background tasks stay correct across them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bai.db import tables as t
from bai.errors import Conflict, QuotaExceeded
from tests.cluster.conftest import Cluster, wait_for
from tests.harness import backend_ai, random_file, run_bai, sha256

pytestmark = [pytest.mark.node, pytest.mark.official]


async def test_folder_made_on_a_is_served_by_b(
    cluster: Cluster, official_cli: Path, tmp_path: Path
) -> None:
    env_a, env_b = cluster.env_for(cluster.a), cluster.env_for(cluster.b)
    src = random_file(tmp_path / "payload.bin", 3 << 20)

    def official(env: dict[str, str], *args: str) -> str:
        res = backend_ai(official_cli, env, tmp_path, *args)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    official(env_a, "vfolder", "create", "across", "shared")
    official(env_a, "vfolder", "upload", "across", str(src.name))
    assert "across" in official(env_b, "vfolder", "list")
    down = tmp_path / "down"
    down.mkdir()
    res = backend_ai(official_cli, env_b, down, "vfolder", "download", "across", "payload.bin")
    assert res.returncode == 0, res.stdout + res.stderr
    assert sha256(down / "payload.bin") == sha256(src)
    official(env_b, "vfolder", "delete", "across")  # to the trash, through B
    listing = official(env_a, "vfolder", "list")
    assert "delete-pending" in listing or "across" not in listing
    # Both nodes are up in the registry, whichever node answers.
    res = run_bai("admin", "node", "list", "-o", "json", env=env_b)
    assert res.returncode == 0, res.stderr
    nodes = json.loads(res.stdout)["nodes"]
    assert sorted(n["state"] for n in nodes) == ["up", "up"]
    assert {n["url"] for n in nodes} == {cluster.a.endpoint, cluster.b.endpoint}
    assert [n["this_node"] for n in nodes].count(True) == 1


async def test_fifty_concurrent_creates_of_one_name_make_one_folder(cluster: Cluster) -> None:
    clients = [cluster.client(cluster.a), cluster.client(cluster.b)]
    try:

        async def create(i: int) -> str:
            try:
                await clients[i % 2].post("/folders", json={"name": "contended"})
            except Conflict:
                return "conflict"
            return "created"

        outcomes = await asyncio.gather(*(create(i) for i in range(50)))
        assert outcomes.count("created") == 1, outcomes
        assert outcomes.count("conflict") == 49
        for c in clients:  # both nodes see the one folder
            names = [f["name"] for f in await c.get("/folders")]
            assert names.count("contended") == 1
        live = await cluster.scalar(
            sa.select(sa.func.count())
            .select_from(t.vfolders)
            .where(t.vfolders.c.name == "contended")
        )
        assert live == 1
    finally:
        for c in clients:
            await c.aclose()


async def test_quota_claims_across_nodes_never_exceed_the_limit(cluster: Cluster) -> None:
    admin = cluster.client(cluster.a)
    limit, size = 1 << 20, 300_000
    try:
        user = await admin.post("/admin/users", json={"email": "q@example.com"})
        keys = (user["keypair"]["access_key"], user["keypair"]["secret_key"])
        await admin.request(
            "PUT", "/admin/quota-scopes/shared/q@example.com", json={"limit": str(limit)}
        )
        users = [cluster.client(cluster.a, keys), cluster.client(cluster.b, keys)]
        await users[0].post("/folders", json={"name": "capped"})
        body = os.urandom(size)

        async def upload(i: int) -> str:
            c = users[i % 2]
            try:
                ticket = await c.post(
                    "/folders/capped/request-upload", json={"path": f"f{i}", "size": size}
                )
                res = await c.http.patch(
                    ticket["url"],
                    params={"token": ticket["token"]},
                    content=body,
                    headers={
                        "Tus-Resumable": "1.0.0",
                        "Upload-Offset": "0",
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
            except QuotaExceeded:
                return "refused"
            if res.status_code == 413:
                return "refused"
            assert res.status_code == 204, f"{res.status_code}: {res.text}"
            return "stored"

        outcomes = await asyncio.gather(*(upload(i) for i in range(10)))
        stored = outcomes.count("stored")
        assert 1 <= stored <= limit // size, outcomes
        assert stored + outcomes.count("refused") == 10
        info = await users[1].get("/folders/capped")
        assert info["cur_size"] == stored * size <= limit, (info["cur_size"], outcomes)
        claimed = await cluster.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(t.quota_reservations.c.bytes), 0))
        )
        assert claimed + info["cur_size"] <= limit
        for c in users:
            await c.aclose()
    finally:
        await admin.aclose()


async def test_kill_9_during_a_deletion_and_the_other_node_finishes_it(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    cluster = own_cluster
    a, b = cluster.client(cluster.a), cluster.client(cluster.b)
    id_a, id_b = cluster.node_id(cluster.a), cluster.node_id(cluster.b)
    try:
        info = await a.post("/folders", json={"name": "doomed"})
        fid = info["id"]
        # Enough files that removing them takes a while, made beside the volume and moved
        # into the folder's directory in one rename (the nodes' watchers see one change).
        h = fid.replace("-", "")
        root = cluster.volume / info["user"].replace("-", "") / h[:2] / h[2:4] / h[4:]
        assert root.is_dir()
        bulk = tmp_path / "bulk"
        await asyncio.to_thread(_fill, bulk, 120, 100)
        bulk.rename(root / "bulk")
        await a.request("DELETE", "/folders/doomed")
        await a.post("/folders/delete-from-trash-bin", json={"vfolder_id": fid})
        b_t = t.bgtasks

        async def running_on_a() -> bool:
            claimed = await cluster.scalar(
                sa.select(b_t.c.claimed_by).where(
                    b_t.c.folder_id == _uuid(fid), b_t.c.status == "running"
                )
            )
            return bool(claimed == id_a)

        await wait_for(running_on_a, "node A to claim the deletion", timeout=20, interval=0.02)
        assert cluster.a.proc is not None
        cluster.a.proc.send_signal(signal.SIGKILL)
        cluster.a.proc.wait(10)
        assert await running_on_a(), "the deletion ended before node A was killed"

        async def finished() -> bool:
            row = await cluster.scalar(
                sa.select(t.vfolders.c.status).where(t.vfolders.c.id == _uuid(fid))
            )
            return bool(row == "delete-complete")

        await wait_for(finished, "node B to finish the deletion", timeout=60, interval=0.2)
        async with cluster.engine.connect() as conn:
            task = (await conn.execute(sa.select(b_t).where(b_t.c.folder_id == _uuid(fid)))).one()
        assert (task.status, task.claimed_by) == ("done", id_b)
        assert not root.exists()
        nodes = {n.id: n.state for n in await b.admin.nodes.list()}
        assert nodes == {id_a: "down", id_b: "up"}
        # The killed node's log may end anywhere; it must not hold a traceback so far.
        cluster.a.check_log()
    finally:
        for c in (a, b):
            await c.aclose()


def _fill(root: Path, dirs: int, files: int) -> None:
    root.mkdir()
    for d in range(dirs):
        sub = root / f"d{d:04d}"
        sub.mkdir()
        for f in range(files):
            (sub / f"f{f:04d}").write_bytes(b"x")


def _uuid(s: str) -> uuid.UUID:
    return uuid.UUID(s)

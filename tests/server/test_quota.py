"""Quota scopes, usage and storage status: node-enforced on vfs, kernel-enforced on btrfs."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bai.errors import Forbidden, NotFound, QuotaExceeded
from tests.conftest import InProcessNode, in_process_node, make_config

# The folder service's rules hold on both state stores (SQLite and PostgreSQL).
pytestmark = pytest.mark.both_databases


def folder_dir(node: InProcessNode, host: str, info: dict[str, str]) -> Path:
    root = node.config.volumes[host].path
    assert root is not None
    h = info["id"].replace("-", "")
    return root / info["user"].replace("-", "") / h[:2] / h[2:4] / h[4:]


async def wait_for_usage(
    node: InProcessNode, name: str, files: int, size: int, timeout: float = 10.0
) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        info = await node.admin.get(f"/folders/{name}")
        if (info["num_files"], info["cur_size"]) == (files, size):
            return info  # type: ignore[no-any-return]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"usage stayed {info['num_files']}/{info['cur_size']}")
        await asyncio.sleep(0.1)


async def test_scope_admin(node: InProcessNode) -> None:
    await node.admin.post("/admin/users", json={"email": "q@example.com"})
    await node.admin.post("/admin/projects", json={"name": "qp"})
    res = await node.admin.get("/admin/quota-scopes/local/q@example.com")
    assert res["scope_id"].startswith("user:") and res["limit_bytes"] == 0
    res = await node.admin.request("PUT", "/admin/quota-scopes/local/qp", json={"limit": "10g"})
    assert res["scope_id"].startswith("project:") and res["limit_bytes"] == 10 << 30
    uid = res["scope_id"].split(":")[1]
    res = await node.admin.get(f"/admin/quota-scopes/local/{uid}")
    assert res["limit_bytes"] == 10 << 30
    res = await node.admin.request("DELETE", "/admin/quota-scopes/local/qp")
    assert res["limit_bytes"] == 0
    with pytest.raises(NotFound, match="no user or project"):
        await node.admin.get("/admin/quota-scopes/local/nobody@example.com")
    with pytest.raises(NotFound, match="no storage host"):
        await node.admin.get("/admin/quota-scopes/mars/q@example.com")
    bob = await node.new_user("bob@example.com")
    with pytest.raises(Forbidden):
        await bob.get("/admin/quota-scopes/local/bob@example.com")


async def test_new_scope_takes_policy_size(node: InProcessNode) -> None:
    await node.admin.request(
        "PUT", "/admin/resource-policies/user/small", json={"max_quota_scope_size": "1m"}
    )
    await node.admin.post(
        "/admin/users", json={"email": "s@example.com", "resource_policy": "small"}
    )
    res = await node.admin.get("/admin/quota-scopes/local/s@example.com")
    assert res["limit_bytes"] == 1 << 20


async def test_vfs_usage_follows_out_of_band_writes(node: InProcessNode) -> None:
    info = await node.admin.post("/folders", json={"name": "watched"})
    d = folder_dir(node, "local", info)
    (d / "sub").mkdir()
    (d / "sub" / "a.bin").write_bytes(b"a" * 5000)
    (d / "b.bin").write_bytes(b"b" * 1000)
    # The watcher sees the change and the folder is reconciled within seconds.
    await wait_for_usage(node, "watched", 2, 6000)
    status = await node.admin.get("/folders/_/status")
    local = next(h for h in status["hosts"] if h["host"] == "local")
    assert local["user"]["used_bytes"] >= 6000
    # A reconcile scan makes it exact and says what it corrected.
    os.unlink(d / "b.bin")
    res = await node.admin.post("/admin/reconcile", json={"folder": "watched"})
    assert res["results"][0]["files"] == 1 and res["results"][0]["bytes"] == 5000
    info2 = await node.admin.get("/folders/watched")
    assert (info2["num_files"], info2["cur_size"]) == (1, 5000)
    res = await node.admin.post("/admin/reconcile", json={})
    assert res["corrected_files"] == 0 and res["corrected_bytes"] == 0


async def test_vfs_over_quota_refused_before_any_byte(node: InProcessNode) -> None:
    await node.admin.post("/folders", json={"name": "capped"})
    await node.admin.request(
        "PUT", "/admin/quota-scopes/local/admin@bai.local", json={"limit": "1m"}
    )
    await node.admin.post("/folders/capped/request-upload", json={"path": "ok", "size": 500_000})
    with pytest.raises(QuotaExceeded, match="quota exceeded"):
        await node.admin.post(
            "/folders/capped/request-upload", json={"path": "big", "size": 2_000_000}
        )
    status = await node.admin.get("/folders/_/status")
    local = next(h for h in status["hosts"] if h["host"] == "local")
    assert local["user"]["limit_bytes"] == 1 << 20 and local["quota_supported"] is False
    assert status["folders"]["created"] == 1


@pytest.fixture
async def btrfs_node(tmp_path: Path, btrfs_root: Path) -> AsyncIterator[InProcessNode]:
    vol = btrfs_root / os.urandom(6).hex()
    config = make_config(
        tmp_path,
        f'\n[volume.fast]\nbackend = "btrfs"\npath = "{vol}"\n'
        '[volume.local]\nbackend = "vfs"\npath = "volumes/local"\n',
    )
    async with in_process_node(config) as n:
        yield n


def qgroup_referenced(path: Path) -> int:
    subprocess.run(["btrfs", "filesystem", "sync", str(path)], check=True)
    out = subprocess.run(
        ["btrfs", "qgroup", "show", "-reF", "--raw", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return next(int(line.split()[1]) for line in out.splitlines() if line.startswith("0/"))


async def test_btrfs_kernel_enforces_the_quota(btrfs_node: InProcessNode) -> None:
    node = btrfs_node
    hosts = await node.admin.get("/folders/_/hosts")
    assert "quota" in hosts["volume_info"]["fast"]["capabilities"]
    info = await node.admin.post("/folders", json={"name": "kq", "host": "fast"})
    res = await node.admin.request(
        "PUT", "/admin/quota-scopes/fast/admin@bai.local", json={"limit": "16m"}
    )
    assert res["kernel_enforced"] is True
    d = folder_dir(node, "fast", info)
    # Any writer, not only the node: dd stops at the limit with the kernel's own error.
    dd = subprocess.run(
        ["dd", "if=/dev/zero", f"of={d / 'fill.bin'}", "bs=1M", "count=64", "conv=fsync"],
        capture_output=True,
        text=True,
    )
    assert dd.returncode != 0 and "Disk quota exceeded" in dd.stderr
    kernel = qgroup_referenced(d.parent.parent.parent)
    res = await node.admin.get("/admin/quota-scopes/fast/admin@bai.local")
    assert res["used_bytes"] == kernel and 8 << 20 < kernel <= 16 << 20
    status = await node.admin.get("/folders/_/status")
    fast = next(h for h in status["hosts"] if h["host"] == "fast")
    assert fast["quota_supported"] is True and fast["user"]["used_bytes"] == kernel
    # The node's own writes get the same "quota exceeded", up front or from the kernel.
    with pytest.raises(QuotaExceeded):
        await node.admin.post("/folders/kq/request-upload", json={"path": "x", "size": 32 << 20})
    os.unlink(d / "fill.bin")
    ticket = await node.admin.post(
        "/folders/kq/request-upload", json={"path": "y.bin", "size": 12 << 20}
    )
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={d / 'sneaky.bin'}", "bs=1M", "count=10", "conv=fsync"],
        capture_output=True,
    )
    r = await node.http.patch(
        f"/upload?token={ticket['token']}",
        content=b"z" * (12 << 20),
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 413 and "quota exceeded" in r.json()["msg"]

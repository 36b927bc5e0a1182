"""Folder lifecycle over the HTTP API: names, limits, ownership, trash, deletion, clone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bai.client import BaiClient
from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound
from tests.conftest import InProcessNode

# The folder service's rules hold on both state stores (SQLite and PostgreSQL).
pytestmark = pytest.mark.both_databases


async def wait_status(
    c: BaiClient, ident: str, status: str, timeout: float = 10.0
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        info = await c.get(f"/folders/{ident}")
        if info["status"] == status:
            return info  # type: ignore[no-any-return]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{ident} stayed {info['status']}, wanted {status}")
        await asyncio.sleep(0.05)


async def test_create_and_info(node: InProcessNode) -> None:
    res = await node.admin.post("/folders", json={"name": "mydata1", "host": "local"})
    assert res["name"] == "mydata1" and res["host"] == "local" and res["status"] == "ready"
    info = await node.admin.get("/folders/mydata1")
    for key in (
        "name",
        "id",
        "is_owner",
        "permission",
        "status",
        "numFiles",
        "type",
        "group",
        "user",
        "cloneable",
        "usage_mode",
    ):
        assert key in info  # the official CLI's `vfolder info` needs every one
    assert info["is_owner"] is True and info["type"] == "user" and info["permission"] == "wd"
    assert info["quota_scope_id"] == f"user:{info['user']}"


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("", "empty"),
        ("a" * 65, "limit is 64"),
        (" lead", "spaces"),
        ("a/b", "'/'"),
        (".ssh", "reserved"),
        (".bashrc", "reserved"),
        (".bash_profile", "reserved"),
        ("tmp", "system path"),
        ("bad\x07", "control"),
        ("rtl\u202egnp.exe", r"U\+202E"),
    ],
)
async def test_bad_names(node: InProcessNode, name: str, needle: str) -> None:
    with pytest.raises(InvalidRequest, match=needle):
        await node.admin.post("/folders", json={"name": name})


async def test_unique_names_and_count_limit(node: InProcessNode) -> None:
    await node.admin.request(
        "PUT", "/admin/resource-policies/user/two", json={"max_vfolder_count": 2}
    )
    await node.admin.post(
        "/admin/users", json={"email": "lim@example.com", "resource_policy": "two"}
    )
    res = await node.admin.post("/admin/keypairs", json={"email": "lim@example.com"})
    u = node.client(res["access_key"], res["secret_key"])
    await u.post("/folders", json={"name": "one"})
    with pytest.raises(Conflict, match="already exists"):
        await u.post("/folders", json={"name": "one"})
    await u.post("/folders", json={"name": "two"})
    with pytest.raises(Forbidden, match="allows 2"):
        await u.post("/folders", json={"name": "three"})
    # Another user may use the same name: uniqueness is per what one can see.
    await node.admin.post("/folders", json={"name": "one"})


async def test_unknown_host_and_missing_grant(node: InProcessNode) -> None:
    with pytest.raises(NotFound, match="no storage host"):
        await node.admin.post("/folders", json={"name": "x", "host": "mars"})
    await node.admin.request(
        "PUT",
        "/admin/resource-policies/keypair/nocreate",
        json={"allowed_vfolder_hosts": {"local": ["download-file"]}},
    )
    await node.admin.post("/admin/users", json={"email": "nc@example.com", "keypair": False})
    kp = await node.admin.post(
        "/admin/keypairs", json={"email": "nc@example.com", "resource_policy": "nocreate"}
    )
    u = node.client(kp["access_key"], kp["secret_key"])
    with pytest.raises(Forbidden, match="create-vfolder"):
        await u.post("/folders", json={"name": "x"})


async def test_project_folders(node: InProcessNode) -> None:
    await node.admin.post("/admin/projects", json={"name": "team"})
    member = await node.new_user("member@example.com")
    outsider = await node.new_user("outsider@example.com")
    await node.admin.post(
        "/admin/projects/team/add-members", json={"emails": ["member@example.com"]}
    )
    with pytest.raises(Forbidden, match="only admins"):
        await member.post("/folders", json={"name": "pf", "group": "team"})
    with pytest.raises(InvalidRequest, match="automount"):
        await node.admin.post("/folders", json={"name": ".dots", "group": "team"})
    res = await node.admin.post(
        "/folders", json={"name": "shared-data", "group": "team", "permission": "ro"}
    )
    assert res["type"] == "group" and res["quota_scope_id"].startswith("project:")
    seen = [f["name"] for f in await member.get("/folders")]
    assert "shared-data" in seen
    assert "shared-data" not in [f["name"] for f in await outsider.get("/folders")]
    with pytest.raises(NotFound):
        await outsider.get("/folders/shared-data")
    info = await member.get("/folders/shared-data")
    assert info["permission"] == "ro" and info["is_owner"] is False
    # A read-only member can list but not write, rename or trash.
    await member.get("/folders/shared-data/files")
    with pytest.raises(Forbidden, match="'ro'"):
        await member.post("/folders/shared-data/mkdir", json={"path": "x"})
    with pytest.raises(Forbidden, match="only the owner"):
        await member.post("/folders/shared-data/rename", json={"new_name": "mine"})
    with pytest.raises(Forbidden, match="only the owner"):
        await member.request("DELETE", "/folders/shared-data")
    # rw members write files; only wd members delete them.
    await node.admin.post("/folders/shared-data/update-options", json={"permission": "rw"})
    await member.post("/folders/shared-data/mkdir", json={"path": "x"})
    with pytest.raises(Forbidden, match="needs 'wd'"):
        await member.request("DELETE", "/folders/shared-data/delete-files", json={"files": ["x"]})
    # Project folders do not count against the member's own folder limit.
    await node.admin.request(
        "PUT", "/admin/resource-policies/user/default", json={"max_vfolder_count": 1}
    )
    await member.post("/folders", json={"name": "mine"})


async def test_list_filters(node: InProcessNode) -> None:
    await node.admin.post("/folders", json={"name": "models-a", "usage_mode": "model"})
    await node.admin.post("/folders", json={"name": "data-b", "usage_mode": "data"})
    await node.admin.post("/folders", json={"name": ".local"})
    names = lambda rows: sorted(r["name"] for r in rows)  # noqa: E731
    assert names(await node.admin.get("/folders", params={"usage_mode": "model"})) == ["models-a"]
    assert names(await node.admin.get("/folders", params={"name": "DATA"})) == ["data-b"]
    rows = await node.admin.get("/folders", params={"name": ".local"})
    assert rows[0]["automount"] is True


async def test_rename_and_options(node: InProcessNode) -> None:
    await node.admin.post("/folders", json={"name": "old"})
    await node.admin.post("/folders", json={"name": "taken"})
    with pytest.raises(Conflict):
        await node.admin.post("/folders/old/rename", json={"new_name": "taken"})
    res = await node.admin.post("/folders/old/rename", json={"new_name": "new"})
    assert res["name"] == "new"
    with pytest.raises(NotFound):
        await node.admin.get("/folders/old")
    res = await node.admin.post("/folders/new/update-options", json={"cloneable": True})
    assert res["cloneable"] is True
    with pytest.raises(InvalidRequest, match="owner always holds wd"):
        await node.admin.post("/folders/new/update-options", json={"permission": "ro"})


async def test_trash_restore_and_delete_forever(node: InProcessNode) -> None:
    res = await node.admin.post("/folders", json={"name": "trashme"})
    fid = res["id"]
    await node.admin.post("/folders/trashme/mkdir", json={"path": "d"})
    await node.admin.request("DELETE", "/folders/trashme")
    info = await node.admin.get("/folders/trashme")
    assert info["status"] == "delete-pending"
    # Every file operation is refused in the trash.
    for method, path, body in [
        ("GET", "/folders/trashme/files", None),
        ("POST", "/folders/trashme/mkdir", {"path": "e"}),
        ("POST", "/folders/trashme/request-download", {"path": "d"}),
    ]:
        with pytest.raises(Forbidden, match="delete-pending"):
            await node.admin.request(method, path, json=body)
    with pytest.raises(Conflict):
        await node.admin.post("/folders", json={"name": "trashme"})  # the trash holds the name
    await node.admin.post("/folders/restore-from-trash-bin", json={"vfolder_id": fid})
    assert (await node.admin.get("/folders/trashme"))["status"] == "ready"
    with pytest.raises(Forbidden, match="while it is ready"):
        await node.admin.post("/folders/delete-from-trash-bin", json={"vfolder_id": fid})
    await node.admin.request("DELETE", "/folders/trashme")
    await node.admin.post("/folders/delete-from-trash-bin", json={"vfolder_id": fid})
    # The name is free at once, while the old data goes away in the background.
    await node.admin.post("/folders", json={"name": "trashme"})
    await wait_status(node.admin, fid, "delete-complete")
    vol_root = node.config.volumes["local"].path
    assert vol_root is not None
    assert not list(vol_root.rglob(fid.replace("-", "")[4:]))
    assert "trashme" in [f["name"] for f in await node.admin.get("/folders")]
    # Admin purge removes the record.
    await node.admin.post("/folders/purge", json={"vfolder_id": fid})
    with pytest.raises(NotFound):
        await node.admin.get(f"/folders/{fid}")


async def test_clone(node: InProcessNode) -> None:
    await node.admin.post("/folders", json={"name": "src"})
    with pytest.raises(Forbidden, match="not cloneable"):
        await node.admin.post("/folders/src/clone", json={"target_name": "dst"})
    await node.admin.post("/folders/src/update-options", json={"cloneable": True})
    await node.admin.post("/folders/src/mkdir", json={"path": "a/b", "parents": True})
    res = await node.admin.post("/folders/src/clone", json={"target_name": "dst"})
    assert res["bgtask_id"] and res["status"] == "cloning"
    await wait_status(node.admin, "dst", "ready")
    for _ in range(100):  # the task row is finished just after the folders are
        task = await node.admin.get(f"/tasks/{res['bgtask_id']}")
        if task["status"] != "running":
            break
        await asyncio.sleep(0.05)
    assert task["status"] == "done"
    assert (await node.admin.get("/folders/src"))["status"] == "ready"
    listing = await node.http.get(
        "/folders/dst/files",
        params={"path": "a"},
        headers=dict(node.admin.build("GET", "/folders/dst/files", params={"path": "a"}).headers),
    )
    assert "b" in listing.text

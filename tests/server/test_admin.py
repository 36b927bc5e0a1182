"""Admin API: users, projects, keypairs, policies; 403 for everyone else."""

from __future__ import annotations

import pytest

from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound
from tests.conftest import InProcessNode


async def test_user_lifecycle(node: InProcessNode) -> None:
    res = await node.admin.post(
        "/admin/users", json={"email": "alice@example.com", "full_name": "Alice", "role": "user"}
    )
    assert res["user"]["email"] == "alice@example.com"
    assert res["keypair"]["access_key"].startswith("AKIA")
    assert len(res["keypair"]["secret_key"]) == 40

    users = (await node.admin.get("/admin/users"))["users"]
    assert [u["email"] for u in users] == ["admin@bai.local", "alice@example.com"]
    assert users[0]["role"] == "superadmin"

    upd = await node.admin.request(
        "PATCH", "/admin/users/alice@example.com", json={"role": "admin", "full_name": "Alice A."}
    )
    assert upd["user"]["role"] == "admin" and upd["user"]["full_name"] == "Alice A."

    with pytest.raises(Conflict, match="already exists"):
        await node.admin.post("/admin/users", json={"email": "alice@example.com"})
    with pytest.raises(InvalidRequest, match="not an e-mail address"):
        await node.admin.post("/admin/users", json={"email": "nope"})
    with pytest.raises(InvalidRequest, match="unknown role"):
        await node.admin.request("PATCH", "/admin/users/alice@example.com", json={"role": "king"})
    with pytest.raises(NotFound, match="no user"):
        await node.admin.post("/admin/users/bob@example.com/deactivate")


async def test_users_get_403_on_admin_routes(node: InProcessNode) -> None:
    bob = await node.new_user("bob@example.com")
    for method, path, body in [
        ("GET", "/admin/users", None),
        ("POST", "/admin/users", {"email": "x@example.com"}),
        ("POST", "/admin/projects", {"name": "p"}),
        ("POST", "/admin/keypairs", {"email": "bob@example.com"}),
        ("GET", "/admin/resource-policies", None),
        ("PUT", "/admin/resource-policies/user/default", {"max_vfolder_count": 1}),
        ("GET", "/folders/_/all-hosts", None),
    ]:
        with pytest.raises(Forbidden, match="not an administrator"):
            await bob.request(method, path, json=body)
    # A user may list their own keypairs and projects.
    mine = await bob.get("/admin/keypairs")
    assert [k["user"] for k in mine["keypairs"]] == ["bob@example.com"]


async def test_admin_cannot_touch_superadmin(node: InProcessNode) -> None:
    carol = await node.new_user("carol@example.com", role="admin")
    with pytest.raises(Forbidden, match="superadmin"):
        await carol.post("/admin/users", json={"email": "s2@example.com", "role": "superadmin"})
    with pytest.raises(Forbidden, match="superadmin"):
        await carol.post("/admin/users/admin@bai.local/deactivate")
    # Nobody deactivates themselves into a locked-out node.
    with pytest.raises(Forbidden, match="your own account"):
        await node.admin.post("/admin/users/admin@bai.local/deactivate")


async def test_projects_and_members(node: InProcessNode) -> None:
    dave = await node.new_user("dave@example.com")
    await node.new_user("erin@example.com")
    res = await node.admin.post("/admin/projects", json={"name": "vision", "description": "cv"})
    assert res["project"]["name"] == "vision" and res["project"]["members"] == []
    res = await node.admin.post(
        "/admin/projects/vision/add-members",
        json={"emails": ["dave@example.com", "erin@example.com"]},
    )
    assert res["project"]["members"] == ["dave@example.com", "erin@example.com"]
    await node.admin.post("/admin/projects", json={"name": "nlp"})
    # Members see their own projects only.
    seen = await dave.get("/admin/projects")
    assert [p["name"] for p in seen["projects"]] == ["vision"]
    res = await node.admin.post(
        "/admin/projects/vision/remove-members", json={"emails": ["erin@example.com"]}
    )
    assert res["project"]["members"] == ["dave@example.com"]
    with pytest.raises(NotFound, match="not a member"):
        await node.admin.post(
            "/admin/projects/vision/remove-members", json={"emails": ["erin@example.com"]}
        )
    with pytest.raises(Conflict):
        await node.admin.post("/admin/projects", json={"name": "vision"})
    with pytest.raises(InvalidRequest, match="project name"):
        await node.admin.post("/admin/projects", json={"name": "../etc"})
    users = {u["email"]: u for u in (await node.admin.get("/admin/users"))["users"]}
    assert users["dave@example.com"]["projects"] == ["vision"]


async def test_keypairs(node: InProcessNode) -> None:
    await node.new_user("fay@example.com")
    kp = await node.admin.post("/admin/keypairs", json={"email": "fay@example.com"})
    fay2 = node.client(kp["access_key"], kp["secret_key"])
    assert (await fay2.get("/folders/_/hosts"))["allowed"] == ["local"]
    listed = await node.admin.get("/admin/keypairs", params={"email": "fay@example.com"})
    assert len(listed["keypairs"]) == 2
    res = await node.admin.post(f"/admin/keypairs/{kp['access_key']}/revoke")
    assert res["keypair"]["is_active"] is False
    with pytest.raises(NotFound):
        await node.admin.post("/admin/keypairs/AKIANOPE/revoke")


async def test_resource_policies(node: InProcessNode) -> None:
    res = await node.admin.request(
        "PUT",
        "/admin/resource-policies/user/small",
        json={"max_vfolder_count": 3, "max_quota_scope_size": "10g"},
    )
    assert res["policy"] == {
        "kind": "user",
        "name": "small",
        "max_vfolder_count": 3,
        "max_quota_scope_size": 10 * 2**30,
    }
    res = await node.admin.request(
        "PUT", "/admin/resource-policies/user/small", json={"max_vfolder_count": 5}
    )
    assert res["policy"]["max_quota_scope_size"] == 10 * 2**30  # unchanged fields stay
    res = await node.admin.request(
        "PUT",
        "/admin/resource-policies/keypair/readonly",
        json={
            "allowed_vfolder_hosts": {"local": ["download-file", "mount-in-session"]},
            "max_concurrent_sftp_sessions": 2,
        },
    )
    assert res["policy"]["allowed_vfolder_hosts"] == {
        "local": ["mount-in-session", "download-file"]
    }
    with pytest.raises(InvalidRequest, match="unknown host permission"):
        await node.admin.request(
            "PUT",
            "/admin/resource-policies/keypair/bad",
            json={"allowed_vfolder_hosts": {"local": ["fly"]}},
        )
    with pytest.raises(InvalidRequest, match="keypair policies"):
        await node.admin.request(
            "PUT", "/admin/resource-policies/keypair/bad", json={"max_vfolder_count": 1}
        )
    with pytest.raises(InvalidRequest, match="size"):
        await node.admin.request(
            "PUT", "/admin/resource-policies/user/bad", json={"max_quota_scope_size": "lots"}
        )
    with pytest.raises(NotFound, match="resource policy"):
        await node.admin.post(
            "/admin/users", json={"email": "g@example.com", "resource_policy": "nope"}
        )
    kinds = {
        (p["kind"], p["name"])
        for p in (await node.admin.get("/admin/resource-policies"))["policies"]
    }
    assert {
        ("user", "default"),
        ("user", "small"),
        ("project", "default"),
        ("keypair", "default"),
        ("keypair", "readonly"),
    } <= kinds


async def test_host_permissions_follow_keypair_policy(node: InProcessNode) -> None:
    await node.admin.request(
        "PUT", "/admin/resource-policies/keypair/nohosts", json={"allowed_vfolder_hosts": {}}
    )
    await node.admin.post("/admin/users", json={"email": "h@example.com", "keypair": False})
    kp = await node.admin.post(
        "/admin/keypairs", json={"email": "h@example.com", "resource_policy": "nohosts"}
    )
    h = node.client(kp["access_key"], kp["secret_key"])
    res = await h.get("/folders/_/hosts")
    assert res["allowed"] == [] and res["volume_info"] == {}


async def test_malformed_body_is_a_400_problem(node: InProcessNode) -> None:
    with pytest.raises(InvalidRequest, match="malformed request"):
        await node.admin.post("/admin/users", json={"full_name": "no email"})


async def test_unknown_route_is_a_json_404(node: InProcessNode) -> None:
    with pytest.raises(NotFound):
        await node.admin.get("/no/such/route")


async def test_openapi_schema_lists_routes(node: InProcessNode) -> None:
    res = await node.http.get("/schema/openapi.json")
    assert res.status_code == 200
    paths = res.json()["paths"]
    assert "/folders/_/hosts" in paths and "/admin/users" in paths
    ops = {
        op["operationId"]
        for p in paths.values()
        for op in p.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {"listHosts", "createUser", "revokeKeypair", "setResourcePolicy"} <= ops

"""The typed client against the node in-process: every resource method decodes the node's
answer into its `bai.api` struct, and the OpenAPI schema describes those bodies."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest

from bai import api
from bai.enums import FolderStatus, Ownership, Permission, Role, TaskStatus
from bai.errors import Conflict, InvalidRequest, NotFound
from tests.conftest import InProcessNode


async def test_folders_and_hosts(node: InProcessNode) -> None:
    c = node.admin
    hosts = await c.hosts.list()
    assert hosts.default == "local" and hosts.allowed == ["local"]
    assert hosts.volume_info["local"].usage.capacity_bytes > 0
    assert (await c.hosts.all()).allowed == ["local"]
    assert await c.hosts.allowed_types() == ["user", "group"]
    assert (await c.version()).version.startswith("v")

    made = await c.folders.create("typed", cloneable=True)
    assert isinstance(made, api.FolderInfo) and isinstance(made.id, uuid.UUID)
    assert made.status == FolderStatus.READY and made.type == Ownership.USER
    assert made.permission == Permission.WD and made.num_files == made.num_files_camel == 0
    with pytest.raises(Conflict):
        await c.folders.create("typed")
    assert [f.name for f in await c.folders.list(name="TYP")] == ["typed"]
    assert (await c.folders.info(str(made.id))).name == "typed"
    assert (await c.folders.rename("typed", "typed2")).name == "typed2"
    assert (await c.folders.update_options("typed2", cloneable=False)).cloneable is False

    await c.folders.update_options("typed2", cloneable=True)
    cloned = await c.folders.clone("typed2", "typed3")
    assert cloned.status == FolderStatus.CLONING
    states = [t async for t in c.tasks.follow(cloned.bgtask_id, interval=0.05)]
    assert states[-1].status == TaskStatus.DONE and states[-1].finished
    assert (await c.tasks.get(cloned.bgtask_id)).kind

    await c.folders.delete("typed3")
    assert (await c.folders.info("typed3")).status == FolderStatus.DELETE_PENDING
    assert (await c.folders.restore("typed3")).status == FolderStatus.READY
    await c.folders.delete("typed3")
    started = await c.folders.delete_forever(str(cloned.id))
    async for _ in c.tasks.follow(started.bgtask_id, interval=0.05):
        pass
    assert (await c.folders.purge(str(cloned.id))).purged == str(cloned.id)
    with pytest.raises(NotFound):
        await c.folders.info(str(cloned.id))

    status = await c.hosts.status()
    assert status.folders.created >= 1 and status.hosts[0].host == "local"


async def test_files_and_transfers(node: InProcessNode, tmp_path: Path) -> None:
    c = node.admin
    await c.folders.create("files")
    assert (await c.files.mkdir("files", ["a/b"], parents=True)).results == ["a/b"]
    assert await c.files.is_dir("files", "a") is True
    ticket = await c.files.request_upload("files", "a/b/x.txt", 3)
    assert ticket.url.endswith("/upload") and ticket.token
    assert "?token=" in c.files.ticket_url(ticket)
    entries = await c.files.ls("files", "a")
    assert [(e.name, e.type) for e in entries] == [("b", "DIRECTORY")]
    assert (await c.files.move("files", "a/b", ".")).dst == "."
    assert (await c.files.rename("files", "b", "c")).new_name == "c"
    assert await c.files.is_dir("files", "c")
    with pytest.raises(InvalidRequest):
        await c.files.request_download("files", "c")
    assert (await c.files.request_download("files", "c", archive=True)).token
    assert (await c.files.delete("files", ["c"], recursive=True)).deleted == 1
    assert [e.name for e in await c.files.ls("files")] == ["a"]


async def test_admin_and_quota(node: InProcessNode) -> None:
    users = node.admin.admin.users
    created = await users.create("typed@example.com", full_name="Typed")
    assert created.keypair is not None and created.user.role == Role.USER
    assert "typed@example.com" in [u.email for u in await users.list()]
    assert (await users.update("typed@example.com", role="admin")).role == Role.ADMIN
    assert (await users.deactivate("typed@example.com")).status == "inactive"

    projects = node.admin.admin.projects
    assert (await projects.create("typed-proj")).members == []
    await users.create("member@example.com", keypair=False)
    added = await projects.add_members("typed-proj", ["member@example.com"])
    assert added.members == ["member@example.com"]
    assert (await projects.remove_members("typed-proj", ["member@example.com"])).members == []
    assert "typed-proj" in [p.name for p in await projects.list()]

    keypairs = node.admin.admin.keypairs
    issued = await keypairs.create("member@example.com")
    assert issued.user == "member@example.com" and len(issued.secret_key) == 40
    listed = await keypairs.list(email="member@example.com")
    assert [k.access_key for k in listed] == [issued.access_key]
    assert (await keypairs.revoke(issued.access_key)).is_active is False

    policies = node.admin.admin.policies
    changes = api.PolicyUpdate(max_vfolder_count=3, max_quota_scope_size="1g")
    pol = await policies.set("user", "typed", changes)
    assert pol.max_quota_scope_size == 1 << 30 and pol.allowed_vfolder_hosts is None
    assert msgspec.to_builtins(pol) == {
        "kind": "user",
        "name": "typed",
        "max_vfolder_count": 3,
        "max_quota_scope_size": 1 << 30,
    }
    grants = api.PolicyUpdate(allowed_vfolder_hosts={"local": ["download-file"]})
    assert (await policies.set("keypair", "typed", grants)).allowed_vfolder_hosts == {
        "local": ["download-file"]
    }
    assert await policies.get("keypair", "typed") is not None

    quota = node.admin.quota
    scope = await quota.set("local", "typed@example.com", "2m")
    assert scope.limit_bytes == 2 << 20 and scope.scope_id.startswith("user:")
    assert (await quota.get("local", "typed@example.com")).limit_bytes == 2 << 20
    assert (await quota.unset("local", "typed@example.com")).limit_bytes == 0
    await node.admin.folders.create("recon")
    report = await quota.reconcile(folder="recon")
    assert len(report.results) == 1 and report.corrected_bytes == 0


async def test_schema_describes_the_bodies(node: InProcessNode) -> None:
    schema = (await node.http.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    for name in ("FolderInfo", "FolderCreate", "UserCreated", "PolicyUpdate", "StorageStatus"):
        assert name in components
    create = schema["paths"]["/folders"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FolderCreate"
    }
    props = components["FolderCreate"]["properties"]
    assert props["usage_mode"]["enum"] == ["general", "data", "model"]
    assert "numFiles" in components["FolderInfo"]["properties"]
    for path, method in [
        ("/folders/{name}/update-options", "post"),
        ("/admin/users", "post"),
        ("/admin/resource-policies/{kind}/{name}", "put"),
        ("/admin/quota-scopes/{host}/{ident}", "put"),
        ("/admin/reconcile", "post"),
        ("/admin/gql", "post"),
    ]:
        op = schema["paths"][path][method]
        assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"], path
        (ok,) = [v for k, v in op["responses"].items() if k.startswith("2")]
        assert "$ref" in ok["content"]["application/json"]["schema"], path

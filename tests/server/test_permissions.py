"""The permission table (`permission_table.py`), checked at the service level and over HTTP.

One node serves the whole module. Each case makes a fresh folder for its role (the owner's
user folder, or a project folder with the role's member permission, cloneable, holding one
directory `d`; shared with the role's actor when the role says so), puts it in the case's
status straight in the database, gives it a finished background task, runs the operation
as the role's caller, and checks the outcome: an allowed operation must have its effect; a
refused one must raise exactly the table's error class and change nothing. Between cases
the folders, shares and tasks are removed, so every case starts alike.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.access import Principal
from bai.client import BaiClient
from bai.db import tables as t
from bai.enums import FolderStatus, Ownership, Permission
from bai.errors import BaiError
from bai.folders.models import VFolder
from bai.folders.repository import folder_by_id, insert_folder, now
from bai.storage.base import FolderRef, Volume
from tests.conftest import InProcessNode, in_process_node, make_config
from tests.server.permission_table import CASES, ROLES, Case

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROJECT = "perm-team"
ACTORS = {
    "owner": "user",
    "member": "user",
    "admin": "admin",
    "outsider": "user",
    "invitee": "user",
}


@dataclass
class World:
    node: InProcessNode
    principals: dict[str, Principal]
    clients: dict[str, BaiClient]
    project_id: uuid.UUID
    host: str
    names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def engine(self) -> AsyncEngine:
        return self.node.node.engine

    @property
    def volume(self) -> Volume:
        return self.node.node.folders.volume(self.host)


@dataclass(frozen=True)
class Subject:
    """The case's folder and its background task."""

    id: uuid.UUID
    name: str
    ref: FolderRef
    task_id: uuid.UUID


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp: Path = tmp_path_factory.mktemp("permissions")
    async with in_process_node(make_config(tmp)) as n:
        clients: dict[str, BaiClient] = {"superadmin": n.admin}
        for actor, role in ACTORS.items():
            clients[actor] = await n.new_user(f"{actor}@perm.example.com", role)
        await n.admin.post("/admin/projects", json={"name": PROJECT})
        await n.admin.post(
            f"/admin/projects/{PROJECT}/add-members", json={"emails": ["member@perm.example.com"]}
        )
        principals = {
            actor: (await n.node.accounts.auth_record(c.config.access_key)).principal
            for actor, c in clients.items()
        }
        host = n.node.hosts.parse(None)
        project_id = (await n.node.accounts.get_project(PROJECT)).id
        for scope in (f"user:{principals['owner'].user_id}", f"project:{project_id}"):
            await n.node.quota.ensure(host, scope)
        # The usage watcher reconciles folders changed behind the node's back — as every
        # case's folder is made here — and would only spend the shared CPU on it.
        await n.node.usage.stop()
        yield World(n, principals, clients, project_id, host)


# ---- per case: a fresh folder, and the state an operation may change ---------------------------


async def make_subject(w: World, case: Case) -> Subject:
    """The case's folder, made straight in the database and the volume (creating folders is
    not what this module tests, and the service's way costs a lot of queries per case)."""
    role = ROLES[case.role]
    folder_id, task_id, name = uuid.uuid4(), uuid.uuid4(), f"pf{next(w.names)}"
    owner = w.principals["owner"]
    if role.project_permission is None:
        scope, ownership, permission = f"user:{owner.user_id}", Ownership.USER, Permission.WD
        user_id, project_id, creator = owner.user_id, None, owner.email
    else:
        scope, ownership = f"project:{w.project_id}", Ownership.GROUP
        permission = Permission(role.project_permission)
        user_id, project_id = None, w.project_id
        creator = w.principals["superadmin"].email
    scope_hex = scope.split(":", 1)[1].replace("-", "")
    ref = FolderRef(scope_hex, folder_id, w.volume.locate(scope_hex, folder_id))
    await w.volume.create_folder(ref)
    await w.volume.mkdir(ref, PurePosixPath("d"), False, False)
    async with w.engine.begin() as conn:
        await insert_folder(
            conn,
            folder_id=folder_id,
            host=w.host,
            scope=scope,
            name=name,
            usage_mode="general",
            permission=permission,
            ownership=ownership,
            user_id=user_id,
            project_id=project_id,
            creator=creator,
            cloneable=True,
            status=case.status,
            location=ref.location,
        )
        await conn.execute(
            t.bgtasks.insert().values(
                id=task_id,
                kind="clone",
                folder_id=folder_id,
                target_id=None,
                status="done",
                current=0,
                total=0,
                message="",
                created_at=now(),
                finished_at=now(),
            )
        )
        if role.shared is not None:  # an accepted invitation, or an override
            await conn.execute(
                t.vfolder_permissions.insert().values(
                    folder_id=folder_id,
                    user_id=w.principals[role.actor].user_id,
                    permission=role.shared,
                    created_at=now(),
                )
            )
    return Subject(folder_id, name, ref, task_id)


async def row(w: World, folder_id: uuid.UUID) -> VFolder | None:
    async with w.engine.connect() as conn:
        return await folder_by_id(conn, folder_id)


async def entries(w: World, s: Subject) -> frozenset[str]:
    listing = w.volume.list_dir(s.ref, PurePosixPath("."))
    return frozenset({e.name async for batch in listing for e in batch})


async def state(w: World, s: Subject) -> tuple[Any, ...]:
    """Everything a refused operation must leave as it was."""
    v = t.vfolders
    counts = sa.select(
        sa.select(sa.func.count()).select_from(t.uploads).scalar_subquery(),
        sa.select(sa.func.count()).select_from(t.bgtasks).scalar_subquery(),
    )
    async with w.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(v.c.id, v.c.name, v.c.status, v.c.cloneable, v.c.permission)
            )
        ).all()
        uploads, tasks = (await conn.execute(counts)).one()
    return frozenset(tuple(r) for r in rows), uploads, tasks, await entries(w, s)


async def finish_tasks(w: World) -> None:
    """Wait for the background work an operation started (clone, deletion)."""
    busy = t.bgtasks.c.status.in_(("pending", "running"))
    for _ in range(1000):
        async with w.engine.connect() as conn:
            left = await conn.scalar(sa.select(sa.func.count()).select_from(t.bgtasks).where(busy))
        if not left:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("background tasks did not finish in 10 s")


async def reset(w: World, case: Case) -> None:
    """Forget every folder and task, so the next case starts alike (after the background
    work an allowed clone or deletion started)."""
    if case.expected is None and case.operation in ("clone", "delete-forever"):
        await finish_tasks(w)
    async with w.engine.begin() as conn:
        await conn.execute(t.bgtasks.delete())
        await conn.execute(t.vfolder_permissions.delete())
        await conn.execute(t.vfolders.delete())


async def check_effect(w: World, case: Case, s: Subject, result: Any) -> None:
    """What an allowed operation must have done (`result` is the transport's answer, reduced
    to the same shape by both runners)."""
    op = case.operation
    folder = await row(w, s.id)
    if op == "purge":
        assert folder is None, f"{case.id}: the purged folder's record is still there"
        return
    assert folder is not None, f"{case.id}: the folder's record is gone"
    match op:
        case "info":
            assert result == str(s.id)
        case "list-files":
            assert result == {"d"}
        case "download":
            assert result is True
        case "upload":
            async with w.engine.connect() as conn:
                n = await conn.scalar(
                    sa.select(sa.func.count())
                    .select_from(t.uploads)
                    .where(t.uploads.c.folder_id == s.id)
                )
            assert n == 1
        case "mkdir":
            assert await entries(w, s) == {"d", "m"}
        case "move":
            assert await entries(w, s) == {"d2"}
        case "rename-file":
            assert await entries(w, s) == {"e"}
        case "delete-files":
            assert await entries(w, s) == set()
        case "rename-folder":
            assert folder.name == f"{s.name}-r"
        case "update-options":
            assert folder.cloneable is False
        case "trash":
            assert folder.status == FolderStatus.DELETE_PENDING
        case "restore":
            assert folder.status == FolderStatus.READY
        case "delete-forever":
            assert folder.status in (FolderStatus.DELETE_ONGOING, FolderStatus.DELETE_COMPLETE)
        case "clone":
            assert result == f"{s.name}-c"
            actor = w.principals[ROLES[case.role].actor]
            await finish_tasks(w)
            async with w.engine.connect() as conn:
                target = (
                    await conn.execute(
                        sa.select(t.vfolders.c.user_id, t.vfolders.c.status).where(
                            t.vfolders.c.name == result
                        )
                    )
                ).one()
            assert tuple(target) == (actor.user_id, FolderStatus.READY)
            assert await entries(w, s) == {"d"}
            # Cloning reads the source: once done, the source is in the status it had (a
            # folder mounted by a session is still mounted, so still cannot be trashed).
            source = await row(w, s.id)
            assert source is not None
            assert source.status == case.status, (
                f"{case.id}: the source was {case.status} before the clone, {source.status} after"
            )
        case "read-task":
            assert result == str(s.task_id)
        case _:
            raise AssertionError(f"no effect check for {op}")


async def check(w: World, case: Case, run: Callable[[Subject], Awaitable[Any]]) -> None:
    s = await make_subject(w, case)
    try:
        if case.expected is None:
            try:
                result = await run(s)
            except BaiError as e:
                raise AssertionError(
                    f"{case.id}: expected allowed, got {type(e).__name__}: {e.msg}"
                ) from None
            await check_effect(w, case, s, result)
        else:
            before = await state(w, s)
            try:
                await run(s)
            except BaiError as e:
                assert type(e) is case.expected, (
                    f"{case.id}: expected {case.expected.__name__}, got {type(e).__name__}: {e.msg}"
                )
            else:
                raise AssertionError(f"{case.id}: expected {case.expected.__name__}, allowed")
            assert await state(w, s) == before, f"{case.id}: a refused operation changed state"
    finally:
        await reset(w, case)


# ---- the two transports ------------------------------------------------------------------------


async def run_service(w: World, p: Principal, op: str, s: Subject) -> Any:
    folders, files = w.node.node.folders, w.node.node.files
    name, fid = s.name, str(s.id)
    match op:
        case "info":
            return str((await folders.get(p, name)).id)
        case "list-files":
            _, batches = await files.list_dir(p, name, ".")
            return {e.name async for batch in batches for e in batch}
        case "download":
            grant = await files.request_download(p, name, "d", archive=True)
            return grant.path == "d" and grant.archive
        case "upload":
            return await files.request_upload(p, name, "u.txt", 1)
        case "mkdir":
            return await files.mkdir(p, name, ["m"], False, False)
        case "move":
            return await files.move(p, name, "d", "d2")
        case "rename-file":
            return await files.rename(p, name, "d", "e")
        case "delete-files":
            return await files.delete(p, name, ["d"], True)
        case "rename-folder":
            return await folders.rename(p, name, f"{name}-r")
        case "update-options":
            return await folders.update_options(p, name, cloneable=False)
        case "trash":
            return await folders.trash(p, name)
        case "restore":
            return await folders.restore(p, fid)
        case "delete-forever":
            return await folders.delete_forever(p, fid)
        case "clone":
            target, _ = await folders.clone(p, name, target_name=f"{name}-c")
            return target.name
        case "purge":
            return await folders.purge(p, fid)
        case "read-task":
            return (await folders.task(p, s.task_id))["task_id"]
    raise AssertionError(f"unknown operation {op}")


async def run_http(c: BaiClient, op: str, s: Subject) -> Any:
    name, ref = s.name, {"vfolder_id": str(s.id)}
    base = f"/folders/{name}"
    match op:
        case "info":
            return (await c.get(base))["id"]
        case "list-files":
            res = await c.get(f"{base}/files", params={"path": "."})
            return {f["filename"] for f in json.loads(res["files"])}
        case "download":
            res = await c.post(f"{base}/request-download", json={"path": "d", "archive": True})
            return bool(res["token"]) and res["url"].endswith("/download")
        case "upload":
            return await c.post(f"{base}/request-upload", json={"path": "u.txt", "size": 1})
        case "mkdir":
            return await c.post(f"{base}/mkdir", json={"path": "m"})
        case "move":
            return await c.post(f"{base}/move-file", json={"src": "d", "dst": "d2"})
        case "rename-file":
            return await c.post(f"{base}/rename-file", json={"target_path": "d", "new_name": "e"})
        case "delete-files":
            body = {"files": ["d"], "recursive": True}
            return await c.request("DELETE", f"{base}/delete-files", json=body)
        case "rename-folder":
            return await c.post(f"{base}/rename", json={"new_name": f"{name}-r"})
        case "update-options":
            return await c.post(f"{base}/update-options", json={"cloneable": False})
        case "trash":
            return await c.request("DELETE", base)
        case "restore":
            return await c.post("/folders/restore-from-trash-bin", json=ref)
        case "delete-forever":
            return await c.post("/folders/delete-from-trash-bin", json=ref)
        case "clone":
            return (await c.post(f"{base}/clone", json={"target_name": f"{name}-c"}))["name"]
        case "purge":
            return await c.post("/folders/purge", json=ref)
        case "read-task":
            return (await c.get(f"/tasks/{s.task_id}"))["task_id"]
    raise AssertionError(f"unknown operation {op}")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_service(world: World, case: Case) -> None:
    p = world.principals[ROLES[case.role].actor]
    await check(world, case, lambda s: run_service(world, p, case.operation, s))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_http(world: World, case: Case) -> None:
    c = world.clients[ROLES[case.role].actor]
    await check(world, case, lambda s: run_http(c, case.operation, s))

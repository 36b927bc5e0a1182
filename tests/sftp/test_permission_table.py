"""The permission table (`tests/server/permission_table.py`) replayed over SFTP, with the real
OpenSSH client, for the operations SFTP has: listing, download, upload, mkdir, move, rename
and delete of files.

The node runs in this process with its SFTP service attached; each actor logs in with its own
key over one shared connection (ControlMaster), so the cases stay quick. Each case's folder
is made as `test_permissions` makes it, plus a file `d/f.txt` to download; the actor's
session holds it (opened while the folder is ready, then the folder is put in the case's
status) next to the actor's own home folder, so a refused folder never means a refused login.
An allowed operation must have its effect; a refused one must fail in the client — "not
found" for a folder the actor cannot see, the node's reason on stderr for a forbidden one —
and change nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
import pytest_asyncio

from bai import api
from bai.client.sftp import write_private_key
from bai.db import tables as t
from bai.enums import FolderStatus
from bai.server.sftp import SftpService
from bai.storage.vfs import VfsVolume
from tests.conftest import in_process_node, make_config
from tests.server.permission_table import CASES, ROLES, Case
from tests.server.test_permissions import ACTORS, PROJECT, World, entries, make_subject, state
from tests.sftp.openssh import Target, close_master, known_hosts, require_openssh

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.node]

OPERATIONS = ("list-files", "download", "upload", "mkdir", "move", "rename-file", "delete-files")
SFTP_CASES = [c for c in CASES if c.operation in OPERATIONS]
COMMANDS = {
    "list-files": ["ls -1 /{name}"],
    "download": ["get /{name}/d/f.txt got.txt"],
    "upload": ["put up.txt /{name}/u.txt"],
    "mkdir": ["mkdir /{name}/m"],
    "move": ["rename /{name}/d /{name}/d2"],
    "rename-file": ["rename /{name}/d /{name}/e"],
    "delete-files": ["rm /{name}/d/f.txt", "rmdir /{name}/d"],
}
EFFECTS = {
    "mkdir": {"d", "m"},
    "move": {"d2"},
    "rename-file": {"e"},
    "delete-files": set(),
    "upload": {"d", "u.txt"},
}


@dataclass
class Actor:
    target: Target
    session: uuid.UUID | None = None


@dataclass
class SftpWorld:
    w: World
    actors: dict[str, Actor]
    homes: set[uuid.UUID]
    work: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sworld(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SftpWorld]:
    require_openssh()
    tmp = tmp_path_factory.mktemp("sftp-permissions")
    async with in_process_node(make_config(tmp)) as n:
        service = SftpService(n.node, "127.0.0.1", 0)
        endpoint = await service.start()
        clients = {"superadmin": n.admin}
        for actor, role in ACTORS.items():
            clients[actor] = await n.new_user(f"{actor}@sftp-perm.example.com", role)
        await n.admin.admin.projects.create(PROJECT)
        await n.admin.admin.projects.add_members(PROJECT, ["member@sftp-perm.example.com"])
        # Several sessions at once: the next case's opens before the last one's ends, so the
        # shared connection never sees its key without a session.
        await n.admin.admin.policies.set(
            "keypair", "default", api.PolicyUpdate(max_concurrent_sftp_sessions=0)
        )
        principals = {
            a: (await n.node.accounts.auth_record(c.config.access_key)).principal
            for a, c in clients.items()
        }
        host = n.node.hosts.parse(None)
        project_id = (await n.node.accounts.get_project(PROJECT)).id
        for scope in (f"user:{principals['owner'].user_id}", f"project:{project_id}"):
            await n.node.quota.ensure(host, scope)
        await n.node.usage.stop()  # folders made behind the node's back need no watching
        hosts = known_hosts(n.node.config.data_dir, endpoint.port, tmp / "known_hosts")
        actors, homes = {}, set()
        for name, c in clients.items():
            home = await c.folders.create(f"home-{name}")
            homes.add(home.id)
            await c.ssh_keypair.generate()
            key = (await c.ssh_keypair.download()).ssh_private_key
            path = write_private_key(tmp / f"key-{name}", key)
            started = await c.sftp.start([home.name])
            target = Target(endpoint.port, path, hosts, control=tmp / f"mux-{name}")
            actors[name] = Actor(target, started.session.id)
        work = tmp / "work"
        work.mkdir()
        (work / "up.txt").write_text("up\n")
        world = World(n, principals, clients, project_id, host)
        try:
            yield SftpWorld(world, actors, homes, work)
        finally:
            for actor in actors.values():
                close_master(actor.target)
            await service.close()


async def serve(sw: SftpWorld, case: Case, name: str, ref_id: uuid.UUID) -> None:
    """Make the actor's session hold the case's folder (if the actor can see it)."""
    w, actor_name = sw.w, ROLES[case.role].actor
    actor, p = sw.actors[actor_name], w.principals[actor_name]
    sftp = w.node.node.sftp
    v = t.vfolders
    async with w.engine.begin() as conn:
        await conn.execute(v.update().where(v.c.id == ref_id).values(status=FolderStatus.READY))
    home = f"home-{actor_name}"
    try:
        session, _ = await sftp.open(p, [home, name])
    except Exception:
        session, _ = await sftp.open(p, [home])  # an actor who cannot see the folder
    async with w.engine.begin() as conn:
        await conn.execute(v.update().where(v.c.id == ref_id).values(status=case.status))
    if actor.session is not None and actor.session != session.id:
        await sftp.end(p, actor.session)
    actor.session = session.id


async def run_sftp(t: Target, commands: list[str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        "sftp",
        *t.options(),
        "-P",
        str(t.port),
        "-b",
        "-",
        t.login,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(proc.communicate("\n".join(commands).encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def reset(sw: SftpWorld) -> None:
    async with sw.w.engine.begin() as conn:
        await conn.execute(t.bgtasks.delete())
        await conn.execute(t.vfolders.delete().where(t.vfolders.c.id.not_in(sw.homes)))


@pytest.mark.parametrize("case", SFTP_CASES, ids=[c.id for c in SFTP_CASES])
async def test_sftp(sworld: SftpWorld, case: Case) -> None:
    w = sworld.w
    s = await make_subject(w, case)
    volume = w.volume
    assert isinstance(volume, VfsVolume)
    inner = volume.folder_path(s.ref) / "d" / "f.txt"
    inner.write_text("inside\n")
    got = sworld.work / "got.txt"
    got.unlink(missing_ok=True)
    try:
        await serve(sworld, case, s.name, s.id)
        before = await state(w, s)
        actor = sworld.actors[ROLES[case.role].actor]
        commands = [c.format(name=s.name) for c in COMMANDS[case.operation]]
        code, out, err = await run_sftp(actor.target, commands, sworld.work)
        assert "Traceback" not in err
        if case.expected is None:
            assert code == 0, f"{case.id}: expected allowed, got:\n{err}"
            match case.operation:
                case "list-files":
                    assert out.splitlines()[-1].endswith("d"), out
                case "download":
                    assert got.read_text() == "inside\n"
                case op:
                    assert await entries(w, s) == EFFECTS[op], case.id
            return
        assert code != 0, f"{case.id}: expected {case.expected.__name__}, allowed:\n{out}"
        low = err.lower()
        if case.expected.__name__ == "NotFound":
            assert "not found" in low or "no such file" in low, f"{case.id}:\n{err}"
        else:
            # OpenSSH prints a status code's text at most; the node's line says why.
            assert "bai: " in err, f"{case.id}:\n{err}"
        assert await state(w, s) == before, f"{case.id}: a refused operation changed state"
        assert inner.read_text() == "inside\n" and not got.exists()
        if case.operation == "upload":
            listing = volume.list_dir(s.ref, PurePosixPath("."))
            assert "u.txt" not in {e.name async for batch in listing for e in batch}
    finally:
        await reset(sworld)

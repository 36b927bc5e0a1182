"""What the database decides when nodes share it: one answer to an invitation, one pending
invitation, one status change, one node per local volume name, one node secret."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from bai.db import tables as t
from bai.errors import BaiError, ConfigError, Conflict, NotFound
from bai.node import Node
from tests.conftest import InProcessNode, make_config
from tests.pgserver import PgServer

pytestmark = pytest.mark.both_databases

OWNER, GUEST = "owner@db.example.com", "guest@db.example.com"


async def test_an_invitation_is_answered_once(node: InProcessNode) -> None:
    owner, guest = await node.new_user(OWNER), await node.new_user(GUEST)
    await owner.post("/folders", json={"name": "raced"})
    # Two invites of one user at once: one pending invitation.
    invites = await asyncio.gather(
        *(owner.post("/folders/raced/invite", json={"emails": [GUEST]}) for _ in range(6)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in invites) == 1, invites
    assert all(isinstance(r, Conflict) for r in invites if isinstance(r, BaseException))
    (inv,) = (await guest.get("/folders/invitations/list"))["invitations"]
    # The invitee accepts while the owner cancels: exactly one of them wins.
    outcomes = await asyncio.gather(
        guest.post("/folders/invitations/accept", json={"inv_id": inv["id"]}),
        owner.request("DELETE", "/folders/invitations/delete", json={"inv_id": inv["id"]}),
        return_exceptions=True,
    )
    failed = [r for r in outcomes if isinstance(r, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], NotFound | Conflict), outcomes
    shared = "raced" in {f["name"] for f in await guest.get("/folders")}
    assert shared == (not isinstance(outcomes[0], BaseException))


async def test_restore_and_delete_forever_race_to_one_outcome(node: InProcessNode) -> None:
    info = await node.admin.post("/folders", json={"name": "torn"})
    await node.admin.request("DELETE", "/folders/torn")
    outcomes = await asyncio.gather(
        node.admin.post("/folders/restore-from-trash-bin", json={"vfolder_id": info["id"]}),
        node.admin.post("/folders/delete-from-trash-bin", json={"vfolder_id": info["id"]}),
        return_exceptions=True,
    )
    errors = [r for r in outcomes if isinstance(r, BaseException)]
    assert len(errors) <= 1 and all(isinstance(e, BaiError) for e in errors), outcomes
    status = (await node.admin.get(f"/folders/{info['id']}"))["status"]
    if isinstance(outcomes[1], BaseException):
        assert status == "ready"
    else:  # the deletion won (or ran second): never a "ready" folder being deleted
        assert status in ("delete-ongoing", "delete-complete")


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    return pg_server.new_database()


async def test_a_second_node_with_another_secret_is_refused(tmp_path: Path, pg_url: str) -> None:
    db = f'[database]\nurl = "{pg_url}"\n'
    async with Node(make_config(tmp_path / "a", db)):
        with pytest.raises(ConfigError, match="share one secret"):
            async with Node(make_config(tmp_path / "b", db)):
                pass


async def test_local_volumes_of_one_name_on_two_nodes_are_refused(
    tmp_path: Path, pg_url: str
) -> None:
    secret = tmp_path / "shared.secret"
    db = f'[database]\nurl = "{pg_url}"\n[node]\nsecret_file = "{secret}"\n'
    async with Node(make_config(tmp_path / "a", db)):
        with pytest.raises(ConfigError, match="is local to node"):
            async with Node(make_config(tmp_path / "b", db)):
                pass
    # Shared on both sides is fine: the same bytes, reached through either node.
    vol = tmp_path / "vol"
    shared = db + f'[volume.local]\nbackend = "vfs"\npath = "{vol}"\nshared = true\n'
    a_config, b_config = make_config(tmp_path / "a", shared), make_config(tmp_path / "b", shared)
    async with Node(a_config) as a, Node(b_config) as b, b.engine.connect() as conn:
        row = (await conn.execute(sa.select(t.volumes))).one()
        assert (row.name, row.shared, row.owner_node) == ("local", True, None)
        assert a.node_id != b.node_id

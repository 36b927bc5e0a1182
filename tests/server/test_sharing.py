"""Sharing over the HTTP API: invitations, leave, revoke, project overrides, shared views.

What each permission lets an invitee or an overridden member do is the permission table's
business (`permission_table.py`); these tests cover the sharing verbs themselves.
"""

from __future__ import annotations

from typing import Any

import pytest

from bai.client import BaiClient
from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound
from tests.conftest import InProcessNode

# The folder service's rules hold on both state stores (SQLite and PostgreSQL).
pytestmark = pytest.mark.both_databases

OWNER, GUEST, OTHER = "owner@share.example.com", "guest@share.example.com", "x@share.example.com"


async def invitations(c: BaiClient, sent: bool = False) -> list[dict[str, Any]]:
    path = "/folders/invitations/list-sent" if sent else "/folders/invitations/list"
    return (await c.get(path))["invitations"]  # type: ignore[no-any-return]


async def names(c: BaiClient) -> set[str]:
    return {f["name"] for f in await c.get("/folders")}


async def test_invite_accept_leave(node: InProcessNode) -> None:
    owner, guest = await node.new_user(OWNER), await node.new_user(GUEST)
    await owner.post("/folders", json={"name": "shared1"})
    await owner.post("/folders/shared1/mkdir", json={"path": "d"})
    res = await owner.post("/folders/shared1/invite", json={"perm": "ro", "user_ids": [GUEST]})
    assert res == {"invited_ids": [GUEST]}

    # Duplicates, unknown users, oneself: refused, nothing created.
    with pytest.raises(Conflict, match=GUEST):
        await owner.post("/folders/shared1/invite", json={"perm": "rw", "emails": [GUEST]})
    with pytest.raises(NotFound, match="nobody@"):
        await owner.post("/folders/shared1/invite", json={"emails": ["nobody@share.example.com"]})
    with pytest.raises(InvalidRequest, match="yourself"):
        await owner.post("/folders/shared1/invite", json={"emails": [OWNER]})
    # Only the owner invites.
    with pytest.raises(NotFound):
        await guest.post("/folders/shared1/invite", json={"emails": [OWNER]})

    sent = await invitations(owner, sent=True)
    assert [(i["invitee"], i["perm"], i["state"]) for i in sent] == [(GUEST, "ro", "pending")]
    # The inviter changes the permission before it is accepted.
    await owner.post(f"/folders/invitations/update/{sent[0]['id']}", json={"perm": "rw"})
    status = await guest.get("/folders/_/status")
    assert status["folders"]["pending_invitations"] == 1 and status["folders"]["invited"] == 0

    (inv,) = await invitations(guest)
    assert (inv["inviter"], inv["vfolder_name"], inv["perm"]) == (OWNER, "shared1", "rw")
    assert "shared1" not in await names(guest)
    await guest.post("/folders/invitations/accept", json={"inv_id": inv["id"]})
    assert await invitations(guest) == []
    info = await guest.get("/folders/shared1")
    assert info["permission"] == "rw" and info["is_owner"] is False
    status = await guest.get("/folders/_/status")
    assert status["folders"]["invited"] == 1 and status["folders"]["pending_invitations"] == 0
    await guest.post("/folders/shared1/mkdir", json={"path": "g"})
    # rw: no deleting files, and never the owner's folder.
    with pytest.raises(Forbidden):
        await guest.request("DELETE", "/folders/shared1/delete-files", json={"files": ["g"]})
    with pytest.raises(Forbidden):
        await guest.request("DELETE", "/folders/shared1")
    with pytest.raises(Forbidden):
        await guest.post("/folders/shared1/rename", json={"new_name": "mine"})
    # An invitee cannot create a folder hiding the shared one's name.
    with pytest.raises(Conflict):
        await guest.post("/folders", json={"name": "shared1"})
    # The owner cannot "leave"; the guest can.
    with pytest.raises(InvalidRequest, match="own"):
        await owner.post("/folders/shared1/leave", json={})
    await guest.post("/folders/shared1/leave", json={"shared_user_uuid": None})
    assert "shared1" not in await names(guest)
    with pytest.raises(NotFound):
        await guest.get("/folders/shared1")


async def test_reject_cancel_and_name_clash(node: InProcessNode) -> None:
    owner, guest = await node.new_user(OWNER), await node.new_user(GUEST)
    other = await node.new_user(OTHER)
    await owner.post("/folders", json={"name": "common"})
    await guest.post("/folders", json={"name": "common"})
    await owner.post("/folders/common/invite", json={"emails": [GUEST, OTHER]})
    (inv,) = await invitations(guest)
    with pytest.raises(Conflict, match="already have a folder named 'common'"):
        await guest.post("/folders/invitations/accept", json={"inv_id": inv["id"]})
    # Nobody but the invitee accepts it; nobody but the two parties deletes it.
    with pytest.raises(NotFound):
        await other.post("/folders/invitations/accept", json={"inv_id": inv["id"]})
    with pytest.raises(NotFound):
        await other.request("DELETE", "/folders/invitations/delete", json={"inv_id": inv["id"]})
    await guest.request("DELETE", "/folders/invitations/delete", json={"inv_id": inv["id"]})
    assert await invitations(guest) == []
    (sent,) = await invitations(owner, sent=True)
    assert sent["invitee"] == OTHER
    await owner.request("DELETE", "/folders/invitations/delete", json={"inv_id": sent["id"]})
    assert await invitations(other) == [] and await invitations(owner, sent=True) == []
    with pytest.raises(NotFound):
        await guest.post("/folders/invitations/accept", json={"inv_id": inv["id"]})
    # Automount folders are never shared.
    await owner.post("/folders", json={"name": ".dots"})
    with pytest.raises(Forbidden, match="automount"):
        await owner.post("/folders/.dots/invite", json={"emails": [GUEST]})


async def test_revoke_and_shared_views(node: InProcessNode) -> None:
    owner, guest = await node.new_user(OWNER), await node.new_user(GUEST)
    await owner.post("/folders", json={"name": "rev"})
    await owner.post("/folders/rev/invite", json={"perm": "wd", "emails": [GUEST]})
    (inv,) = await invitations(guest)
    await guest.post("/folders/invitations/accept", json={"inv_id": inv["id"]})
    fid = (await owner.get("/folders/rev"))["id"]
    # The owner sees who holds what on their folders; the guest sees nothing of others'.
    (entry,) = (await owner.get("/folders/_/shared"))["shared"]
    assert (entry["vfolder_name"], entry["shared_to"]["email"], entry["perm"]) == (
        "rev",
        GUEST,
        "wd",
    )
    assert (await guest.get("/folders/_/shared"))["shared"] == []
    with pytest.raises(Forbidden):
        await guest.post("/folders/_/shared", json={"vfolder": fid, "user": entry["owner"]})
    # Change, then revoke.
    guest_id = entry["shared_to"]["uuid"]
    await owner.post("/folders/_/shared", json={"vfolder": fid, "user": guest_id, "perm": "ro"})
    assert (await guest.get("/folders/rev"))["permission"] == "ro"
    res = await owner.request("DELETE", "/folders/rev/unshare", json={"emails": [GUEST]})
    assert res == {"unshared_emails": [GUEST]}
    assert "rev" not in await names(guest)
    # Admins see every shared folder, by id too.
    await owner.post("/folders/rev/invite", json={"emails": [GUEST]})
    (inv,) = await invitations(guest)
    await guest.post("/folders/invitations/accept", json={"inv_id": inv["id"]})
    shared = await node.admin.get("/folders/_/shared", params={"vfolder_id": fid})
    assert [s["shared_to"]["email"] for s in shared["shared"]] == [GUEST]
    await node.admin.post("/folders/_/shared", json={"vfolder": fid, "user": guest_id})
    assert "rev" not in await names(guest)
    # Change of owner (superadmins): the folder is then the guest's.
    await node.admin.post("/folders/_/change-ownership", json={"vfolder": fid, "user_email": GUEST})
    assert (await guest.get("/folders/rev"))["is_owner"] is True
    assert "rev" not in await names(owner)


async def test_project_overrides(node: InProcessNode) -> None:
    member, outsider = await node.new_user(GUEST), await node.new_user(OTHER)
    await node.admin.post("/admin/projects", json={"name": "shareteam"})
    await node.admin.post("/admin/projects/shareteam/add-members", json={"emails": [GUEST]})
    await node.admin.post(
        "/folders", json={"name": "team", "group": "shareteam", "permission": "ro"}
    )
    assert (await member.get("/folders/team"))["permission"] == "ro"
    res = await node.admin.post("/folders/team/share", json={"permission": "wd", "emails": [GUEST]})
    assert res == {"shared_emails": [GUEST]}
    assert (await member.get("/folders/team"))["permission"] == "wd"
    await member.post("/folders/team/mkdir", json={"path": "m"})
    # An override never makes the member an owner.
    with pytest.raises(Forbidden):
        await member.post("/folders/team/rename", json={"new_name": "t2"})
    # Members cannot leave a project folder, nor share it.
    with pytest.raises(InvalidRequest):
        await member.post("/folders/team/leave", json={})
    with pytest.raises(Forbidden):
        await member.post("/folders/team/share", json={"permission": "wd", "emails": [GUEST]})
    # Only project members get overrides; user folders are invited to, not shared.
    with pytest.raises(InvalidRequest, match="not a member"):
        await node.admin.post("/folders/team/share", json={"emails": [OTHER]})
    await outsider.post("/folders", json={"name": "solo"})
    with pytest.raises(InvalidRequest, match="invite"):
        await outsider.post("/folders/solo/share", json={"emails": [GUEST]})
    # Unshare: the member falls back to the folder's permission.
    await node.admin.request("DELETE", "/folders/team/unshare", json={"emails": [GUEST]})
    assert (await member.get("/folders/team"))["permission"] == "ro"
    with pytest.raises(InvalidRequest, match="project folder"):
        await node.admin.post("/folders/team/invite", json={"emails": [GUEST]})

"""Provides `SharingService`: invitations, leaving, per-user overrides and the shared views.

Sharing only adds rows to the share table (`vfolder_permissions`); what a row lets its user
do is decided in `bai.access` like every other permission, so every transport gets it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai import access
from bai.access import Principal
from bai.db import tables as t
from bai.enums import Ownership
from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound
from bai.folders.events import EventHub
from bai.folders.models import DELETE_STATES, NAME_HOLDING, PERMISSIONS, VFolder
from bai.folders.repository import folder_by_id, member_projects, now, visible_folders
from bai.folders.service import FolderService

inv = t.vfolder_invitations
share = t.vfolder_permissions
v = t.vfolders
PENDING, ACCEPTED, REJECTED, CANCELED = "pending", "accepted", "rejected", "canceled"


@dataclass(frozen=True)
class Invitation:
    id: uuid.UUID
    folder_id: uuid.UUID
    folder_name: str
    inviter: str
    invitee: str
    permission: str
    state: str
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True)
class SharedEntry:
    """One row of the share table, as the admin views show it."""

    folder_id: uuid.UUID
    folder_name: str
    status: str
    owner: str  # the owning user's or project's id
    type: str  # user | project
    user_id: uuid.UUID
    email: str
    permission: str


def _check_permission(perm: str) -> str:
    if perm not in PERMISSIONS:
        raise InvalidRequest(f"permission must be one of {', '.join(PERMISSIONS)}, not {perm!r}")
    return perm


def _invitation_query() -> sa.Select[Any]:
    inviter, invitee = t.users.alias("inviter"), t.users.alias("invitee")
    return (
        sa.select(
            inv,
            v.c.name.label("folder_name"),
            inviter.c.email.label("inviter_email"),
            invitee.c.email.label("invitee_email"),
        )
        .select_from(
            inv.join(v, v.c.id == inv.c.folder_id)
            .join(inviter, inviter.c.id == inv.c.inviter_id)
            .join(invitee, invitee.c.id == inv.c.invitee_id)
        )
        # An invitation to a folder in the trash or deleted waits (or dies) with it.
        .where(inv.c.state == PENDING, v.c.status.not_in(DELETE_STATES))
        .order_by(inv.c.created_at)
    )


def _invitation(r: Any) -> Invitation:
    return Invitation(
        id=r.id,
        folder_id=r.folder_id,
        folder_name=r.folder_name,
        inviter=r.inviter_email,
        invitee=r.invitee_email,
        permission=r.permission,
        state=r.state,
        created_at=r.created_at,
        modified_at=r.modified_at,
    )


async def pending_invitations(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    """How many invitations wait for `user_id` (the storage status panel shows it)."""
    q = _invitation_query().where(inv.c.invitee_id == user_id).subquery()
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(q)) or 0)


class SharingService:
    events = EventHub()  # nobody listens to this one; a node gives its services its own hub

    def __init__(self, engine: AsyncEngine, folders: FolderService) -> None:
        self.engine = engine
        self.folders = folders

    # ---- invitations (user folders) ----------------------------------------------------------

    async def invite(self, p: Principal, ident: str, emails: list[str], perm: str) -> list[str]:
        """Invite users to the caller's folder; all or nothing, so a typo never half-shares."""
        _check_permission(perm)
        folder = await self.folders.get(p, ident, access.INVITE)
        access.check_shareable(folder.view(), folder.ownership_type, by_invitation=True)
        wanted = list(dict.fromkeys(e.strip() for e in emails if e.strip()))
        if not wanted:
            raise InvalidRequest("give at least one e-mail address to invite")
        if p.email in wanted:
            raise InvalidRequest("you cannot invite yourself to your own folder")
        async with self.engine.begin() as conn:
            users = await self._active_users(conn, wanted)
            ids = list(users.values())
            pending = await conn.scalars(
                sa.select(inv.c.invitee_id).where(
                    inv.c.folder_id == folder.id, inv.c.state == PENDING, inv.c.invitee_id.in_(ids)
                )
            )
            shared = await conn.scalars(
                sa.select(share.c.user_id).where(
                    share.c.folder_id == folder.id, share.c.user_id.in_(ids)
                )
            )
            dup = set(pending.all()) | set(shared.all())
            if dup:
                names = ", ".join(e for e, i in users.items() if i in dup)
                raise Conflict(
                    f"folder {folder.name!r} is already shared with, or has a pending "
                    f"invitation for: {names}; `bai vfolder invitations --sent` shows them"
                )
            ts = now()
            try:
                for uid in ids:
                    await conn.execute(
                        inv.insert().values(
                            id=uuid.uuid4(),
                            folder_id=folder.id,
                            inviter_id=p.user_id,
                            invitee_id=uid,
                            permission=perm,
                            state=PENDING,
                            created_at=ts,
                            modified_at=ts,
                        )
                    )
            except sa.exc.IntegrityError:
                # The one-pending-invitation index caught a concurrent invite (another node).
                raise Conflict(
                    f"folder {folder.name!r} got an invitation for one of these users "
                    "meanwhile; `bai vfolder invitations --sent` shows them"
                ) from None
        self.events.invitation_changed(folder.id, [p.email, *users])
        return list(users)

    async def _active_users(self, conn: AsyncConnection, emails: list[str]) -> dict[str, uuid.UUID]:
        rows = (
            await conn.execute(
                sa.select(t.users.c.email, t.users.c.id).where(
                    t.users.c.email.in_(emails), t.users.c.status == "active"
                )
            )
        ).all()
        found = {r.email: r.id for r in rows}
        missing = [e for e in emails if e not in found]
        if missing:
            raise NotFound(
                f"no active user with the e-mail {', '.join(missing)}; check the address "
                "(an admin lists users with `bai admin user list`)"
            )
        return {e: found[e] for e in emails}

    async def received(self, p: Principal) -> list[Invitation]:
        return await self._invitations(inv.c.invitee_id == p.user_id)

    async def sent(self, p: Principal) -> list[Invitation]:
        return await self._invitations(inv.c.inviter_id == p.user_id)

    async def _invitations(self, cond: sa.ColumnElement[bool]) -> list[Invitation]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_invitation_query().where(cond))).all()
        return [_invitation(r) for r in rows]

    async def _pending(self, conn: AsyncConnection, inv_id: str) -> Invitation:
        try:
            iid = uuid.UUID(str(inv_id))
        except ValueError:
            raise InvalidRequest(f"{inv_id!r} is not an invitation id") from None
        # Locked until the caller's transaction ends: of an accept and a cancel racing (on two
        # nodes), the second finds the invitation no longer pending.
        query = _invitation_query().where(inv.c.id == iid).with_for_update(of=inv)
        r = (await conn.execute(query)).first()
        if r is None:
            raise NotFound(f"no pending invitation {inv_id}; `bai vfolder invitations` lists yours")
        return _invitation(r)

    async def accept(self, p: Principal, inv_id: str) -> Invitation:
        async with self.engine.begin() as conn:
            i = await self._pending(conn, inv_id)
            if i.invitee != p.email:
                raise NotFound(
                    f"no pending invitation {inv_id}; `bai vfolder invitations` lists yours"
                )
            mine = await visible_folders(conn, p)
            if any(f.name == i.folder_name and f.status in NAME_HOLDING for f in mine):
                raise Conflict(
                    f"you already have a folder named {i.folder_name!r}; rename yours with "
                    "`bai vfolder rename` and accept the invitation again"
                )
            try:
                await conn.execute(
                    share.insert().values(
                        folder_id=i.folder_id,
                        user_id=p.user_id,
                        permission=i.permission,
                        created_at=now(),
                    )
                )
            except sa.exc.IntegrityError:
                raise Conflict(f"folder {i.folder_name!r} is already shared with you") from None
            await self._set_state(conn, i.id, ACCEPTED)
        self.events.invitation_changed(i.folder_id, [i.inviter, i.invitee])
        return i

    async def delete_invitation(self, p: Principal, inv_id: str) -> str:
        """The invitee rejects it, or the inviter cancels it; the new state is returned."""
        async with self.engine.begin() as conn:
            i = await self._pending(conn, inv_id)
            if p.email == i.inviter:
                state = CANCELED
            elif p.email == i.invitee:
                state = REJECTED
            else:
                raise NotFound(
                    f"no pending invitation {inv_id}; `bai vfolder invitations` lists yours"
                )
            await self._set_state(conn, i.id, state)
        self.events.invitation_changed(i.folder_id, [i.inviter, i.invitee])
        return state

    async def update_invitation(self, p: Principal, inv_id: str, perm: str) -> Invitation:
        _check_permission(perm)
        async with self.engine.begin() as conn:
            i = await self._pending(conn, inv_id)
            if p.email != i.inviter:
                raise Forbidden("only the user who sent an invitation can change its permission")
            await conn.execute(
                inv.update().where(inv.c.id == i.id).values(permission=perm, modified_at=now())
            )
        return i

    @staticmethod
    async def _set_state(conn: AsyncConnection, inv_id: uuid.UUID, state: str) -> None:
        res = await conn.execute(
            inv.update()
            .where(inv.c.id == inv_id, inv.c.state == PENDING)
            .values(state=state, modified_at=now())
        )
        if res.rowcount != 1:
            raise Conflict(f"invitation {inv_id} was answered or canceled meanwhile")

    # ---- leaving and revoking ----------------------------------------------------------------

    async def leave(self, p: Principal, ident: str, shared_user: str | None = None) -> None:
        """Leave a folder shared with you; with `shared_user`, its owner (or an administrator)
        removes that user's access instead (Backend.AI's `leave -s`)."""
        folder = await self.folders.get(p, ident, access.LEAVE)
        if shared_user and shared_user != str(p.user_id):
            access.check_manage_shares(p, folder.view())
            await self._remove(folder.id, [self._uuid(shared_user, "shared_user_uuid")])
            return
        access.check_leave(folder.view())
        await self._remove(folder.id, [p.user_id])

    @staticmethod
    def _uuid(value: str, what: str) -> uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError:
            raise InvalidRequest(f"{what} must be a user id (a UUID), not {value!r}") from None

    async def _remove(self, folder_id: uuid.UUID, users: list[uuid.UUID]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                share.delete().where(share.c.folder_id == folder_id, share.c.user_id.in_(users))
            )
        self.events.folder_changed(folder_id)  # those who lost it still hear of it, once

    # ---- per-user overrides (project folders) and revocation ---------------------------------

    async def share(self, p: Principal, ident: str, emails: list[str], perm: str) -> list[str]:
        """Give members of a project folder's project another permission than the folder's."""
        _check_permission(perm)
        folder = await self.folders.get(p, ident, access.SHARE)
        access.check_shareable(folder.view(), folder.ownership_type, by_invitation=False)
        async with self.engine.begin() as conn:
            users = await self._active_users(conn, list(dict.fromkeys(emails)))
            outside = []
            for email, uid in users.items():
                if folder.project_id not in await member_projects(conn, uid):
                    outside.append(email)
            if outside:
                raise InvalidRequest(
                    f"{', '.join(outside)} not a member of project {folder.project_name!r}; "
                    "add them with `bai admin project add-members` first"
                )
            for uid in users.values():
                await conn.execute(
                    share.delete().where(share.c.folder_id == folder.id, share.c.user_id == uid)
                )
                await conn.execute(
                    share.insert().values(
                        folder_id=folder.id, user_id=uid, permission=perm, created_at=now()
                    )
                )
        self.events.folder_changed(folder.id)
        return list(users)

    async def unshare(self, p: Principal, ident: str, emails: list[str]) -> list[str]:
        """Remove overrides (project folders: members fall back to the folder's permission)
        or revoke invitees' access (user folders, by their owner)."""
        folder = await self.folders.get(p, ident, access.UNSHARE)
        async with self.engine.connect() as conn:
            users = await self._active_users(conn, list(dict.fromkeys(emails)))
        await self._remove(folder.id, list(users.values()))
        return list(users)

    # ---- admin views -------------------------------------------------------------------------

    async def _managed(self, p: Principal, folder_id: str) -> VFolder:
        fid = self._uuid(folder_id, "vfolder")
        async with self.engine.connect() as conn:
            seen = await visible_folders(conn, p, v.c.id == fid)
            folder = seen[0] if seen else (await folder_by_id(conn, fid) if p.is_admin else None)
        if folder is None:
            raise NotFound(f"no folder {folder_id}; `bai vfolder list` shows your folders")
        access.check_manage_shares(p, folder.view())
        return folder

    async def list_shared(self, p: Principal, folder_id: str | None = None) -> list[SharedEntry]:
        """Every share row (administrators), or those of the folders the caller owns."""
        q = sa.select(
            share.c.folder_id,
            share.c.user_id,
            share.c.permission,
            v.c.name,
            v.c.status,
            v.c.user_id.label("owner_id"),
            v.c.project_id,
            t.users.c.email,
        ).select_from(
            share.join(v, v.c.id == share.c.folder_id).join(
                t.users, t.users.c.id == share.c.user_id
            )
        )
        if folder_id is not None:
            q = q.where(v.c.id == (await self._managed(p, folder_id)).id)
        elif not p.is_admin:
            q = q.where(v.c.ownership_type == Ownership.USER, v.c.user_id == p.user_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.order_by(v.c.name, t.users.c.email))).all()
        return [
            SharedEntry(
                folder_id=r.folder_id,
                folder_name=r.name,
                status=r.status,
                owner=str(r.project_id or r.owner_id),
                type="project" if r.project_id else "user",
                user_id=r.user_id,
                email=r.email,
                permission=r.permission,
            )
            for r in rows
        ]

    async def update_shared(
        self, p: Principal, folder_id: str, user_id: str, perm: str | None
    ) -> None:
        """Change one user's share of a folder, or remove it (`perm` None)."""
        folder = await self._managed(p, folder_id)
        uid = self._uuid(user_id, "user")
        async with self.engine.begin() as conn:
            if perm is None:
                await conn.execute(
                    share.delete().where(share.c.folder_id == folder.id, share.c.user_id == uid)
                )
                return
            res = await conn.execute(
                share.update()
                .where(share.c.folder_id == folder.id, share.c.user_id == uid)
                .values(permission=_check_permission(perm))
            )
            if not res.rowcount:
                raise NotFound(
                    f"folder {folder.name!r} is not shared with user {user_id}; "
                    "`bai admin vfolder list-shared-vfolders` shows who holds what"
                )

    async def change_owner(self, p: Principal, folder_id: str, email: str) -> VFolder:
        """Give a user folder to another user (superadmins). Its quota scope and data stay
        where they are: moving them between scopes is not supported yet."""
        if not p.is_superadmin:
            raise Forbidden("only a superadmin can change a folder's owner")
        folder = await self._managed(p, folder_id)
        if folder.ownership_type != Ownership.USER:
            raise InvalidRequest("only user folders can change owner; project folders cannot")
        async with self.engine.begin() as conn:
            new = (await self._active_users(conn, [email]))[email]
            try:
                await conn.execute(v.update().where(v.c.id == folder.id).values(user_id=new))
            except sa.exc.IntegrityError:
                raise Conflict(
                    f"{email} already has a folder named {folder.name!r}; rename one first"
                ) from None
            # The new owner holds wd as owner: an old share row or invitation of theirs goes.
            await conn.execute(
                share.delete().where(share.c.folder_id == folder.id, share.c.user_id == new)
            )
            await conn.execute(
                inv.update()
                .where(inv.c.folder_id == folder.id, inv.c.invitee_id == new)
                .values(state=CANCELED, modified_at=now())
            )
            updated = await folder_by_id(conn, folder.id)
        assert updated is not None
        return updated

"""Provides Backend.AI's sharing routes: invitations, leave, share/unshare, shared views."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from bai.api import sharing as api
from bai.errors import InvalidRequest
from bai.folders.sharing import Invitation, SharedEntry
from bai.server.http.body import json_body
from bai.server.http.deps import Caller, Services
from bai.server.http.wire import iso

S = TypeVar("S", bound=msgspec.Struct)


def invitation_info(i: Invitation) -> api.InvitationInfo:
    return api.InvitationInfo(
        id=i.id,
        inviter=i.inviter,
        invitee=i.invitee,
        perm=i.permission,
        state=i.state,
        created_at=iso(i.created_at) or "",
        modified_at=iso(i.modified_at) or "",
        vfolder_id=i.folder_id,
        vfolder_name=i.folder_name,
    )


def shared_folder(e: SharedEntry) -> api.SharedFolder:
    return api.SharedFolder(
        vfolder_id=e.folder_id,
        vfolder_name=e.folder_name,
        status=e.status,
        owner=e.owner,
        type=e.type,
        shared_to=api.SharedUser(uuid=e.user_id, email=e.email),
        perm=e.permission,
    )


async def _body(request: Request[Any, Any, Any], kind: type[S]) -> S:
    """A JSON body on DELETE or GET, which the official client sends and Litestar does not
    decode for those methods."""
    try:
        return msgspec.convert(await json_body(request), kind)
    except msgspec.ValidationError as e:
        raise InvalidRequest(f"malformed request: {e}") from None


class SharingController(Controller):
    path = "/folders"
    tags = ("sharing",)  # type: ignore[assignment]

    # ---- invitations -------------------------------------------------------------------------

    @post("/{name:str}/invite", operation_id="inviteToFolder", status_code=201)
    async def invite(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.InviteRequest],
    ) -> api.Invited:
        """Invite users (by e-mail) to your user folder with `ro`, `rw` or `wd`."""
        invited = await services.sharing.invite(
            principal, name, data.invitees, data.chosen_permission
        )
        return api.Invited(invited_ids=invited)

    @get("/invitations/list", operation_id="listInvitations")
    async def received(self, principal: Caller, services: Services) -> api.InvitationList:
        """Pending invitations sent to you."""
        invs = await services.sharing.received(principal)
        return api.InvitationList(invitations=[invitation_info(i) for i in invs])

    @get("/invitations/list-sent", operation_id="listSentInvitations")
    async def sent(self, principal: Caller, services: Services) -> api.InvitationList:
        """Pending invitations you sent."""
        invs = await services.sharing.sent(principal)
        return api.InvitationList(invitations=[invitation_info(i) for i in invs])

    # The official client 23.9.10 spells it with an underscore; one operation in the schema.
    @get("/invitations/list_sent", include_in_schema=False)
    async def sent_alias(self, principal: Caller, services: Services) -> api.InvitationList:
        invs = await services.sharing.sent(principal)
        return api.InvitationList(invitations=[invitation_info(i) for i in invs])

    @post("/invitations/accept", operation_id="acceptInvitation", status_code=200)
    async def accept(
        self, principal: Caller, services: Services, data: JSONBody[api.InvitationRef]
    ) -> api.Message:
        i = await services.sharing.accept(principal, data.inv_id)
        return api.Message(msg=f"folder {i.folder_name!r} is now shared with you")

    @delete("/invitations/delete", operation_id="deleteInvitation", status_code=200)
    async def delete_invitation(
        self, principal: Caller, services: Services, request: Request[Any, Any, Any]
    ) -> api.Message:
        """The invitee rejects an invitation, or its sender cancels it."""
        ref = await _body(request, api.InvitationRef)
        state = await services.sharing.delete_invitation(principal, ref.inv_id)
        return api.Message(msg=f"invitation {ref.inv_id} {state}")

    @post("/invitations/update/{inv_id:str}", operation_id="updateInvitation", status_code=200)
    async def update_invitation(
        self,
        principal: Caller,
        services: Services,
        inv_id: FromPath[str],
        data: JSONBody[api.InvitationUpdate],
    ) -> api.Message:
        perm = data.chosen_permission
        if perm is None:
            raise InvalidRequest("give the new permission as `perm`", data={"perm": "required"})
        await services.sharing.update_invitation(principal, inv_id, perm)
        return api.Message(msg=f"vfolder invitation updated: {inv_id}.")

    # ---- leave, share, unshare ---------------------------------------------------------------

    @post("/{name:str}/leave", operation_id="leaveFolder", status_code=200)
    async def leave(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.LeaveRequest | None] = None,
    ) -> api.Message:
        """Leave a folder shared with you (or, as its owner, remove `shared_user_uuid`)."""
        await services.sharing.leave(principal, name, data.shared_user if data else None)
        return api.Message(msg="left the shared vfolder")

    @post("/{name:str}/share", operation_id="shareProjectFolder", status_code=201)
    async def share(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.ShareRequest],
    ) -> api.Shared:
        """Override project members' permission on a project folder (admins)."""
        emails = await services.sharing.share(principal, name, data.emails, data.chosen_permission)
        return api.Shared(shared_emails=emails)

    @delete("/{name:str}/unshare", operation_id="unshareFolder", status_code=200)
    async def unshare(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> api.Unshared:
        """Remove overrides on a project folder, or revoke invitees of your user folder."""
        body = await _body(request, api.UnshareRequest)
        emails = await services.sharing.unshare(principal, name, body.emails)
        return api.Unshared(unshared_emails=emails)

    # ---- shared-folder views -----------------------------------------------------------------

    @get("/_/shared", operation_id="listSharedFolders")
    async def list_shared(
        self,
        principal: Caller,
        services: Services,
        request: Request[Any, Any, Any],
        vfolder_id: FromQuery[str | None] = None,
    ) -> api.SharedList:
        """Who holds what on shared folders: every one (admins) or yours."""
        body = await json_body(request)  # the official client sends `vfolder_id` in a body
        ident = vfolder_id or body.get("vfolder_id") or body.get("vfolderId")
        entries = await services.sharing.list_shared(principal, str(ident) if ident else None)
        return api.SharedList(shared=[shared_folder(e) for e in entries])

    @post("/_/shared", operation_id="updateSharedFolder", status_code=200)
    async def update_shared(
        self, principal: Caller, services: Services, data: JSONBody[api.SharedUpdate]
    ) -> api.Message:
        """Change a user's permission on a shared folder, or remove it (`perm` null)."""
        await services.sharing.update_shared(
            principal, data.vfolder, data.user, data.chosen_permission
        )
        return api.Message(msg="shared vfolder permission updated")

    @post("/_/change-ownership", operation_id="changeFolderOwner", status_code=200)
    async def change_owner(
        self, principal: Caller, services: Services, data: JSONBody[api.OwnershipChange]
    ) -> api.Message:
        """Give a user folder to another user (superadmins)."""
        await services.sharing.change_owner(principal, data.vfolder, data.user_email)
        return api.Message(msg=f"the owner of folder {data.vfolder} is now {data.user_email}")

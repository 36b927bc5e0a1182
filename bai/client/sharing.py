"""Provides `client.sharing`: invitations, leave, share/unshare and the shared-folder views."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING
from urllib.parse import quote

from bai.api import sharing as api

if TYPE_CHECKING:
    from bai.client.session import BaiClient


def _folder(name: str) -> str:
    return f"/folders/{quote(name, safe='')}"


class SharingApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def invite(self, name: str, emails: builtins.list[str], perm: str) -> api.Invited:
        body = api.InviteRequest(perm=perm, emails=emails)
        return await self._c.call("POST", f"{_folder(name)}/invite", api.Invited, body=body)

    async def invitations(self, *, sent: bool = False) -> api.InvitationList:
        path = "/folders/invitations/list-sent" if sent else "/folders/invitations/list"
        return await self._c.call("GET", path, api.InvitationList)

    async def accept(self, inv_id: str) -> api.Message:
        body = api.InvitationRef(inv_id=inv_id)
        return await self._c.call("POST", "/folders/invitations/accept", api.Message, body=body)

    async def delete_invitation(self, inv_id: str) -> api.Message:
        """Reject an invitation sent to you, or cancel one you sent."""
        body = api.InvitationRef(inv_id=inv_id)
        return await self._c.call("DELETE", "/folders/invitations/delete", api.Message, body=body)

    async def update_invitation(self, inv_id: str, perm: str) -> api.Message:
        body = api.InvitationUpdate(perm=perm)
        path = f"/folders/invitations/update/{quote(inv_id, safe='')}"
        return await self._c.call("POST", path, api.Message, body=body)

    async def leave(self, name: str, shared_user: str | None = None) -> api.Message:
        body = api.LeaveRequest(shared_user_uuid=shared_user)
        return await self._c.call("POST", f"{_folder(name)}/leave", api.Message, body=body)

    async def share(self, name: str, emails: builtins.list[str], perm: str) -> api.Shared:
        body = api.ShareRequest(permission=perm, emails=emails)
        return await self._c.call("POST", f"{_folder(name)}/share", api.Shared, body=body)

    async def unshare(self, name: str, emails: builtins.list[str]) -> api.Unshared:
        body = api.UnshareRequest(emails=emails)
        return await self._c.call("DELETE", f"{_folder(name)}/unshare", api.Unshared, body=body)

    async def list_shared(self, folder_id: str | None = None) -> api.SharedList:
        params = {"vfolder_id": folder_id} if folder_id else None
        return await self._c.call("GET", "/folders/_/shared", api.SharedList, params=params)

    async def update_shared(self, folder_id: str, user_id: str, perm: str | None) -> api.Message:
        body = api.SharedUpdate(vfolder=folder_id, user=user_id, perm=perm)
        return await self._c.call("POST", "/folders/_/shared", api.Message, body=body)

    async def change_owner(self, folder_id: str, email: str) -> api.Message:
        body = api.OwnershipChange(vfolder=folder_id, user_email=email)
        return await self._c.call("POST", "/folders/_/change-ownership", api.Message, body=body)

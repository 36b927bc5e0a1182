"""Provides the sharing bodies: invitations, leave, share/unshare and the shared-folder views.

Shapes are Backend.AI 23.09's manager's (`/folders/invite`, `/folders/invitations/*`,
`/folders/{name}/share|unshare|leave`, `/folders/_/shared`, `/folders/_/change-ownership`),
including the aliases it accepts (`perm`/`permission`, `emails`/`user_ids`/`userIDs`).
"""

from __future__ import annotations

import uuid

import msgspec

from bai.api.base import WireRequest, WireResponse


class InviteRequest(WireRequest):
    perm: str | None = None
    permission: str | None = None
    emails: list[str] | None = None
    user_ids: list[str] | None = None
    user_ids_camel: list[str] | None = msgspec.field(default=None, name="userIDs")

    @property
    def chosen_permission(self) -> str:
        return self.perm or self.permission or "rw"

    @property
    def invitees(self) -> list[str]:
        return self.emails or self.user_ids or self.user_ids_camel or []


class Invited(WireResponse):
    invited_ids: list[str]  # the invitees' e-mails, as Backend.AI answers


class InvitationInfo(WireResponse):
    id: uuid.UUID
    inviter: str
    invitee: str
    perm: str
    state: str
    created_at: str
    modified_at: str
    vfolder_id: uuid.UUID
    vfolder_name: str


class InvitationList(WireResponse):
    invitations: list[InvitationInfo]


class InvitationRef(WireRequest):
    inv_id: str


class InvitationUpdate(WireRequest):
    perm: str | None = None
    permission: str | None = None

    @property
    def chosen_permission(self) -> str | None:
        return self.perm or self.permission


class Message(WireResponse):
    msg: str


class LeaveRequest(WireRequest):
    shared_user_uuid: str | None = None
    shared_user_uuid_camel: str | None = msgspec.field(default=None, name="sharedUserUuid")

    @property
    def shared_user(self) -> str | None:
        return self.shared_user_uuid or self.shared_user_uuid_camel


class ShareRequest(WireRequest):
    emails: list[str]
    permission: str | None = None
    perm: str | None = None

    @property
    def chosen_permission(self) -> str:
        return self.permission or self.perm or "rw"


class Shared(WireResponse):
    shared_emails: list[str]


class UnshareRequest(WireRequest):
    emails: list[str]


class Unshared(WireResponse):
    unshared_emails: list[str]


class SharedUser(WireResponse):
    uuid: uuid.UUID
    email: str


class SharedFolder(WireResponse):
    vfolder_id: uuid.UUID
    vfolder_name: str
    status: str
    owner: str
    type: str  # user | project
    shared_to: SharedUser
    perm: str


class SharedList(WireResponse):
    shared: list[SharedFolder]


class SharedUpdate(WireRequest):
    """Change one user's share of a folder; a null `perm` removes it."""

    vfolder: str
    user: str
    perm: str | None = None
    permission: str | None = None

    @property
    def chosen_permission(self) -> str | None:
        return self.perm or self.permission


class OwnershipChange(WireRequest):
    vfolder: str
    user_email: str

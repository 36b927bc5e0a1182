"""Provides every permission decision of bai, in one place, for every transport to call.

Roles: `superadmin` > `admin` > `user`. Host permissions come from the keypair resource
policy's `allowed_vfolder_hosts` ({host: [permission, ...]}).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from bai.errors import Forbidden, InvalidRequest

ROLES = ("superadmin", "admin", "user")

HOST_PERMISSIONS = (
    "create-vfolder",
    "modify-vfolder",
    "delete-vfolder",
    "mount-in-session",
    "upload-file",
    "download-file",
    "invite-others",
    "set-user-specific-permission",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved once per request by the transport's authentication."""

    user_id: uuid.UUID
    email: str
    role: str
    domain: str
    access_key: str
    keypair_policy: str
    allowed_hosts: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role in ("superadmin", "admin")

    @property
    def is_superadmin(self) -> bool:
        return self.role == "superadmin"


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden(f"{p.email} is not an administrator; ask an admin to run this command")


def check_role_change(actor: Principal, target_role: str, current_role: str | None) -> None:
    """Admins manage users; only a superadmin creates, demotes or edits a superadmin."""
    require_admin(actor)
    if target_role not in ROLES:
        raise InvalidRequest(f"unknown role {target_role!r}; choose one of {', '.join(ROLES)}")
    if "superadmin" in (target_role, current_role) and not actor.is_superadmin:
        raise Forbidden("only a superadmin can create or change a superadmin account")


def check_host_permission(p: Principal, host: str, permission: str) -> None:
    perms = p.allowed_hosts.get(host)
    if perms is None:
        raise Forbidden(
            f"storage host {host!r} is not allowed for your keypair; "
            "run `bai vfolder list-hosts` to see the hosts you can use"
        )
    if permission not in perms:
        raise Forbidden(
            f"your keypair's resource policy does not grant {permission!r} on host {host!r}; "
            "ask an admin to add it with `bai admin resource-policy set keypair …`"
        )


def validate_host_permissions(hosts: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for host, perms in hosts.items():
        bad = [p for p in perms if p not in HOST_PERMISSIONS]
        if bad:
            raise InvalidRequest(
                f"unknown host permission {bad[0]!r} for {host!r}; "
                f"valid ones: {', '.join(HOST_PERMISSIONS)}"
            )
        out[host] = [p for p in HOST_PERMISSIONS if p in perms]
    return out


# ---- folders ---------------------------------------------------------------------------------
# Folder permissions, weakest first: ro reads; rw also writes files; wd also deletes files.
_RANK = {"ro": 0, "rw": 1, "wd": 2}


def folder_permission(
    p: Principal,
    *,
    ownership_type: str,
    owner_id: uuid.UUID | None,
    folder_perm: str,
    is_member: bool,
    shared_perm: str | None = None,
) -> str | None:
    """The permission `p` holds on a folder, or None when the folder is invisible to them."""
    if ownership_type == "user":
        if owner_id == p.user_id:
            return "wd"
        return shared_perm
    # Project folders: admins manage them; members get the folder's member permission.
    if p.is_admin:
        return "wd"
    if is_member:
        return shared_perm or folder_perm
    return None


@dataclass(frozen=True)
class FolderAction:
    """What an operation needs: a folder permission, a status set and maybe a host grant."""

    verb: str
    permission: str
    statuses: frozenset[str]
    host_permission: str | None = None
    # Folder-level changes (rename, trash, delete) belong to the owner, or to an admin for a
    # project folder, never to someone it was shared with.
    owner_only: bool = False


def check_folder_action(
    p: Principal,
    action: FolderAction,
    *,
    name: str,
    host: str,
    status: str,
    held: str | None,
    is_owner: bool,
) -> None:
    if held is None:
        raise Forbidden(f"you have no access to folder {name!r}")
    if action.owner_only and not is_owner:
        raise Forbidden(f"only the owner of folder {name!r} can have it {action.verb}")
    if status not in action.statuses:
        if status.startswith("delete-"):
            raise Forbidden(
                f"folder {name!r} is {status}: files cannot be {action.verb}; restore the "
                "folder first if it is in the trash"
            )
        raise Forbidden(f"cannot {action.verb} folder {name!r} while it is {status}")
    if _RANK[held] < _RANK[action.permission]:
        raise Forbidden(
            f"your permission on folder {name!r} is {held!r}; {action.verb} needs "
            f"{action.permission!r}"
        )
    if action.host_permission is not None:
        check_host_permission(p, host, action.host_permission)

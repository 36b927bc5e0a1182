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

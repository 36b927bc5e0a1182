"""Provides every permission decision of bai, in one place, for every transport to call.

Roles: `superadmin` > `admin` > `user`. A caller holds a permission on a folder (`ro` < `rw` <
`wd`) by owning it, by being a member of its project (an administrator may override a member's
permission per user), by having accepted an invitation to it, or (administrators) by managing
project folders. Each operation on a folder is a `FolderAction` in the table below: the
permission it needs, the folder statuses it runs in, the host grant of the keypair policy
it needs, and whether only the folder's owner may do it. Who sees which folders, who may
read a background task, and which operations are for administrators only are decided here
too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from bai.enums import FolderStatus, HostPermission, Ownership, Permission, Role
from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound, ReadOnly

ROLES = tuple(r.value for r in Role)
HOST_PERMISSIONS = tuple(h.value for h in HostPermission)
S = FolderStatus


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved once per request by the transport's authentication."""

    user_id: uuid.UUID
    email: str
    role: Role
    domain: str
    access_key: str
    keypair_policy: str
    allowed_hosts: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.SUPERADMIN, Role.ADMIN)

    @property
    def is_superadmin(self) -> bool:
        return self.role == Role.SUPERADMIN


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden(f"{p.email} is not an administrator; ask an admin to run this command")


def check_role_change(actor: Principal, target_role: str, current_role: str | None) -> None:
    """Admins manage users; only a superadmin creates, demotes or edits a superadmin."""
    require_admin(actor)
    if target_role not in ROLES:
        raise InvalidRequest(f"unknown role {target_role!r}; choose one of {', '.join(ROLES)}")
    if Role.SUPERADMIN in (target_role, current_role) and not actor.is_superadmin:
        raise Forbidden("only a superadmin can create or change a superadmin account")


def check_host_permission(p: Principal, host: str, permission: HostPermission) -> None:
    perms = p.allowed_hosts.get(host)
    if perms is None:
        raise Forbidden(
            f"storage host {host!r} is not allowed for your keypair; "
            "run `bai vfolder list-hosts` to see the hosts you can use"
        )
    if permission not in perms:
        raise Forbidden(
            f"your keypair's resource policy does not grant {permission.value!r} on host "
            f"{host!r}; ask an admin to add it with `bai admin resource-policy set keypair …`"
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


# ---- which folders a caller sees -------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """The folders a caller sees: their own user folders, the user folders shared with them
    (a row of theirs in the share table), the project folders of their projects, and
    (administrators) every project folder."""

    user_id: uuid.UUID
    projects: frozenset[uuid.UUID]
    every_project_folder: bool


def visibility(p: Principal, member_of: set[uuid.UUID]) -> Visibility:
    return Visibility(p.user_id, frozenset(member_of), p.is_admin)


class Relation(StrEnum):
    """How a caller stands to one folder."""

    OWNER = "owner"  # created the user folder
    MANAGER = "manager"  # an administrator, for a project folder
    MEMBER = "member"  # a member of the folder's project
    INVITEE = "invitee"  # accepted an invitation to someone's user folder
    OUTSIDER = "outsider"  # sees nothing of the folder


def relation(
    p: Principal,
    *,
    ownership: str,
    owner_id: uuid.UUID | None,
    is_member: bool,
    shared: bool = False,
) -> Relation:
    """`shared`: the caller has a row in the share table for this folder (an accepted
    invitation, or an administrator's per-user override on a project folder)."""
    if ownership == Ownership.USER:
        if owner_id == p.user_id:
            return Relation.OWNER
        return Relation.INVITEE if shared else Relation.OUTSIDER
    if p.is_admin:
        return Relation.MANAGER
    # An override alone gives nothing: it only changes what a *member* holds, so removing
    # someone from the project removes their access too.
    return Relation.MEMBER if is_member else Relation.OUTSIDER


def folder_permission(
    rel: Relation, folder_perm: str, granted: str | None = None
) -> Permission | None:
    """The permission a caller holds on a folder, or None when it is invisible to them.
    `granted` is the caller's row in the share table: an invitee's permission, or the
    override that replaces a member's project permission (either way, up or down)."""
    match rel:
        case Relation.OWNER | Relation.MANAGER:
            return Permission.WD
        case Relation.MEMBER:
            return Permission(granted or folder_perm)
        case Relation.INVITEE:
            return Permission(granted) if granted else None
    return None


def owns(rel: Relation) -> bool:
    """Folder-level changes (rename, trash, delete) belong to the owner — an administrator
    for a project folder — never to members or to someone it was shared with."""
    return rel in (Relation.OWNER, Relation.MANAGER)


# ---- what each operation needs ---------------------------------------------------------------

READABLE = frozenset({S.READY, S.PERFORMING, S.CLONING, S.MOUNTED, S.ERROR, S.DELETE_PENDING})
# Backend.AI lets files of a trashed folder be read; we refuse all file access in every
# delete-* state, as the user guide promises.
FILE_READABLE = READABLE - {S.DELETE_PENDING}
UPDATABLE = frozenset({S.READY, S.MOUNTED})
# A folder a clone or copy left in `error` can still be put in the trash by its owner.
TRASHABLE = frozenset({S.READY, S.ERROR})
RECOVERABLE = frozenset({S.DELETE_PENDING})
PURGEABLE_BY_OWNER = frozenset({S.DELETE_PENDING})
PURGED = frozenset({S.DELETE_COMPLETE, S.DELETE_ERROR})
ANY_STATUS = frozenset(S)


@dataclass(frozen=True)
class FolderAction:
    """What an operation needs: a folder permission, a status set and maybe a host grant."""

    verb: str
    permission: Permission
    statuses: frozenset[FolderStatus]
    host_permission: HostPermission | None = None
    owner_only: bool = False
    admin_only: bool = False


H = HostPermission
P = Permission
INFO = FolderAction("read", P.RO, ANY_STATUS)
LIST_FILES = FolderAction("listed", P.RO, FILE_READABLE)
DOWNLOAD = FolderAction("downloaded", P.RO, FILE_READABLE, H.DOWNLOAD_FILE)
UPLOAD = FolderAction("uploaded", P.RW, UPDATABLE, H.UPLOAD_FILE)
MKDIR = FolderAction("created", P.RW, UPDATABLE, H.UPLOAD_FILE)
MOVE = FolderAction("moved", P.RW, UPDATABLE, H.UPLOAD_FILE)
DELETE_FILES = FolderAction("deleted", P.WD, UPDATABLE, H.UPLOAD_FILE)
RENAME = FolderAction("renamed", P.WD, UPDATABLE, H.MODIFY_VFOLDER, owner_only=True)
UPDATE_OPTIONS = FolderAction("changed", P.WD, UPDATABLE, H.MODIFY_VFOLDER, owner_only=True)
TRASH = FolderAction("moved to the trash", P.WD, TRASHABLE, H.DELETE_VFOLDER, owner_only=True)
RESTORE = FolderAction("restored", P.WD, RECOVERABLE, H.DELETE_VFOLDER, owner_only=True)
DELETE_FOREVER = FolderAction(
    "deleted forever", P.WD, PURGEABLE_BY_OWNER, H.DELETE_VFOLDER, owner_only=True
)
CLONE = FolderAction("cloned", P.RO, UPDATABLE, H.CREATE_VFOLDER)
PURGE = FolderAction("purged", P.WD, PURGED, admin_only=True)
# What changes a folder's data: a read-only folder refuses all of it, whoever asks.
WRITES_DATA = frozenset({UPLOAD, MKDIR, MOVE, DELETE_FILES})
# Sharing: the owner invites (user folders); an administrator overrides members' permissions
# (project folders). Taking access away needs no host grant and works in any status: a
# policy or a trashed folder must never keep someone in.
INVITE = FolderAction("shared", P.WD, UPDATABLE, H.INVITE_OTHERS, owner_only=True)
SHARE = FolderAction("shared", P.WD, UPDATABLE, H.SET_USER_SPECIFIC_PERMISSION, owner_only=True)
UNSHARE = FolderAction("unshared", P.WD, ANY_STATUS, owner_only=True)
LEAVE = FolderAction("left", P.RO, ANY_STATUS)
# Mounting in a compute session: reading is enough (a folder held `ro` is mounted read-only).
MOUNT = FolderAction("mounted in a session", P.RO, UPDATABLE, H.MOUNT_IN_SESSION)

FOLDER_ACTIONS = {
    a.verb: a
    for a in (
        INFO,
        LIST_FILES,
        DOWNLOAD,
        UPLOAD,
        MKDIR,
        MOVE,
        DELETE_FILES,
        RENAME,
        UPDATE_OPTIONS,
        TRASH,
        RESTORE,
        DELETE_FOREVER,
        CLONE,
        PURGE,
        INVITE,
        SHARE,
        UNSHARE,
        LEAVE,
        MOUNT,
    )
}


@dataclass(frozen=True)
class FolderView:
    """What the decision needs to know of a folder, as seen by one caller."""

    name: str
    host: str
    status: FolderStatus
    relation: Relation
    held: Permission | None
    read_only: bool = False


def check_folder_action(p: Principal, action: FolderAction, folder: FolderView) -> None:
    """Allow `action` on `folder` for `p`, or raise the error that says why not."""
    name = folder.name
    if folder.held is None and not (action.admin_only and p.is_admin):
        raise NotFound(f"no folder {name!r}; `bai vfolder list` shows your folders")
    if action.admin_only:
        require_admin(p)
    elif action.owner_only and not owns(folder.relation):
        raise Forbidden(f"only the owner of folder {name!r} can have it {action.verb}")
    status = folder.status
    if status not in action.statuses:
        if action is PURGE:
            raise Conflict(
                f"folder {name!r} is {status}; only folders deleted forever "
                "(delete-complete or delete-error) can be purged"
            )
        if status.is_deleted:
            raise Forbidden(
                f"folder {name!r} is {status}: it cannot be {action.verb}; restore the "
                "folder first if it is in the trash"
            )
        raise Forbidden(f"cannot have folder {name!r} {action.verb} while it is {status}")
    if folder.read_only and action in WRITES_DATA:
        raise ReadOnly(
            f"folder {name!r} is read-only (an imported bucket): it cannot be {action.verb}; "
            "import it again without --read-only to change it"
        )
    held = folder.held or P.WD  # admins purging see every folder
    if not held.covers(action.permission):
        raise Forbidden(
            f"your permission on folder {name!r} is {held.value!r}; {action.verb} needs "
            f"{action.permission.value!r}"
        )
    if action.host_permission is not None:
        check_host_permission(p, folder.host, action.host_permission)


def check_task_access(p: Principal, sees_its_folder: bool) -> None:
    """A background task is readable by administrators and by whoever sees its folder; to
    anyone else it does not exist."""
    if not (p.is_admin or sees_its_folder):
        raise NotFound("no such background task")


# ---- sharing -----------------------------------------------------------------------------------


def check_shareable(folder: FolderView, ownership: str, *, by_invitation: bool) -> None:
    """Invitations are for user folders, per-user overrides for project folders; automount
    (dot-named) folders are private to their owner and are never shared."""
    if folder.name.startswith("."):
        raise Forbidden(
            f"folder {folder.name!r} is an automount (dot-named) folder: it cannot be shared"
        )
    if by_invitation and ownership != Ownership.USER:
        raise InvalidRequest(
            f"folder {folder.name!r} is a project folder: its members already share it; an "
            "admin gives one member another permission with `bai vfolder share`"
        )
    if not by_invitation and ownership != Ownership.GROUP:
        raise InvalidRequest(
            f"folder {folder.name!r} is a user folder: invite people to it with "
            "`bai vfolder invite` instead"
        )


def check_leave(folder: FolderView) -> None:
    """Only someone a folder was shared with can leave it: an owner deletes it instead, and a
    project folder is left by leaving the project."""
    if folder.relation == Relation.OWNER:
        raise InvalidRequest(
            f"you own folder {folder.name!r}: you cannot leave it; move it to the trash "
            "with `bai vfolder delete` instead"
        )
    if folder.relation != Relation.INVITEE:
        raise InvalidRequest(
            f"folder {folder.name!r} is not shared with you by invitation: only invited "
            "users can leave a folder (project folders are left by leaving the project)"
        )


def check_manage_shares(p: Principal, folder: FolderView) -> None:
    """Who may change or remove someone's share of a folder: its owner (an administrator
    for a project folder) and administrators, who manage every shared folder."""
    if not (p.is_admin or owns(folder.relation)):
        raise Forbidden(
            f"only the owner of folder {folder.name!r} or an administrator can change who "
            "it is shared with"
        )

"""The one table of who may do what to a folder, in which status — for every transport's test.

Rows are roles (how the caller stands to the folder), columns are folder statuses, and each
operation has its own block. A cell is `ok` (allowed) or the `bai.errors` class the caller
gets: `NF` NotFound (the folder is invisible to the caller), `FB` Forbidden (visible, but the
role, the folder's permission or its status does not allow it), `CF` Conflict (purge of a
folder that is not deleted forever yet, as `bai.access` says).

The expectations come from the rules, not from the code:

- user guide: user folders are their creator's alone; project folders are seen by the members
  of their project (and managed by admins), and "Permission" is what *members* get — read-only
  members cannot write; renaming and deleting a folder need "permission to" do so (its owner;
  for a project folder an administrator); while a folder is being deleted "we disable any
  accessing operations";
- `bai/access.py`'s docstring and ARCHITECTURE.md: `ro` < `rw` (writes files) < `wd` (also
  deletes files); folder-level changes (rename, options, trash, restore, delete forever)
  belong to the owner — an administrator for a project folder — never to members;
  administrators see every project folder but not other users' user folders; file operations
  are refused in every delete-* state; a folder mounted by a live session cannot be moved to
  the trash; only the trash can be restored or deleted forever; purge is for administrators
  and only of folders deleted forever; a background task is readable by administrators and by
  whoever sees its folder, to anyone else it does not exist;
- issue 8 (sharing): an invitee holds the invitation's permission (`ro` reads, `rw` also
  writes, `wd` also deletes files) and "never renames, trashes or deletes the owner's folder,
  whatever permission they hold"; a per-user override replaces a project member's permission
  and leaves folder-level changes to administrators;
- Backend.AI's status sets: files are readable in ready/performing/cloning/mounted/error,
  writable (and the folder renamable, its options changeable, cloneable) only in
  ready/mounted; a wrong status is refused with Forbidden, as the rest of the suite expects.

A non-administrator asking for purge is refused with Forbidden whatever the folder: the role
check comes before any lookup, so the answer says nothing about the folder's existence.
"""

from __future__ import annotations

from dataclasses import dataclass

from bai.enums import FolderStatus
from bai.errors import BaiError, Conflict, Forbidden, NotFound

STATUSES: tuple[FolderStatus, ...] = (
    FolderStatus.READY,
    FolderStatus.MOUNTED,
    FolderStatus.CLONING,
    FolderStatus.ERROR,
    FolderStatus.DELETE_PENDING,
    FolderStatus.DELETE_COMPLETE,
)


@dataclass(frozen=True)
class Role:
    """Who calls (`actor`) on which folder: the owner's user folder (`project_permission`
    None) or a project folder whose members hold `project_permission`. `shared`: the actor's
    row in the share table — an accepted invitation (user folder) or an administrator's
    per-user override (project folder)."""

    actor: str  # owner | member | admin | superadmin | outsider | invitee
    project_permission: str | None
    shared: str | None = None


ROLES: dict[str, Role] = {
    "owner": Role("owner", None),  # a plain user, on the user folder they created
    "member-ro": Role("member", "ro"),  # a plain user in the folder's project
    "member-rw": Role("member", "rw"),
    "member-wd": Role("member", "wd"),
    # Administrators (not members) on a project folder whose members hold only `ro`: the
    # members' permission must not limit who manages the folder.
    "admin": Role("admin", "ro"),
    "superadmin": Role("superadmin", "ro"),
    # A plain user outside the project, on a project folder members may do everything with.
    "outsider": Role("outsider", "wd"),
    # A plain user, on another user's user folder.
    "outsider-user": Role("outsider", None),
    # Administrators do not see other users' user folders either (only purge and tasks).
    "superadmin-user": Role("superadmin", None),
    # A plain user who accepted an invitation to the owner's user folder: they hold the
    # invitation's permission on its files, and never rename, trash or delete the folder.
    "invitee-ro": Role("invitee", None, "ro"),
    "invitee-rw": Role("invitee", None, "rw"),
    "invitee-wd": Role("invitee", None, "wd"),
    # A member whose permission an administrator overrode: the override replaces the
    # folder's members' permission, down or up, and never makes them its owner.
    "override-ro": Role("member", "wd", "ro"),
    "override-wd": Role("member", "ro", "wd"),
}

OPERATIONS = (
    "info",
    "list-files",
    "download",
    "upload",
    "mkdir",
    "move",
    "rename-file",
    "delete-files",
    "rename-folder",
    "update-options",
    "trash",
    "restore",
    "delete-forever",
    "clone",
    "purge",
    "read-task",
)

CODES: dict[str, type[BaiError] | None] = {
    "ok": None,
    "NF": NotFound,
    "FB": Forbidden,
    "CF": Conflict,
}

_ALL_OK = "ok ok ok ok ok ok"
_NONE = "NF NF NF NF NF NF"
_NEVER = "FB FB FB FB FB FB"
_READ = "ok ok ok ok FB FB"  # file reads: refused in every delete-* state
_WRITE = "ok ok FB FB FB FB"  # file writes and folder changes: ready and mounted only
_INVISIBLE = {"outsider": _NONE, "outsider-user": _NONE, "superadmin-user": _NONE}

# fmt: off
#                 ready mounted cloning error delete-pending delete-complete
TABLE: dict[str, dict[str, str]] = {
    "info": {
        "owner":      _ALL_OK,
        "member-ro":  _ALL_OK,
        "member-rw":  _ALL_OK,
        "member-wd":  _ALL_OK,
        "admin":      _ALL_OK,
        "superadmin": _ALL_OK,
        **_INVISIBLE,
        "invitee-ro": _ALL_OK,
        "invitee-rw": _ALL_OK,
        "invitee-wd": _ALL_OK,
        "override-ro": _ALL_OK,
        "override-wd": _ALL_OK,
    },
    "list-files": {
        "owner":      _READ,
        "member-ro":  _READ,
        "member-rw":  _READ,
        "member-wd":  _READ,
        "admin":      _READ,
        "superadmin": _READ,
        **_INVISIBLE,
        "invitee-ro": _READ,
        "invitee-rw": _READ,
        "invitee-wd": _READ,
        "override-ro": _READ,
        "override-wd": _READ,
    },
    "download": {
        "owner":      _READ,
        "member-ro":  _READ,
        "member-rw":  _READ,
        "member-wd":  _READ,
        "admin":      _READ,
        "superadmin": _READ,
        **_INVISIBLE,
        "invitee-ro": _READ,
        "invitee-rw": _READ,
        "invitee-wd": _READ,
        "override-ro": _READ,
        "override-wd": _READ,
    },
    "upload": {
        "owner":      _WRITE,
        "member-ro":  _NEVER,
        "member-rw":  _WRITE,
        "member-wd":  _WRITE,
        "admin":      _WRITE,
        "superadmin": _WRITE,
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _WRITE,
        "invitee-wd": _WRITE,
        "override-ro": _NEVER,
        "override-wd": _WRITE,
    },
    "mkdir": {
        "owner":      _WRITE,
        "member-ro":  _NEVER,
        "member-rw":  _WRITE,
        "member-wd":  _WRITE,
        "admin":      _WRITE,
        "superadmin": _WRITE,
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _WRITE,
        "invitee-wd": _WRITE,
        "override-ro": _NEVER,
        "override-wd": _WRITE,
    },
    "move": {
        "owner":      _WRITE,
        "member-ro":  _NEVER,
        "member-rw":  _WRITE,
        "member-wd":  _WRITE,
        "admin":      _WRITE,
        "superadmin": _WRITE,
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _WRITE,
        "invitee-wd": _WRITE,
        "override-ro": _NEVER,
        "override-wd": _WRITE,
    },
    "rename-file": {
        "owner":      _WRITE,
        "member-ro":  _NEVER,
        "member-rw":  _WRITE,
        "member-wd":  _WRITE,
        "admin":      _WRITE,
        "superadmin": _WRITE,
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _WRITE,
        "invitee-wd": _WRITE,
        "override-ro": _NEVER,
        "override-wd": _WRITE,
    },
    "delete-files": {
        "owner":      _WRITE,
        "member-ro":  _NEVER,
        "member-rw":  _NEVER,
        "member-wd":  _WRITE,
        "admin":      _WRITE,
        "superadmin": _WRITE,
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _NEVER,
        "invitee-wd": _WRITE,
        "override-ro": _NEVER,
        "override-wd": _WRITE,
    },
    "rename-folder": {
        "owner":      _WRITE,
        "member-ro":  _NEVER,
        "member-rw":  _NEVER,
        "member-wd":  _NEVER,
        "admin":      _WRITE,
        "superadmin": _WRITE,
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _NEVER,
        "invitee-wd": _NEVER,
        "override-ro": _NEVER,
        "override-wd": _NEVER,
    },
    "update-options": {
        "owner":      _WRITE,
        "member-ro":  _NEVER,
        "member-rw":  _NEVER,
        "member-wd":  _NEVER,
        "admin":      _WRITE,
        "superadmin": _WRITE,
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _NEVER,
        "invitee-wd": _NEVER,
        "override-ro": _NEVER,
        "override-wd": _NEVER,
    },
    "trash": {
        "owner":      "ok FB FB ok FB FB",
        "member-ro":  _NEVER,
        "member-rw":  _NEVER,
        "member-wd":  _NEVER,
        "admin":      "ok FB FB ok FB FB",
        "superadmin": "ok FB FB ok FB FB",
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _NEVER,
        "invitee-wd": _NEVER,
        "override-ro": _NEVER,
        "override-wd": _NEVER,
    },
    "restore": {
        "owner":      "FB FB FB FB ok FB",
        "member-ro":  _NEVER,
        "member-rw":  _NEVER,
        "member-wd":  _NEVER,
        "admin":      "FB FB FB FB ok FB",
        "superadmin": "FB FB FB FB ok FB",
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _NEVER,
        "invitee-wd": _NEVER,
        "override-ro": _NEVER,
        "override-wd": _NEVER,
    },
    "delete-forever": {
        "owner":      "FB FB FB FB ok FB",
        "member-ro":  _NEVER,
        "member-rw":  _NEVER,
        "member-wd":  _NEVER,
        "admin":      "FB FB FB FB ok FB",
        "superadmin": "FB FB FB FB ok FB",
        **_INVISIBLE,
        "invitee-ro": _NEVER,
        "invitee-rw": _NEVER,
        "invitee-wd": _NEVER,
        "override-ro": _NEVER,
        "override-wd": _NEVER,
    },
    "clone": {  # of a cloneable folder; a read of the source, into the caller's own folder
        "owner":      _WRITE,
        "member-ro":  _WRITE,
        "member-rw":  _WRITE,
        "member-wd":  _WRITE,
        "admin":      _WRITE,
        "superadmin": _WRITE,
        **_INVISIBLE,
        "invitee-ro": _WRITE,
        "invitee-rw": _WRITE,
        "invitee-wd": _WRITE,
        "override-ro": _WRITE,
        "override-wd": _WRITE,
    },
    "purge": {  # by id, as the official client sends it
        "owner":           _NEVER,
        "member-ro":       _NEVER,
        "member-rw":       _NEVER,
        "member-wd":       _NEVER,
        "admin":           "CF CF CF CF CF ok",
        "superadmin":      "CF CF CF CF CF ok",
        "outsider":        _NEVER,
        "outsider-user":   _NEVER,
        "superadmin-user": "CF CF CF CF CF ok",
        "invitee-ro":      _NEVER,
        "invitee-rw":      _NEVER,
        "invitee-wd":      _NEVER,
        "override-ro":     _NEVER,
        "override-wd":     _NEVER,
    },
    "read-task": {  # a background task of the folder
        "owner":           _ALL_OK,
        "member-ro":       _ALL_OK,
        "member-rw":       _ALL_OK,
        "member-wd":       _ALL_OK,
        "admin":           _ALL_OK,
        "superadmin":      _ALL_OK,
        "outsider":        _NONE,
        "outsider-user":   _NONE,
        "superadmin-user": _ALL_OK,
        "invitee-ro":      _ALL_OK,
        "invitee-rw":      _ALL_OK,
        "invitee-wd":      _ALL_OK,
        "override-ro":     _ALL_OK,
        "override-wd":     _ALL_OK,
    },
}
# fmt: on


@dataclass(frozen=True)
class Case:
    operation: str
    role: str
    status: FolderStatus
    expected: type[BaiError] | None  # None: allowed

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.role}-{self.status}"


def cases() -> list[Case]:
    """Every cell of the table, checked complete and well-formed."""
    assert tuple(TABLE) == OPERATIONS, "one block per operation, in order"
    out: list[Case] = []
    for op, rows in TABLE.items():
        assert set(rows) == set(ROLES), f"{op}: rows {sorted(set(ROLES) ^ set(rows))}"
        for role in ROLES:
            codes = rows[role].split()
            assert len(codes) == len(STATUSES), f"{op}/{role}: {len(codes)} cells"
            for status, code in zip(STATUSES, codes, strict=True):
                out.append(Case(op, role, status, CODES[code]))
    return out


CASES = cases()

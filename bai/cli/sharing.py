"""Provides the sharing verbs: `bai vfolder invite|invitations|list-invited|list-own|
list-project|leave|share|unshare` and `bai admin vfolder` (shared folders, change owner)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import click

from bai import api
from bai.api import sharing as sapi
from bai.cli.admin import admin
from bai.cli.context import call, command
from bai.cli.output import Col, console, emit, output_option, plain
from bai.cli.vfolder import FOLDER_COLUMNS, vfolder
from bai.client import BaiClient
from bai.enums import Permission, choices
from bai.errors import InvalidRequest

PERMS = click.Choice(choices(Permission))
INVITATION_COLUMNS = [
    Col("id", "Invitation", keep=True),
    Col("vfolder_name", "Folder", keep=True),
    Col("inviter", "Inviter"),
    Col("invitee", "Invitee"),
    Col("perm", "Permission"),
    Col("created_at", "Sent", drop=1),
]
SHARED_COLUMNS = [
    Col("vfolder_name", "Folder", keep=True),
    Col("email", "User", keep=True),
    Col("perm", "Permission"),
    Col("type", "Type"),
    Col("status", "Status", drop=1),
    Col("vfolder_id", "Folder id", drop=2),
    Col("uuid", "User id", drop=3),
]


@vfolder.command("invite")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@click.option("-p", "--perm", type=PERMS, default="rw", show_default=True)
@output_option
@command
async def invite(name: str, emails: tuple[str, ...], perm: str, fmt: str) -> None:
    """Invite users (by e-mail) to your folder NAME; they accept with `bai vfolder invitations`."""
    res = await call(lambda c: c.sharing.invite(name, list(emails), perm))
    emit([{"email": e} for e in res.invited_ids], [Col("email", "Invited")], fmt, key="invited")


@vfolder.command("invitations")
@click.option("--sent", is_flag=True, help="The invitations you sent (pending ones).")
@click.option("--accept", "accept_id", metavar="ID", help="Accept the invitation ID.")
@click.option("--reject", "reject_id", metavar="ID", help="Reject (or, if you sent it, cancel) ID.")
@click.option(
    "--set-perm", nargs=2, metavar="ID PERM", help="Change the permission of one you sent."
)
@output_option
@command
async def invitations(
    sent: bool,
    accept_id: str | None,
    reject_id: str | None,
    set_perm: tuple[str, str] | None,
    fmt: str,
) -> None:
    """List pending invitations; accept, reject or cancel one by id — or, on a terminal with
    no option, choose one interactively."""
    if sum(bool(x) for x in (accept_id, reject_id, set_perm)) > 1:
        raise InvalidRequest("give one of --accept, --reject and --set-perm")
    if set_perm:
        inv_id, perm = set_perm
        if perm not in choices(Permission):
            raise InvalidRequest(f"permission must be one of {', '.join(choices(Permission))}")
        await _report(lambda c: c.sharing.update_invitation(inv_id, perm), fmt)
        return
    if accept_id or reject_id:
        ident = accept_id or reject_id or ""
        await _report(
            lambda c: c.sharing.accept(ident) if accept_id else c.sharing.delete_invitation(ident),
            fmt,
        )
        return
    res = await call(lambda c: c.sharing.invitations(sent=sent))
    emit(res.invitations, INVITATION_COLUMNS, fmt, key="invitations")
    if sent or fmt == "json" or not res.invitations or not sys.stdin.isatty():
        return
    number = click.prompt("Invitation number to manage (0: none)", type=int, default=0)
    if not 1 <= number <= len(res.invitations):
        return
    chosen = str(res.invitations[number - 1].id)
    action = click.prompt("(a)ccept, (r)eject or (c)ancel", type=click.Choice(["a", "r", "c"]))
    if action == "a":
        await _report(lambda c: c.sharing.accept(chosen), fmt)
    elif action == "r":
        await _report(lambda c: c.sharing.delete_invitation(chosen), fmt)


async def _report(fn: Callable[[BaiClient], Awaitable[sapi.Message]], fmt: str) -> None:
    res = await call(fn)
    emit([res], [Col("msg", "Result", keep=True)], fmt, key="results")


def _lister(verb: str, doc: str, keep: Callable[[api.FolderInfo], bool]) -> None:
    @vfolder.command(verb, help=doc)
    @output_option
    @command
    async def run(fmt: str) -> None:
        folders = await call(lambda c: c.folders.list())
        emit([f for f in folders if keep(f)], FOLDER_COLUMNS, fmt, key="folders")


_lister("list-own", "List the user folders you own.", lambda f: f.type == "user" and f.is_owner)
_lister(
    "list-invited",
    "List the folders shared with you by invitation.",
    lambda f: f.type == "user" and not f.is_owner,
)
_lister("list-project", "List the project folders you can see.", lambda f: f.type == "group")


@vfolder.command("leave")
@click.argument("name")
@click.option("-s", "--shared-user", help="(Owner, superadmin) remove this user id instead.")
@output_option
@command
async def leave(name: str, shared_user: str | None, fmt: str) -> None:
    """Leave a folder shared with you by invitation."""
    await _report(lambda c: c.sharing.leave(name, shared_user), fmt)


@vfolder.command("share")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@click.option("-p", "--perm", type=PERMS, default="rw", show_default=True)
@output_option
@command
async def share(name: str, emails: tuple[str, ...], perm: str, fmt: str) -> None:
    """(Admins) Give members of project folder NAME's project their own permission on it."""
    res = await call(lambda c: c.sharing.share(name, list(emails), perm))
    emit([{"email": e} for e in res.shared_emails], [Col("email", "Shared")], fmt, key="shared")


@vfolder.command("unshare")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@output_option
@command
async def unshare(name: str, emails: tuple[str, ...], fmt: str) -> None:
    """Remove users' overrides on a project folder, or revoke their access to your folder."""
    res = await call(lambda c: c.sharing.unshare(name, list(emails)))
    rows = [{"email": e} for e in res.unshared_emails]
    emit(rows, [Col("email", "Unshared")], fmt, key="unshared")


# ---- admin views --------------------------------------------------------------------------------


@admin.group("vfolder")
def admin_vfolder() -> None:
    """Shared folders: who holds what; change or remove a permission; change an owner."""


def _shared_rows(res: sapi.SharedList) -> list[dict[str, object]]:
    return [{**plain(s), **plain(s.shared_to)} for s in res.shared]


@admin_vfolder.command("list-shared-vfolders")
@output_option
@command
async def list_shared(fmt: str) -> None:
    """Every shared folder and who holds what on it (your own folders' if not an admin)."""
    res = await call(lambda c: c.sharing.list_shared())
    emit(_shared_rows(res), SHARED_COLUMNS, fmt, key="shared")


@admin_vfolder.command("shared-vfolder-info")
@click.argument("vfolder_id")
@output_option
@command
async def shared_info(vfolder_id: str, fmt: str) -> None:
    """Who holds what on the folder VFOLDER_ID."""
    res = await call(lambda c: c.sharing.list_shared(vfolder_id))
    emit(_shared_rows(res), SHARED_COLUMNS, fmt, key="shared")


@admin_vfolder.command("update-shared-vf-permission")
@click.argument("vfolder_id")
@click.argument("user_id")
@click.argument("perm", type=PERMS)
@output_option
@command
async def update_shared(vfolder_id: str, user_id: str, perm: str, fmt: str) -> None:
    """Change USER_ID's permission on the shared folder VFOLDER_ID."""
    await _report(lambda c: c.sharing.update_shared(vfolder_id, user_id, perm), fmt)


@admin_vfolder.command("remove-shared-vf-permission")
@click.argument("vfolder_id")
@click.argument("user_id")
@output_option
@command
async def remove_shared(vfolder_id: str, user_id: str, fmt: str) -> None:
    """Remove USER_ID's access to the shared folder VFOLDER_ID."""
    await _report(lambda c: c.sharing.update_shared(vfolder_id, user_id, None), fmt)


@admin_vfolder.command("change-vfolder-ownership")
@click.argument("vfolder_id")
@click.argument("user_email")
@output_option
@command
async def change_owner(vfolder_id: str, user_email: str, fmt: str) -> None:
    """(Superadmins) Give the user folder VFOLDER_ID to USER_EMAIL."""
    await _report(lambda c: c.sharing.change_owner(vfolder_id, user_email), fmt)
    if fmt != "json":
        console.print("Its data and quota scope stay with the previous owner's scope.")

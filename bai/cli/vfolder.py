"""Provides `bai vfolder …`: the official CLI's storage-folder verbs (folders themselves;
files are in `files.py`, transfers in `transfer.py`)."""

from __future__ import annotations

import click

from bai import api
from bai.cli.context import call, command, confirm
from bai.cli.output import Col, console, emit, emit_one, output_option, plain
from bai.cli.progress import follow_task
from bai.client import BaiClient
from bai.enums import Ownership, Permission, UsageMode, choices
from bai.sizes import format_size

FOLDER_COLUMNS = [
    Col("name", "Name", keep=True),
    Col("id", "ID", drop=9),
    Col("host", "Host", drop=3),
    Col("status", "Status", drop=1),
    Col("usage_mode", "Mode", drop=5),
    Col("permission", "Perm", drop=2),
    Col("type", "Type", drop=6),
    Col("owner", "Owner", keep=True),
    Col("is_owner", "Mine", drop=7),
    Col("cloneable", "Cloneable", drop=8),
]
INFO_KEYS = [
    "name",
    "id",
    "host",
    "status",
    "usage_mode",
    "permission",
    "folder_permission",
    "type",
    "owner",
    "is_owner",
    "creator",
    "created_at",
    "cloneable",
    "quota_scope_id",
    "num_files",
    "cur_size",
]
PERMISSIONS = click.Choice(choices(Permission))
USAGE_MODES = click.Choice(choices(UsageMode))


@click.group()
def vfolder() -> None:
    """Storage folders (virtual folders) and their files."""


@vfolder.command("list-hosts")
@output_option
@command
async def list_hosts(fmt: str) -> None:
    """List the storage hosts you may use, with their backend and usage."""
    res = await call(lambda c: c.hosts.list())
    rows = [{"host": h, **plain(info)} for h, info in res.volume_info.items()]
    if fmt == "json":
        emit(rows, [], fmt, key="hosts")
        return
    console.print(f"Default vfolder host: {res.default}")
    console.print(f"Usable hosts: {', '.join(res.allowed)}")
    for row, info in zip(rows, res.volume_info.values(), strict=True):
        u = info.usage
        row["usage"] = (
            f"{format_size(u.used_bytes)} / {format_size(u.capacity_bytes)} ({u.percentage}%)"
        )
    columns = [
        Col("host", "Host", keep=True),
        Col("backend", "Backend"),
        Col("capabilities", "Capabilities", drop=1),
        Col("usage", "Usage"),
    ]
    emit(rows, columns, fmt)


@vfolder.command("list-allowed-types")
@output_option
@command
async def list_allowed_types(fmt: str) -> None:
    """List the folder types (user, group) this node allows."""
    types = await call(lambda c: c.hosts.allowed_types())
    if fmt == "json":
        emit([{"type": t} for t in types], [], fmt, key="types")
    else:
        console.print(", ".join(types))


def _quota_text(scope: api.QuotaScope) -> str:
    limit = format_size(scope.limit_bytes) if scope.limit_bytes else "unlimited"
    who = "kernel" if scope.kernel_enforced else "node"
    return f"{format_size(scope.used_bytes)} / {limit} ({who})"


@vfolder.command("status")
@output_option
@command
async def status(fmt: str) -> None:
    """Storage status: your folder counts, and per host its capacity and your quotas."""
    res = await call(lambda c: c.hosts.status())
    if fmt == "json":
        emit_one(res, fmt)
        return
    f = res.folders
    console.print(
        f"Folders: {f.created} created (limit {f.limit or 'unlimited'}), {f.project} project "
        f"folder(s), {f.invited} invited ({f.pending_invitations} pending)"
    )
    rows = [
        {
            "host": h.host,
            "backend": h.backend,
            "capacity": f"{format_size(h.capacity.used_bytes)} / "
            f"{format_size(h.capacity.total_bytes)}",
            "user": _quota_text(h.user),
            "projects": [f"{p.project}: {_quota_text(p)}" for p in h.projects],
        }
        for h in res.hosts
    ]
    columns = [
        Col("host", "Host", keep=True),
        Col("backend", "Backend", drop=1),
        Col("capacity", "Capacity"),
        Col("user", "User quota"),
        Col("projects", "Project quotas"),
    ]
    emit(rows, columns, fmt)


@vfolder.command("list")
@click.option("--name", help="Only folders whose name contains this.")
@click.option("--status", help="ready, delete-pending, …")
@click.option("--host")
@click.option("--type", "kind", type=click.Choice(choices(Ownership)))
@click.option("--permission", type=PERMISSIONS)
@click.option("--usage-mode", type=USAGE_MODES)
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted folders.")
@output_option
@command
async def list_folders(
    name: str | None,
    status: str | None,
    host: str | None,
    kind: str | None,
    permission: str | None,
    usage_mode: str | None,
    include_deleted: bool,
    fmt: str,
) -> None:
    """List the folders you can see: your own and your projects'."""
    folders = await call(
        lambda c: c.folders.list(
            name=name,
            status=status,
            host=host,
            type=kind,
            permission=permission,
            usage_mode=usage_mode,
            include_deleted=include_deleted,
        )
    )
    emit(folders, FOLDER_COLUMNS, fmt, key="folders")


@vfolder.command("create")
@click.argument("name")
@click.argument("host", required=False)
@click.option("-g", "--group", help="Project (name or id): create a project folder (admins).")
@click.option("-m", "--usage-mode", type=USAGE_MODES, default="general", show_default=True)
@click.option(
    "-p",
    "--permission",
    type=PERMISSIONS,
    default="rw",
    show_default=True,
    help="Members' permission on a project folder.",
)
@click.option("--cloneable", is_flag=True, help="Allow others to clone this folder.")
@output_option
@command
async def create(
    name: str,
    host: str | None,
    group: str | None,
    usage_mode: str,
    permission: str,
    cloneable: bool,
    fmt: str,
) -> None:
    """Create a folder NAME on HOST (default: the node's default host)."""
    folder = await call(
        lambda c: c.folders.create(
            name,
            host,
            group=group,
            usage_mode=usage_mode,
            permission=permission,
            cloneable=cloneable,
        )
    )
    if fmt == "json":
        emit_one(folder, fmt)
    else:
        console.print(f'Virtual folder "{folder.name}" is created on {folder.host} ({folder.id}).')


@vfolder.command("info")
@click.argument("name")
@output_option
@command
async def info(name: str, fmt: str) -> None:
    """Show a folder's details."""
    folder = plain(await call(lambda c: c.folders.info(name)))
    record = folder if fmt == "json" else {k: folder.get(k) for k in INFO_KEYS}
    if fmt != "json" and folder.get("bucket"):  # an imported bucket: say where it is
        record["bucket"] = folder["bucket"] + (" (read-only)" if folder.get("read_only") else "")
    emit_one(record, fmt, show={"cur_size": format_size})


@vfolder.command("rename")
@click.argument("name")
@click.argument("new_name")
@command
async def rename(name: str, new_name: str) -> None:
    """Rename a folder."""
    await call(lambda c: c.folders.rename(name, new_name))
    console.print(f"Renamed {name} to {new_name}.")


@vfolder.command("update-options")
@click.argument("name")
@click.option("-p", "--permission", type=PERMISSIONS)
@click.option("--set-cloneable", type=bool, default=None, metavar="BOOL")
@output_option
@command
async def update_options(
    name: str, permission: str | None, set_cloneable: bool | None, fmt: str
) -> None:
    """Change a folder's permission (project folders) or cloneable flag."""
    folder = await call(
        lambda c: c.folders.update_options(name, permission=permission, cloneable=set_cloneable)
    )
    # The folder's own permission: what was changed (not what the caller holds).
    record = {
        "name": folder.name,
        "permission": folder.folder_permission.value,
        "cloneable": folder.cloneable,
    }
    emit_one(record, fmt)


@vfolder.command("delete")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@command
async def delete(name: str, yes: bool) -> None:
    """Move a folder to the trash (restore it with `restore`)."""
    confirm(f"Move folder {name!r} to the trash?", yes)
    await call(lambda c: c.folders.delete(name))
    console.print(f"Moved {name} to the trash.")


@vfolder.command("restore")
@click.argument("name")
@command
async def restore(name: str) -> None:
    """Restore a folder from the trash."""
    await call(lambda c: c.folders.restore(name))
    console.print(f"Restored {name}.")


@vfolder.command("delete-trash")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@command
async def delete_trash(name: str, yes: bool) -> None:
    """Delete a trashed folder forever (its data is removed in the background)."""
    confirm(f"Delete folder {name!r} and all its files forever?", yes)
    await call(lambda c: c.folders.delete_forever(name))
    console.print(f"Deleting {name} forever; its name is free again.")


@vfolder.command("purge")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@command
async def purge(name: str, yes: bool) -> None:
    """Remove a deleted folder's record (admins)."""
    confirm(f"Purge the record of folder {name!r}?", yes)
    await call(lambda c: c.folders.purge(name))
    console.print(f"Purged {name}.")


@vfolder.command("clone")
@click.argument("name")
@click.argument("target_name")
@click.argument("target_host", required=False)
@click.option("-m", "--usage-mode", type=USAGE_MODES)
@click.option("-p", "--permission", type=PERMISSIONS, default="rw")
@command
async def clone(
    name: str, target_name: str, target_host: str | None, usage_mode: str | None, permission: str
) -> None:
    """Copy a cloneable folder into a new folder of yours, showing progress."""

    async def run(c: BaiClient) -> None:
        res = await c.folders.clone(
            name,
            target_name,
            target_host=target_host,
            usage_mode=usage_mode,
            permission=permission,
        )
        await follow_task(c, res.bgtask_id, f"cloning {name} → {target_name}")

    await call(run)
    console.print(f"Cloned {name} to {target_name}.")

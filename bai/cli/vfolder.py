"""Provides `bai vfolder …`: the official CLI's storage-folder verbs."""

from __future__ import annotations

import json
from typing import Any

import click

from bai.cli.context import call, command, confirm
from bai.cli.output import console, emit, emit_one, output_option
from bai.cli.progress import follow_task
from bai.client import BaiClient
from bai.client.transfers import folder_path, list_files
from bai.sizes import format_size

FOLDER_COLUMNS = [
    ("name", "Name"),
    ("id", "ID"),
    ("host", "Host"),
    ("status", "Status"),
    ("usage_mode", "Mode"),
    ("permission", "Permission"),
    ("type", "Type"),
    ("owner", "Owner"),
    ("is_owner", "Mine"),
    ("cloneable", "Cloneable"),
]
FILE_COLUMNS = [
    ("name", "Name"),
    ("type", "Type"),
    ("size", "Size"),
    ("mode", "Mode"),
    ("modified", "Modified"),
    ("symlink_target", "Link to"),
]


@click.group()
def vfolder() -> None:
    """Storage folders (virtual folders) and their files."""


@vfolder.command("list-hosts")
@output_option
@command
async def list_hosts(fmt: str) -> None:
    """List the storage hosts you may use, with their backend and usage."""
    res = await call(lambda c: c.get("/folders/_/hosts"))
    if fmt == "json":
        emit([{"host": h, **info} for h, info in res["volume_info"].items()], [], fmt, key="hosts")
        return
    console.print(f"Default vfolder host: {res['default']}")
    console.print(f"Usable hosts: {', '.join(res['allowed'])}")
    rows = []
    for host, info in res["volume_info"].items():
        usage = info.get("usage", {})
        rows.append(
            {
                "host": host,
                "backend": info["backend"],
                "capabilities": info["capabilities"],
                "usage": f"{format_size(usage.get('used_bytes', 0))} / "
                f"{format_size(usage.get('capacity_bytes', 0))} "
                f"({usage.get('percentage', 0)}%)",
            }
        )
    emit(
        rows,
        [
            ("host", "Host"),
            ("backend", "Backend"),
            ("capabilities", "Capabilities"),
            ("usage", "Usage"),
        ],
        fmt,
    )


@vfolder.command("list-allowed-types")
@output_option
@command
async def list_allowed_types(fmt: str) -> None:
    """List the folder types (user, group) this node allows."""
    res = await call(lambda c: c.get("/folders/_/allowed-types"))
    if fmt == "json":
        emit([{"type": t} for t in res], [], fmt, key="types")
    else:
        console.print(", ".join(res))


def _quota_text(scope: dict[str, Any]) -> str:
    limit = format_size(scope["limit_bytes"]) if scope["limit_bytes"] else "unlimited"
    who = "kernel" if scope["kernel_enforced"] else "node"
    return f"{format_size(scope['used_bytes'])} / {limit} ({who})"


@vfolder.command("status")
@output_option
@command
async def status(fmt: str) -> None:
    """Storage status: your folder counts, and per host its capacity and your quotas."""
    res = await call(lambda c: c.get("/folders/_/status"))
    if fmt == "json":
        emit_one(res, fmt)
        return
    f = res["folders"]
    limit = f["limit"] or "unlimited"
    console.print(
        f"Folders: {f['created']} created (limit {limit}), {f['project']} project "
        f"folder(s), {f['invited']} invited ({f['pending_invitations']} pending)"
    )
    rows = []
    for h in res["hosts"]:
        cap = h["capacity"]
        rows.append(
            {
                "host": h["host"],
                "backend": h["backend"],
                "capacity": f"{format_size(cap['used_bytes'])} / {format_size(cap['total_bytes'])}",
                "user": _quota_text(h["user"]),
                "projects": [f"{p['project']}: {_quota_text(p)}" for p in h["projects"]],
            }
        )
    emit(
        rows,
        [
            ("host", "Host"),
            ("backend", "Backend"),
            ("capacity", "Capacity"),
            ("user", "User quota"),
            ("projects", "Project quotas"),
        ],
        fmt,
    )


@vfolder.command("list")
@click.option("--name", help="Only folders whose name contains this.")
@click.option("--status", help="ready, delete-pending, …")
@click.option("--host")
@click.option("--type", "kind", type=click.Choice(["user", "group"]))
@click.option("--permission", type=click.Choice(["ro", "rw", "wd"]))
@click.option("--usage-mode", type=click.Choice(["general", "data", "model"]))
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
    params = {
        "name": name,
        "status": status,
        "host": host,
        "type": kind,
        "permission": permission,
        "usage_mode": usage_mode,
        "include_deleted": "true" if include_deleted else None,
    }
    res = await call(lambda c: c.get("/folders", params=params))
    emit(res, FOLDER_COLUMNS, fmt, key="folders")


@vfolder.command("create")
@click.argument("name")
@click.argument("host", required=False)
@click.option("-g", "--group", help="Project (name or id): create a project folder (admins).")
@click.option(
    "-m",
    "--usage-mode",
    type=click.Choice(["general", "data", "model"]),
    default="general",
    show_default=True,
)
@click.option(
    "-p",
    "--permission",
    type=click.Choice(["ro", "rw", "wd"]),
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
    body = {
        "name": name,
        "host": host,
        "group": group,
        "usage_mode": usage_mode,
        "permission": permission,
        "cloneable": cloneable,
    }
    res = await call(lambda c: c.post("/folders", json=body))
    if fmt == "json":
        emit_one(res, fmt)
    else:
        console.print(f'Virtual folder "{res["name"]}" is created on {res["host"]} ({res["id"]}).')


@vfolder.command("info")
@click.argument("name")
@output_option
@command
async def info(name: str, fmt: str) -> None:
    """Show a folder's details."""
    res = await call(lambda c: c.get(folder_path(name)))
    keys = [
        "name",
        "id",
        "host",
        "status",
        "usage_mode",
        "permission",
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
    emit_one(res if fmt == "json" else {k: res.get(k) for k in keys}, fmt)


@vfolder.command("rename")
@click.argument("name")
@click.argument("new_name")
@command
async def rename(name: str, new_name: str) -> None:
    """Rename a folder."""
    await call(lambda c: c.post(folder_path(name, "/rename"), json={"new_name": new_name}))
    console.print(f"Renamed {name} to {new_name}.")


@vfolder.command("update-options")
@click.argument("name")
@click.option("-p", "--permission", type=click.Choice(["ro", "rw", "wd"]))
@click.option("--set-cloneable", type=bool, default=None, metavar="BOOL")
@output_option
@command
async def update_options(
    name: str, permission: str | None, set_cloneable: bool | None, fmt: str
) -> None:
    """Change a folder's permission (project folders) or cloneable flag."""
    res = await call(
        lambda c: c.post(
            folder_path(name, "/update-options"),
            json={"permission": permission, "cloneable": set_cloneable},
        )
    )
    emit_one({k: res[k] for k in ("name", "permission", "cloneable")}, fmt)


@vfolder.command("delete")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@command
async def delete(name: str, yes: bool) -> None:
    """Move a folder to the trash (restore it with `restore`)."""
    confirm(f"Move folder {name!r} to the trash?", yes)
    await call(lambda c: c.request("DELETE", folder_path(name)))
    console.print(f"Moved {name} to the trash.")


@vfolder.command("restore")
@click.argument("name")
@command
async def restore(name: str) -> None:
    """Restore a folder from the trash."""
    await call(lambda c: c.post("/folders/restore-from-trash-bin", json={"vfolder_id": name}))
    console.print(f"Restored {name}.")


@vfolder.command("delete-trash")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@command
async def delete_trash(name: str, yes: bool) -> None:
    """Delete a trashed folder forever (its data is removed in the background)."""
    confirm(f"Delete folder {name!r} and all its files forever?", yes)
    await call(lambda c: c.post("/folders/delete-from-trash-bin", json={"vfolder_id": name}))
    console.print(f"Deleting {name} forever; its name is free again.")


@vfolder.command("purge")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@command
async def purge(name: str, yes: bool) -> None:
    """Remove a deleted folder's record (admins)."""
    confirm(f"Purge the record of folder {name!r}?", yes)
    await call(lambda c: c.post("/folders/purge", json={"vfolder_id": name}))
    console.print(f"Purged {name}.")


@vfolder.command("ls")
@click.argument("name")
@click.argument("path", default=".")
@output_option
@command
async def ls(name: str, path: str, fmt: str) -> None:
    """List files in a folder's PATH (default: its top)."""
    items = await call(lambda c: list_files(c, name, path))
    items.sort(key=lambda i: (i["type"] != "DIRECTORY", i["name"]))
    emit(items, FILE_COLUMNS, fmt, key="files")


@vfolder.command("mkdir")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True)
@click.option("-p", "--parents", is_flag=True, help="Create missing parent directories.")
@click.option("-e", "--exist-ok", is_flag=True, help="No error if the directory exists.")
@command
async def mkdir(name: str, paths: tuple[str, ...], parents: bool, exist_ok: bool) -> None:
    """Create directories in a folder."""
    await call(
        lambda c: c.post(
            folder_path(name, "/mkdir"),
            json={"path": list(paths), "parents": parents, "exist_ok": exist_ok},
        )
    )
    console.print(f"Created {', '.join(paths)}.")


@vfolder.command("rm")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Delete directories and their contents.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@command
async def rm(name: str, paths: tuple[str, ...], recursive: bool, yes: bool) -> None:
    """Delete files (and with -r, directories) in a folder. This cannot be undone."""
    confirm(f"Delete {', '.join(paths)} from {name!r}? This cannot be undone.", yes)
    await call(
        lambda c: c.request(
            "DELETE",
            folder_path(name, "/delete-files"),
            json={"files": list(paths), "recursive": recursive},
        )
    )
    console.print(f"Deleted {', '.join(paths)}.")


@vfolder.command("mv")
@click.argument("name")
@click.argument("src")
@click.argument("dst")
@command
async def mv(name: str, src: str, dst: str) -> None:
    """Move a file or directory inside a folder (into DST if it is a directory)."""
    await call(lambda c: c.post(folder_path(name, "/move-file"), json={"src": src, "dst": dst}))
    console.print(f"Moved {src} to {dst}.")


@vfolder.command("rename-file")
@click.argument("name")
@click.argument("target")
@click.argument("new_name")
@command
async def rename_file(name: str, target: str, new_name: str) -> None:
    """Rename a file or directory in place."""
    await call(
        lambda c: c.post(
            folder_path(name, "/rename-file"), json={"target_path": target, "new_name": new_name}
        )
    )
    console.print(f"Renamed {target} to {new_name}.")


@vfolder.command("request-download")
@click.argument("name")
@click.argument("path")
@click.option("--archive", is_flag=True, help="Zip a directory.")
@output_option
@command
async def request_download(name: str, path: str, archive: bool, fmt: str) -> None:
    """Print a short-lived URL that downloads PATH without credentials."""
    res = await call(
        lambda c: c.post(
            folder_path(name, "/request-download"), json={"path": path, "archive": archive}
        )
    )
    url = f"{res['url']}?token={res['token']}"
    if fmt == "json":
        click.echo(json.dumps({**res, "download_url": url}))
    else:
        click.echo(url)


@vfolder.command("clone")
@click.argument("name")
@click.argument("target_name")
@click.argument("target_host", required=False)
@click.option("-m", "--usage-mode", type=click.Choice(["general", "data", "model"]))
@click.option("-p", "--permission", type=click.Choice(["ro", "rw", "wd"]), default="rw")
@command
async def clone(
    name: str, target_name: str, target_host: str | None, usage_mode: str | None, permission: str
) -> None:
    """Copy a cloneable folder into a new folder of yours, showing progress."""

    async def run(c: BaiClient) -> Any:
        res = await c.post(
            folder_path(name, "/clone"),
            json={
                "target_name": target_name,
                "target_host": target_host,
                "usage_mode": usage_mode,
                "permission": permission,
            },
        )
        await follow_task(c, res["bgtask_id"], f"cloning {name} → {target_name}")
        return res

    await call(run)
    console.print(f"Cloned {name} to {target_name}.")

"""Provides `bai vfolder …`: the official CLI's storage-folder verbs."""

from __future__ import annotations

import click

from bai.cli.context import call, command
from bai.cli.output import console, emit, output_option
from bai.sizes import format_size


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

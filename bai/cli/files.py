"""Provides `bai vfolder ls|mkdir|rm|mv|rename-file|request-download`: a folder's files."""

from __future__ import annotations

import json
from datetime import datetime

import click

from bai.api.files import DIRECTORY
from bai.cli.context import call, command, confirm
from bai.cli.output import Col, console, emit, output_option, plain
from bai.cli.progress import follow_task
from bai.cli.vfolder import vfolder
from bai.client import BaiClient
from bai.sizes import format_size

FILE_COLUMNS = [
    Col("name", "Name", keep=True),
    Col("type", "Type", drop=2),
    Col("size", "Size", show=format_size),
    Col("mode", "Mode", drop=3),
    Col("modified", "Modified", drop=1, show=lambda ts: _local_time(str(ts))),
    Col("symlink_target", "Link to", drop=4),
]


def _local_time(iso: str) -> str:
    """An ISO 8601 time of the node as this machine's local wall-clock time."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


@vfolder.command("ls")
@click.argument("name")
@click.argument("path", default=".")
@output_option
@command
async def ls(name: str, path: str, fmt: str) -> None:
    """List files in a folder's PATH (default: its top). Tables show sizes for people
    (KiB, MiB, …); `-o json` gives bytes."""
    entries = await call(lambda c: c.files.ls(name, path))
    entries.sort(key=lambda e: (e.type != DIRECTORY, e.name))
    emit(entries, FILE_COLUMNS, fmt, key="files")


@vfolder.command("mkdir")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True)
@click.option("-p", "--parents", is_flag=True, help="Create missing parent directories.")
@click.option("-e", "--exist-ok", is_flag=True, help="No error if the directory exists.")
@command
async def mkdir(name: str, paths: tuple[str, ...], parents: bool, exist_ok: bool) -> None:
    """Create directories in a folder."""
    await call(lambda c: c.files.mkdir(name, list(paths), parents=parents, exist_ok=exist_ok))
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
    await call(lambda c: c.files.delete(name, list(paths), recursive=recursive))
    console.print(f"Deleted {', '.join(paths)}.")


@vfolder.command("mv")
@click.argument("name")
@click.argument("src")
@click.argument("dst")
@command
async def mv(name: str, src: str, dst: str) -> None:
    """Move a file or directory inside a folder (into DST if it is a directory)."""

    async def run(c: BaiClient) -> None:
        res = await c.files.move(name, src, dst)
        if res.task_id is not None:  # a directory on a bucket, still being copied
            await follow_task(c, res.task_id, f"moving {src} → {dst}")

    await call(run)
    console.print(f"Moved {src} to {dst}.")


@vfolder.command("rename-file")
@click.argument("name")
@click.argument("target")
@click.argument("new_name")
@command
async def rename_file(name: str, target: str, new_name: str) -> None:
    """Rename a file or directory in place."""
    await call(lambda c: c.files.rename(name, target, new_name))
    console.print(f"Renamed {target} to {new_name}.")


@vfolder.command("request-download")
@click.argument("name")
@click.argument("path")
@click.option("--archive", is_flag=True, help="Zip a directory.")
@output_option
@command
async def request_download(name: str, path: str, archive: bool, fmt: str) -> None:
    """Print a short-lived URL that downloads PATH without credentials."""

    async def run(c: BaiClient) -> tuple[dict[str, object], str]:
        ticket = await c.files.request_download(name, path, archive=archive)
        return plain(ticket), c.files.ticket_url(ticket)

    ticket, url = await call(run)
    if fmt == "json":
        click.echo(json.dumps({**ticket, "download_url": url}))
    else:
        click.echo(url)

"""Provides `bai dotfile create|list|get|update|delete`: files written into every session's
/home/work at start (Backend.AI's dotfiles)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bai.cli.context import call, command
from bai.cli.output import Col, console, emit, emit_one, output_option
from bai.client import BaiClient, LocalFileError
from bai.client.compute import DotfilesApi

F = TypeVar("F", bound=Callable[..., Any])
COLUMNS = [
    Col("path", "Path", keep=True),
    Col("permission", "Permission", keep=True),
    Col("data", "Data", drop=1),
]
perm_option = click.option(
    "--perm", "permission", default="755", show_default=True, help="Octal file mode."
)
file_option = click.option(
    "-f",
    "--file",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read the content from FILE [default: standard input].",
)
owner_options = [
    click.option("-g", "--group", default=None, help="Administrators: a project's dotfiles."),
    click.option("-d", "--domain", default=None, help="Administrators: a domain's dotfiles."),
]


def _owner_options(fn: F) -> F:
    for opt in reversed(owner_options):
        fn = opt(fn)
    return fn


def _api(c: BaiClient, group: str | None, domain: str | None) -> DotfilesApi:
    return DotfilesApi(c, "group" if group else "domain" if domain else "user")


def _owner(group: str | None, domain: str | None) -> dict[str, str | None]:
    return {"group": group, "domain": domain}


def _read(source: Path | None) -> str:
    try:
        data = source.read_bytes() if source is not None else sys.stdin.buffer.read()
    except OSError as e:
        raise LocalFileError(f"{source}: {e.strerror}") from None
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise LocalFileError("a dotfile must be UTF-8 text") from None


@click.group("dotfile")
def dotfile() -> None:
    """Dotfiles: files every new session gets in /home/work."""


@dotfile.command("create")
@click.argument("path")
@perm_option
@file_option
@_owner_options
@command
async def create(
    path: str, permission: str, source: Path | None, group: str | None, domain: str | None
) -> None:
    """Add dotfile PATH (relative to /home/work), from FILE or standard input."""
    data = _read(source)
    await call(
        lambda c: _api(c, group, domain).create(path, data, permission, **_owner(group, domain))
    )
    console.print(f"dotfile {path} created", highlight=False)


@dotfile.command("update")
@click.argument("path")
@perm_option
@file_option
@_owner_options
@command
async def update(
    path: str, permission: str, source: Path | None, group: str | None, domain: str | None
) -> None:
    """Replace dotfile PATH's content and permission."""
    data = _read(source)
    await call(
        lambda c: _api(c, group, domain).update(path, data, permission, **_owner(group, domain))
    )
    console.print(f"dotfile {path} updated", highlight=False)


@dotfile.command("list")
@_owner_options
@output_option
@command
async def list_dotfiles(group: str | None, domain: str | None, fmt: str) -> None:
    """Your dotfiles."""
    items = await call(lambda c: _api(c, group, domain).list(**_owner(group, domain)))
    emit(items, COLUMNS, fmt, key="dotfiles")


@dotfile.command("get")
@click.argument("path")
@_owner_options
@output_option
@command
async def get(path: str, group: str | None, domain: str | None, fmt: str) -> None:
    """Print dotfile PATH's content (with --output json, its permission too)."""
    item = await call(lambda c: _api(c, group, domain).get(path, **_owner(group, domain)))
    if fmt == "json":
        emit_one(item, fmt)
    else:
        sys.stdout.write(item.data)


@dotfile.command("delete")
@click.argument("path")
@_owner_options
@command
async def delete(path: str, group: str | None, domain: str | None) -> None:
    """Remove dotfile PATH."""
    await call(lambda c: _api(c, group, domain).delete(path, **_owner(group, domain)))
    console.print(f"dotfile {path} deleted", highlight=False)
